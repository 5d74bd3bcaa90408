"""A canary number goes through import, campaign, delivery reports, a reply (a conversation)
and two form sign-ups (one confirmed by its "Y", one waiting), all told to a webhook
subscription; erasure then leaves no trace of it in clear text in any table (the event
stream's included), nor in the logs."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.factories import make_form
from tests.sending.stack import Stack, sending_stack

from textcast.db import Database
from textcast.domain import signups
from textcast.domain.audience import lists
from textcast.models import Base, InboundMessage, SignupChannel, utcnow
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


def _sign_up_twice(stack: Stack, database_url: str) -> None:
    """A sign-up confirmed by the canary's "Y" (its confirmation and welcome texts delivered),
    then another one waiting: both hold the number, the second as typed."""
    policy = signups.SignupPolicy(
        secret=b"canary", sender=None, confirmation_window=timedelta(hours=72), daily_quota=0
    )
    database = Database(database_url)
    with database.write() as session:
        list_id = lists.create_list(session, "spring").id
    form = make_form(database, list_id, allowed_countries=["FR"])
    request = signups.SignupRequest(
        channel=SignupChannel.FORM,
        phone=CANARY,
        list_id=list_id,
        double_opt_in=True,
        confirmation_text=form.confirmation_text,
        welcome_text=form.welcome_text,
        form_id=form.id,
        fields={"phone": "06 12 34 56 78", "first_name": "Canary"},
        disclosure=form.disclosure,
        ip="203.0.113.9",
    )
    with database.write() as session:
        first = signups.start_signup(session, policy, request)
        reply = InboundMessage(
            provider_id="canary-y", from_phone=CANARY, to="+1555", body="Y", received_at=utcnow()
        )
        session.add(reply)
        session.flush()
        assert signups.confirm_latest(session, policy, reply) is first
        texts = [first.confirmation_campaign_id, first.welcome_campaign_id]
    with database.write() as session:
        autumn = lists.create_list(session, "autumn").id
        # Another list's: it waits (one confirmation text a day), with the number as typed.
        signups.start_signup(session, policy, dataclasses.replace(request, list_id=autumn))
    database.dispose()
    for campaign_id in texts:
        assert campaign_id is not None
        stack.wait_until_final(campaign_id)


def test_erasure_leaves_no_trace_of_the_number(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator = SimulatorConfig(outcomes=ALL_DELIVERED, final_delay=0.05, seed=1)
    with sending_stack(
        database_url, simulator, inbound=True, default_region="FR", webhook_allow_private=True
    ) as stack:
        # The event stream writes the number (and the reply's words) into events to post.
        hook = stack.api.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
        )
        assert hook.status_code == 201, hook.text
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
        _sign_up_twice(stack, database_url)
        contact = stack.api.get("/api/v1/contacts", params={"search": "Canary"}).json()["items"][0]
        record = stack.api.get(f"/api/v1/contacts/{contact['id']}/consent").json()
        assert record["ledger"][-1]["signup"]["fields"]["phone"] == "06 12 34 56 78"
        assert record["pending_signups"] == 1
        assert [t for t in _traces(database_url) if t.startswith("signups: ")]
        assert [t for t in _traces(database_url) if t.startswith("outbound_events: ")]
        assert [t for t in _traces(database_url) if t.startswith("conversations: ")]
        erased = stack.api.delete(f"/api/v1/contacts/{contact['id']}", params={"erase": "true"})
        assert erased.status_code == 200, erased.text
        assert erased.json()["messages"] == 3 and erased.json()["inbound"] == 2
        assert erased.json()["signups"] == 2

    assert _traces(database_url) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [s for s in SPELLINGS if s in logged]
