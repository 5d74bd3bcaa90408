"""Settings an admin changes while textcast runs: `PATCH` and `DELETE /api/v1/settings`.

Two apps on one database stand for two nodes: a change made on one is in effect on the other
without a restart (within `SETTINGS_CHECK_SECONDS`), for new campaigns' sender, the prices and
the keyword replies alike. A refused change changes nothing, and every change is audited.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import authorize, bearer, make_api_key
from tests.web.apps import inbound_callback, signed_by_sinch

from textcast import editable_settings
from textcast.config import Settings, load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.models import Campaign, CampaignKind, Role
from textcast.runtime import SETTINGS_CHECK_SECONDS
from textcast.web.app import create_app

SETTINGS = "/api/v1/settings"


@contextmanager
def _nodes(database_url: str, count: int, **settings: Any) -> Iterator[list[TestClient]]:
    """`count` apps on one database, as `serve` on several nodes; the first has an admin's key,
    which the others share."""
    config = _config(database_url, **settings)
    with ExitStack() as stack:
        clients = [
            stack.enter_context(TestClient(create_app(config, dispatch=False, simulator=False)))
            for _ in range(count)
        ]
        key = authorize(clients[0], database_url, Role.ADMIN)
        for client in clients[1:]:
            client.headers.update(bearer(key))
        yield clients


def _config(database_url: str, **settings: Any) -> Settings:
    return load_settings(database_url=database_url, secret_key="tests", **settings)


def _editable(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {setting["name"]: setting for setting in answer["editable"]}


def _setting(client: TestClient, name: str) -> dict[str, Any]:
    answer = client.get(SETTINGS)
    assert answer.status_code == 200, answer.text
    return _editable(answer.json())[name]


def _audit(database_url: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    database = Database(database_url)
    try:
        with database.read() as session:
            entries = audit.entries(session, action="settings.update")
            return [(e.actor, e.target, e.detail) for e in reversed(entries)]
    finally:
        database.dispose()


def test_a_change_on_one_node_is_in_effect_on_the_other_without_a_restart(
    database_url: str,
) -> None:
    with _nodes(database_url, 2, sinch_number="+12025550100", brand_name="Oldco") as (a, b):
        before = _setting(b, "SINCH_NUMBER")
        assert before["value"] == "+12025550100"
        assert before["source"] == "environment"
        assert _setting(b, "FREQUENCY_CAP")["source"] == "default"

        changed = a.patch(
            SETTINGS,
            json={
                "SINCH_NUMBER": "+12025550199",
                "BRAND_NAME": "Newco",
                "PRICE_DEFAULT": "0.07",
                "FREQUENCY_CAP": 3,
            },
        )
        assert changed.status_code == 200, changed.text
        # In effect on the node that made it at once, and said where it comes from.
        sender = _editable(changed.json())["SINCH_NUMBER"]
        assert sender["value"] == "+12025550199"
        assert sender["source"] == "dashboard"
        assert sender["changed_by"].startswith("admin")
        assert sender["changed_at"]
        assert sender["environment_value"] == "+12025550100"
        assert changed.json()["sinch"]["sender"] == "+12025550199"
        assert changed.json()["prices"]["default"] == "0.07"
        assert changed.json()["sending"]["frequency_cap"] == 3

        # The other node follows within the check interval, with no restart.
        deadline = time.monotonic() + SETTINGS_CHECK_SECONDS + 3
        while _setting(b, "SINCH_NUMBER")["value"] != "+12025550199":
            assert time.monotonic() < deadline, "the second node never saw the change"
            time.sleep(0.1)
        answer = b.get(SETTINGS).json()
        assert answer["prices"]["default"] == "0.07"
        assert _editable(answer)["BRAND_NAME"]["value"] == "Newco"

        # A campaign created on the other node without a sender gets the new one...
        created = b.post(
            "/api/v1/campaigns", json={"name": "Sale", "body": "Hi", "recipients": ["+12015550141"]}
        )
        assert created.status_code == 201, created.text
        assert created.json()["sender"] == "+12025550199"
        # ... and a HELP it receives is answered with the new brand, from the new sender.
        body = inbound_callback(1, "+12015550142", "HELP")
        stored = b.post(
            "/api/webhooks/inbound",
            content=body,
            headers=signed_by_sinch(_config(database_url), body),
        )
        assert stored.status_code == 200, stored.text
    database = Database(database_url)
    try:
        with database.read() as session:
            reply = session.scalars(
                select(Campaign).where(Campaign.kind == CampaignKind.REPLY)
            ).one()
        assert reply.body.startswith("Newco: help at")
        assert reply.sender == "+12025550199"
    finally:
        database.dispose()
    [(actor, target, detail)] = _audit(database_url)
    assert actor.startswith("admin")
    assert target == "settings"
    assert detail["changes"]["SINCH_NUMBER"] == {
        "old": "+12025550100",
        "new": "+12025550199",
        "source": "dashboard",
    }
    assert detail["changes"]["FREQUENCY_CAP"]["old"] == 0
    assert detail["changes"]["PRICE_DEFAULT"]["new"] == 0.07


def test_a_refused_change_names_each_setting_in_words_and_changes_nothing(
    database_url: str,
) -> None:
    with _nodes(database_url, 1) as (client,):
        refused = client.patch(
            SETTINGS,
            json={
                "BRAND_NAME": "Fine",
                "SEND_RATE": "fast",
                "QUIET_HOURS": "25:00-26:00",
                "QUIET_HOURS_RULES": "{not json",
                "PRICE_DEFAULT": -1,
                "BATCH_SIZE": 10,
                "SINCH_NUMBER": "+1202555012345678901",
            },
        )
        assert refused.status_code == 400, refused.text
        problems = {p["field"]: p["message"] for p in refused.json()["problems"]}
        assert set(problems) == {
            "SEND_RATE",
            "QUIET_HOURS",
            "QUIET_HOURS_RULES",
            "PRICE_DEFAULT",
            "BATCH_SIZE",
            "SINCH_NUMBER",
        }
        assert "changed while textcast runs" in problems["BATCH_SIZE"]
        assert "JSON object" in problems["QUIET_HOURS_RULES"]
        assert "1 to 16 characters" in problems["SINCH_NUMBER"]
        # Once the names and shapes are right, the values are checked by the environment's
        # own rules, in words too.
        refused = client.patch(
            SETTINGS, json={"BRAND_NAME": "Fine", "SEND_RATE": "fast", "PRICE_DEFAULT": -1}
        )
        assert refused.status_code == 400, refused.text
        problems = {p["field"]: p["message"] for p in refused.json()["problems"]}
        assert problems == {
            "SEND_RATE": "must be a number, such as 30 or 0.5",
            "PRICE_DEFAULT": "must be 0 or more",
        }
        refused = client.patch(SETTINGS, json={"QUIET_HOURS": "25:00-26:00"})
        assert refused.status_code == 400
        assert refused.json()["problems"][0]["field"] == "QUIET_HOURS"
        assert "Input should" not in refused.text
        assert client.patch(SETTINGS, json={}).status_code == 400

        # Nothing was written: not the good value, not an audit entry.
        brand = _setting(client, "BRAND_NAME")
        assert (brand["value"], brand["source"]) == ("textcast", "default")
        assert client.get(SETTINGS).json()["revision"] == 0
    assert _audit(database_url) == []


def test_json_settings_take_an_object_or_its_text(database_url: str) -> None:
    with _nodes(database_url, 1) as (client,):
        changed = client.patch(SETTINGS, json={"QUIET_HOURS_RULES": {"FR": "09:00-19:00"}})
        assert changed.status_code == 200, changed.text
        rules = {r["key"]: r for r in changed.json()["quiet_hours"]["rules"]}
        assert rules["FR"]["window"] == "09:00-19:00"
        changed = client.patch(SETTINGS, json={"PRICES": '{"fr": 0.065}'})
        assert changed.status_code == 200, changed.text
        prices = {p["country"]: p for p in changed.json()["prices"]["prices"]}
        assert prices["FR"] == {"country": "FR", "price": "0.065", "source": "PRICES"}
        assert _setting(client, "PRICES")["value"] == {"FR": 0.065}


def test_a_reset_gives_the_environment_value_back(database_url: str) -> None:
    with _nodes(database_url, 1, send_rate=12) as (client,):
        assert client.patch(SETTINGS, json={"SEND_RATE": 5, "BRAND_NAME": "B"}).status_code == 200
        assert _setting(client, "SEND_RATE")["value"] == 5

        reset = client.delete(f"{SETTINGS}/SEND_RATE")
        assert reset.status_code == 200, reset.text
        rate = _editable(reset.json())["SEND_RATE"]
        assert (rate["value"], rate["source"], rate["changed_by"]) == (12, "environment", None)
        assert reset.json()["sending"]["send_rate"] == 12

        # `null` in a PATCH does the same; a setting already the environment's stays as it is.
        assert client.patch(SETTINGS, json={"BRAND_NAME": None}).status_code == 200
        assert _setting(client, "BRAND_NAME")["source"] == "default"
        assert client.delete(f"{SETTINGS}/brand_name").status_code == 200
        unknown = client.delete(f"{SETTINGS}/DATABASE_URL")
        assert unknown.status_code == 400
        assert unknown.json()["problems"][0]["field"] == "DATABASE_URL"
    changes = [detail["changes"] for _, _, detail in _audit(database_url)]
    assert changes == [
        {
            "BRAND_NAME": {"old": "textcast", "new": "B", "source": "dashboard"},
            "SEND_RATE": {"old": 12.0, "new": 5.0, "source": "dashboard"},
        },
        {"SEND_RATE": {"old": 5.0, "new": 12.0, "source": "environment"}},
        {"BRAND_NAME": {"old": "B", "new": "textcast", "source": "default"}},
    ]


def test_only_admins_change_settings_and_everyone_reads_them(database_url: str) -> None:
    with _nodes(database_url, 1) as (client,):
        database = Database(database_url)
        try:
            editor = make_api_key(database, Role.EDITOR)
            viewer = make_api_key(database, Role.VIEWER)
        finally:
            database.dispose()
        for key in (editor, viewer):
            refused = client.patch(SETTINGS, json={"BRAND_NAME": "X"}, headers=bearer(key))
            assert refused.status_code == 403
            assert client.delete(f"{SETTINGS}/BRAND_NAME", headers=bearer(key)).status_code == 403
            read = client.get(SETTINGS, headers=bearer(key))
            assert read.status_code == 200
            assert len(read.json()["editable"]) == len(editable_settings.EDITABLE)
        assert _setting(client, "BRAND_NAME")["value"] == "textcast"
