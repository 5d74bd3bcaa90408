"""A canary number goes through import, campaign, delivery reports and a reply; erasure then
leaves no trace of it in clear text in any table, nor in the logs."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select
from tests.sending.stack import sending_stack

from textcast.db import Database
from textcast.models import Base
from textcast.simulator import ALL_DELIVERED, SimulatorConfig

CANARY = "+33612345678"
SPELLINGS = ("33612345678", "0612345678", "06 12 34 56 78", "612345678")
CSV = "phone;first_name;city\n06 12 34 56 78;Canary;Lyon\n+33 6 98 76 54 32;Other;Paris\n"


def _wait(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _traces(database_url: str) -> list[str]:
    database = Database(database_url)
    found = []
    with database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                text = " ".join(str(value) for value in row)
                found += [f"{table.name}: {s}" for s in SPELLINGS if s in text]
    database.dispose()
    return found


def test_erasure_leaves_no_trace_of_the_number(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator = SimulatorConfig(outcomes=ALL_DELIVERED, final_delay=0.05, seed=1)
    with sending_stack(database_url, simulator, inbound=True, default_region="FR") as stack:
        job = stack.api.post(
            "/api/v1/imports",
            files={"file": ("canary.csv", CSV.encode(), "text/csv")},
            data={"list": "canaries", "default_region": "FR", "consent_confirmed": "true"},
        ).json()
        _wait(
            lambda: stack.api.get(f"/api/v1/imports/{job['id']}").json()["status"] == "completed",
            "import",
        )
        lists = stack.api.get("/api/v1/lists").json()
        created = stack.api.post(
            "/api/v1/campaigns", json={"name": "c", "body": "Hello", "lists": [lists[0]["id"]]}
        ).json()
        stack.api.post(f"/api/v1/campaigns/{created['id']}/send")
        stack.wait_until_final(created["id"])
        stack.simulator.inject_inbound(CANARY, "+12017777777", "Is Lyon open on Sunday?")
        _wait(lambda: len(stack.simulator.inbound_acks()) == 1, "reply")
        contact = stack.api.get("/api/v1/contacts", params={"search": "Canary"}).json()["items"][0]
        assert _traces(database_url), "the canary should be stored before erasure"
        erased = stack.api.delete(f"/api/v1/contacts/{contact['id']}", params={"erase": "true"})
        assert erased.status_code == 200, erased.text
        assert erased.json()["messages"] == 1 and erased.json()["inbound"] == 1

    assert _traces(database_url) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [s for s in SPELLINGS if s in logged]
