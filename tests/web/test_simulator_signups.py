"""The simulator plays a person: it signs up on a form by posting to this server's own public
`/join/{slug}` over HTTP, form-encoded, as a browser on the hosted page does; then replies Y.

The public form is another slice's (`POST /join/{slug}`: 303, 422 or 429): a stand-in on a real
port answers here, and says what it received."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.factories import bearer, make_api_key, make_form
from tests.servers import serving
from tests.web.test_simulator_api import page_client

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import Role, utcnow
from textcast.web.app import create_app

API = "/api/v1/simulator/signups"
ANSWERS = {
    "spring": Response(status_code=303, headers={"location": "/join/spring/thanks"}),
    "picky": Response("<p role=alert>Store: required</p>", status_code=422),
    "busy": Response("try later", status_code=429, headers={"retry-after": "60"}),
}


@dataclass
class StandIn:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    found = StandIn("")

    async def join(request: Request) -> Response:
        slug = request.path_params["slug"]
        found.received.append(
            {
                "slug": slug,
                "content_type": request.headers.get("content-type"),
                "user_agent": request.headers.get("user-agent"),
                "origin": request.headers.get("origin"),
                "referer": request.headers.get("referer"),
                "cookie": request.headers.get("cookie"),
                "body": (await request.body()).decode(),
            }
        )
        return ANSWERS[slug]

    app = Starlette(routes=[Route("/join/{slug}", join, methods=["POST"])])
    with serving(app) as url:
        found.url = url
        yield found


@pytest.fixture
def client(database_url: str, database: Database, stand_in: StandIn) -> Iterator[TestClient]:
    """BASE_URL is the stand-in's: the public address the form is posted to."""
    settings = load_settings(
        database_url=database_url, secret_key="simulated-person", base_url=stand_in.url
    )
    with TestClient(create_app(settings, dispatch=False, simulator=True)) as client:
        client.headers.update(bearer(make_api_key(database, Role.ADMIN)))
        yield client


def _forms(database: Database) -> None:
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    for slug in ("spring", "picky", "busy"):
        make_form(database, list_id, slug=slug)
    make_form(database, list_id, slug="gone", archived_at=utcnow())


def test_signing_up_posts_to_the_public_form_as_a_browser_does(
    client: TestClient, database: Database, stand_in: StandIn
) -> None:
    _forms(database)
    answer = client.post(
        API, json={"form": "spring", "phone": "(201) 555-0123", "fields": {"first_name": "Zoë"}}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "form": "spring",
        "phone": "(201) 555-0123",
        "url": f"{stand_in.url}/join/spring",
        "status_code": 303,
        "outcome": "submitted",
        "location": "/join/spring/thanks",
        "retry_after": None,
    }
    [received] = stand_in.received
    assert received == {
        "slug": "spring",
        "content_type": "application/x-www-form-urlencoded",
        "user_agent": "textcast-simulator (a simulated person)",
        "origin": stand_in.url,
        "referer": f"{stand_in.url}/join/spring",
        "cookie": None,  # the public form needs no session
        "body": "phone=%28201%29+555-0123&first_name=Zo%C3%AB",
    }

    refused = client.post(API, json={"form": "picky", "phone": "+12015550123"}).json()
    assert (refused["status_code"], refused["outcome"]) == (422, "refused")
    limited = client.post(API, json={"form": "busy", "phone": "+12015550123"}).json()
    assert (limited["outcome"], limited["retry_after"]) == ("limited", "60")


def test_only_an_active_form_and_a_number_are_accepted(
    client: TestClient, database: Database, stand_in: StandIn
) -> None:
    _forms(database)
    for body, fields in (
        ({"form": "nope", "phone": "+12015550123"}, ["form"]),
        ({"form": "gone", "phone": "+12015550123"}, ["form"]),  # archived
        ({"form": "spring", "phone": "  "}, ["phone"]),
        ({"form": "spring", "phone": "1", "fields": {"phone": "2"}}, ["fields.phone"]),
    ):
        answer = client.post(API, json=body)
        assert answer.status_code == 400, body
        assert [p["field"] for p in answer.json()["problems"]] == fields
    unknown = client.post(API, json={"form": "nope", "phone": "+12015550123"})
    assert unknown.json()["problems"][0]["message"] == "no active sign-up form has this slug"
    assert stand_in.received == []


def test_an_unreachable_public_url_is_a_409_that_says_so(
    database_url: str, database: Database
) -> None:
    settings = load_settings(
        database_url=database_url, secret_key="simulated-person", base_url="http://127.0.0.1:9"
    )
    _forms(database)
    with TestClient(create_app(settings, dispatch=False, simulator=True)) as client:
        admin = bearer(make_api_key(database, Role.ADMIN))
        answer = client.post(API, json={"form": "spring", "phone": "+1201"}, headers=admin)
    assert answer.status_code == 409
    assert "the sign-up form did not answer" in answer.json()["message"]


def test_the_simulator_page_offers_the_active_forms_and_a_y(
    database_url: str, database: Database
) -> None:
    with page_client(database_url, Role.ADMIN, simulator=True) as admin:
        empty = admin.get("/simulator").text
        assert "No active sign-up form yet" in empty
        _forms(database)
        page = admin.get("/simulator").text
    assert 'id="simulator-signup-form"' in page and 'data-quick-text="Y"' in page
    slugs = [slug for slug in ("busy", "gone", "picky", "spring") if f'value="{slug}"' in page]
    assert slugs == ["busy", "picky", "spring"]
