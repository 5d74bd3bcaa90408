"""`POST /api/v1/previews`: the text a contact would receive, before the campaign is saved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize
from tests.web.apps import app_client

from textcast.db import Database
from textcast.domain.audience import contacts
from textcast.models import Role


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with app_client(database_url, default_region="US") as client:
        authorize(client, database_url, Role.VIEWER)  # previews only read
        yield client


def _contact(database_url: str, phone: str, **fields: Any) -> int:
    database = Database(database_url)
    with database.write() as session:
        draft = contacts.ContactDraft(phone=phone, **fields)
        contact = contacts.create_contact(session, draft, "US", "test", b"k" * 32)
    database.dispose()
    return contact.id


def test_renders_for_a_contact_with_its_attributes(client: TestClient, database_url: str) -> None:
    ada = _contact(
        database_url, phone="+12015550100", first_name="Ada", attributes={"tier": "gold"}
    )
    answer = client.post(
        "/api/v1/previews",
        json={"body": "Hi {{ first_name }}, {{ tier }} members save 20%", "contact_id": ada},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "text": "Hi Ada, gold members save 20%",
        "encoding": "GSM-7",
        "length": 29,
        "parts": 1,
        "fields": ["first_name", "tier"],
        "missing": [],
        "contact": {
            "id": ada,
            "phone": "+12015550100",
            "first_name": "Ada",
            "last_name": None,
            "status": "subscribed",
        },
        "sample": None,
    }


def test_names_the_fields_a_contact_lacks(client: TestClient, database_url: str) -> None:
    _contact(database_url, phone="+12015550100", attributes={"tier": "gold"})
    nameless = _contact(database_url, phone="+12015550101")
    answer = client.post(
        "/api/v1/previews",
        json={"body": "Hi {{ first_name }}, {{ tier }}!", "contact_id": nameless},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["missing"] == ["first_name", "tier"]
    assert answer.json()["text"] == "Hi , !"


def test_without_a_contact_renders_the_defaults_with_smart_encoding(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/previews",
        json={
            "body": "\u201cHi\u201d {{ first_name | default('there') }} \U0001f600",
            "smart_encoding": True,
        },
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    # The quotes are replaced; the emoji has no GSM-7 form and takes two UTF-16 units. The
    # sample contact, Alex, has a value for every field.
    assert preview["text"] == '"Hi" Alex \U0001f600'
    assert (preview["encoding"], preview["length"], preview["parts"]) == ("UCS-2", 12, 1)
    assert preview["missing"] == [] and preview["contact"] is None
    assert preview["sample"] == {"first_name": "Alex"}


def test_an_unknown_field_is_a_400_naming_it_and_where(client: TestClient) -> None:
    answer = client.post("/api/v1/previews", json={"body": "Hi {{ nickname }}"})
    assert answer.status_code == 400
    [problem] = answer.json()["problems"]
    assert problem["field"] == "body" and problem["value"] == "nickname"
    assert problem["message"].startswith("at character 4: unknown merge field 'nickname'")


def test_an_unknown_contact_is_a_404(client: TestClient) -> None:
    answer = client.post("/api/v1/previews", json={"body": "Hi", "contact_id": 999})
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"body": "a" * 2001}, "body"),
        ({"body": "hi", "contact_id": "3"}, "contact_id"),
        ({"body": "hi", "contact_id": 0}, "contact_id"),
        ({"body": "hi", "smart_encoding": 0}, "smart_encoding"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    answer = client.post("/api/v1/previews", json=payload)
    assert answer.status_code == 400
    assert [p["field"] for p in answer.json()["problems"]] == [field]
