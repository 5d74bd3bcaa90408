"""`/api/v1/simulator` and the /simulator page (issue 14, item 17): an admin texts the server as
a phone through the built-in simulator, which posts the text to our own webhook, signed, as
Sinch would. The app runs on a real port so that the simulator's callbacks reach it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.factories import bearer, make_api_key, make_user, numbers
from tests.servers import free_port, serving
from tests.web.dashboard.conftest import sign_in

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import Role
from textcast.simulator import SimulatorConfig
from textcast.web.app import create_app

API = "/api/v1/simulator"


@dataclass
class Served:
    url: str
    admin: dict[str, str]
    editor: dict[str, str]


@pytest.fixture
def served(database_url: str, database: Database) -> Iterator[Served]:
    """The app as `make run` serves it without Sinch credentials, on a port of its own."""
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        secret_key="simulator-page",
        sinch_service_plan_id=None,
        sinch_base_url=None,
        send_rate=0,
        dispatcher_poll_seconds=0.05,
    )
    tuning = SimulatorConfig(dispatch_delay=0.01, final_delay=0.02, seed=7)
    app = create_app(settings, simulator=True, simulator_config=tuning)
    with serving(app, port) as url:
        yield Served(
            url,
            bearer(make_api_key(database, Role.ADMIN)),
            bearer(make_api_key(database, Role.EDITOR)),
        )


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def test_a_stop_sent_as_a_phone_opts_the_contact_out_and_its_answer_shows_in_the_ledger(
    served: Served,
) -> None:
    with httpx.Client(base_url=served.url, headers=served.admin, timeout=30) as client:
        phone = numbers(1)[0]
        contact = client.post("/api/v1/contacts", json={"phone": phone}).json()
        empty = client.get(API).json()
        assert empty["enabled"] is True
        assert (empty["ledger"]["batches"], empty["texts"], empty["batches"]) == (0, [], [])

        sent = client.post(f"{API}/texts", json={"sender": phone, "body": "STOP"})
        assert sent.status_code == 201, sent.text
        assert sent.json() | {"id": "", "received_at": ""} == {
            "id": "",
            "received_at": "",
            "sender": phone,
            "to": "textcast",
            "body": "STOP",
            "contact_id": contact["id"],
        }

        def unsubscribed() -> bool:
            found = client.get(f"/api/v1/contacts/{contact['id']}").json()
            return bool(found["status"] == "unsubscribed")

        _until(unsubscribed)
        stored = client.get("/api/v1/inbox").json()["items"]
        assert [(m["from_phone"], m["body"], m["keyword"]) for m in stored] == [
            (phone, "STOP", "opt_out")
        ]
        # The STOP's confirmation goes out through the simulator: the page's ledger shows it.
        view = _until(lambda: (v := client.get(API).json())["batches"] and v)
        assert [(t["sender"], t["body"]) for t in view["texts"]] == [(phone, "STOP")]
        (answer,) = view["batches"]
        assert (answer["recipients"], answer["recipient_count"]) == ([phone], 1)
        assert view["recent_recipients"] == [phone]
        assert view["ledger"]["accepted_recipients"] == 1


def test_bad_input_is_named_field_by_field_and_sends_nothing(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.admin, timeout=30) as client:
        refused = client.post(f"{API}/texts", json={"sender": "call me", "body": "   "})
        assert refused.status_code == 400
        problems = {p["field"]: p["message"] for p in refused.json()["problems"]}
        assert set(problems) == {"sender", "body"}
        assert "STOP" in problems["body"]
        too_long = client.post(f"{API}/texts", json={"sender": numbers(1)[0], "body": "x" * 1601})
        assert too_long.status_code == 400
        assert client.get(API).json()["texts"] == []


def test_only_admins_reach_the_simulator_api(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get(API).status_code == 401
        for who in (served.editor,):
            assert client.get(API, headers=who).status_code == 403
            body = {"sender": numbers(1)[0], "body": "STOP"}
            assert client.post(f"{API}/texts", json=body, headers=who).status_code == 403
        assert client.get(API, headers=served.admin).json()["texts"] == []


def test_without_the_simulator_the_api_says_it_is_off(database_url: str) -> None:
    settings = load_settings(database_url=database_url, secret_key="simulator-off")
    database = Database(database_url)
    admin = bearer(make_api_key(database, Role.ADMIN))
    database.dispose()
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        off = client.get(API, headers=admin).json()
        assert (off["enabled"], off["ledger"], off["batches"]) == (False, None, [])
        refused = client.post(
            f"{API}/texts", json={"sender": numbers(1)[0], "body": "HELP"}, headers=admin
        )
        assert refused.status_code == 409
        assert "simulator is off" in refused.json()["message"]


@contextmanager
def page_client(
    database_url: str, role: Role, *, simulator: bool, **settings: Any
) -> Iterator[TestClient]:
    """A signed-in browser-like client of the app, with or without the simulator mounted."""
    config = load_settings(database_url=database_url, secret_key="simulator-page", **settings)
    database = Database(database_url)
    email = f"{role.value}@example.com"
    make_user(database, email, role)
    database.dispose()
    with TestClient(create_app(config, dispatch=False, simulator=simulator)) as client:
        sign_in(client, email)
        yield client


def test_the_banners_link_is_a_page_for_admins(database_url: str) -> None:
    with (
        page_client(database_url, Role.ADMIN, simulator=True) as admin,
        page_client(database_url, Role.EDITOR, simulator=True) as editor,
    ):
        page = admin.get("/simulator")
        assert page.status_code == 200
        expected = (
            'id="simulator-form"',
            'data-quick-text="STOP"',
            'data-quick-text="HELP"',
            'data-quick-text="START"',
            'id="simulator-ledger"',
            "/static/simulator.js",
        )
        for part in expected:
            assert part in page.text, part
        assert 'href="/simulator"' in admin.get("/").text  # the banner links to it
        slash = admin.get("/simulator/", follow_redirects=False)
        assert slash.headers["location"] == "/simulator"
        refused = editor.get("/simulator")
        assert refused.status_code == 403
        assert "for admins" in refused.text and 'id="simulator-form"' not in refused.text
        assert 'href="/simulator"' not in editor.get("/").text
        editor.cookies.clear()
        anonymous = editor.get("/simulator", follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/login?next=/simulator"


def test_without_the_simulator_the_page_says_so(database_url: str) -> None:
    with page_client(database_url, Role.ADMIN, simulator=False) as admin:
        page = admin.get("/simulator")
        assert page.status_code == 200
        assert "The simulator is off" in page.text and "sends through Sinch" in page.text
        assert 'id="simulator-form"' not in page.text


def test_a_simulator_of_its_own_is_named_not_this_one(database_url: str) -> None:
    """With SINCH_BASE_URL, messages go to a `textcast simulator` elsewhere: the built-in one
    (still mounted) would show nothing true."""
    with page_client(
        database_url, Role.ADMIN, simulator=True, sinch_base_url="http://127.0.0.1:9"
    ) as admin:
        page = admin.get("/simulator")
        assert "The simulator is off" in page.text and "SINCH_BASE_URL" in page.text
        assert admin.get(API).json()["enabled"] is False
