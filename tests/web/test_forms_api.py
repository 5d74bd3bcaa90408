"""`/api/v1/forms`: sign-up forms created, read, changed, archived and restored over HTTP, with
their figures and embed code; viewers read, editors change; a bad form is a 400 naming every
field at fault in words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize, make_form

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.models import Role
from textcast.web.app import create_app


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url,
        secret_key="forms-test-key",
        brand_name="Shop",
        help_contact="help@shop.example",
        base_url="https://sms.shop.example",
        default_region="CA",
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.EDITOR)
        yield client


def _list(client: TestClient, name: str = "VIP") -> int:
    answer = client.post("/api/v1/lists", json={"name": name})
    assert answer.status_code == 201, answer.text
    list_id: int = answer.json()["id"]
    return list_id


def _create(client: TestClient, **values: Any) -> dict[str, Any]:
    body = {"list_id": values.pop("list_id", None) or _list(client), "slug": "vip-club"}
    body.update(title="Join our VIP texts", **values)
    answer = client.post("/api/v1/forms", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_a_form_is_created_with_defaults_and_read_back(client: TestClient) -> None:
    created = _create(
        client,
        fields=[{"name": "first_name", "required": True}, {"name": "store", "label": "Store"}],
    )
    assert created["url"] == "https://sms.shop.example/join/vip-club"
    assert created["name"] == "Join our VIP texts"
    assert created["allowed_countries"] == ["CA"]
    assert created["fields"] == [
        {"name": "first_name", "label": None, "required": True},
        {"name": "store", "label": "Store", "required": False},
    ]
    assert "from Shop" in created["disclosure"] and created["disclosure_version"] == 1
    assert created["double_opt_in"] is True and created["archived"] is False
    assert created["stats"] == {
        "views": 0,
        "submissions": 0,
        "confirmed": 0,
        "pending": 0,
        "expired": 0,
        "cancelled": 0,
        "blocked": 0,
        "conversion_rate": None,
    }
    assert client.get(f"/api/v1/forms/{created['id']}").json() == created
    assert client.get("/api/v1/forms").json() == [created]


def test_a_bad_form_is_a_400_naming_each_field_in_words(client: TestClient) -> None:
    list_id = _list(client)
    answer = client.post(
        "/api/v1/forms",
        json={
            "list_id": list_id,
            "slug": "VIP Club",
            "title": "",
            "fields": [{"name": "phone"}],
            "allowed_countries": [],
            "welcome_text": "Hi {{ first_name }}",
            "redirect_url": "https://shop.example/thanks",
            "language": "de",
        },
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_input"
    assert body["message"] == "7 problems in the request"
    problems = {p["field"]: p["message"] for p in body["problems"]}
    assert set(problems) == {
        "slug",
        "title",
        "fields[0].name",
        "allowed_countries",
        "welcome_text",
        "redirect_url",
        "language",
    }
    assert "add https://shop.example to the allowed sites first" in problems["redirect_url"]
    assert "merge fields" in problems["welcome_text"]
    assert client.get("/api/v1/forms").json() == []

    unknown = client.post(
        "/api/v1/forms", json={"list_id": list_id, "slug": "abc", "title": "T", "colour": "red"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["problems"][0]["field"] == "colour"


def test_a_change_names_only_what_changes_and_bumps_the_disclosure_version(
    client: TestClient, database_url: str
) -> None:
    created = _create(client)
    path = f"/api/v1/forms/{created['id']}"
    changed = client.patch(
        path,
        json={
            "disclosure": "You agree to marketing texts from Shop. Reply STOP to cancel.",
            "allowed_origins": ["https://Shop.example/landing"],
            "redirect_url": "https://shop.example/thanks",
            "welcome_text": None,
        },
    )
    assert changed.status_code == 200, changed.text
    form = changed.json()
    assert form["disclosure_version"] == 2 and form["welcome_text"] is None
    assert form["allowed_origins"] == ["https://shop.example"]
    assert form["title"] == created["title"] and form["slug"] == "vip-club"
    same = client.patch(path, json={"disclosure": form["disclosure"], "title": "New"}).json()
    assert same["disclosure_version"] == 2 and same["title"] == "New"

    refused = client.patch(path, json={"allowed_origins": []})
    assert refused.status_code == 400
    assert refused.json()["problems"][0]["field"] == "redirect_url"

    database = Database(database_url)
    with database.read() as session:
        entries = audit.entries(session, action="form.update")
    database.dispose()
    assert [e.detail for e in reversed(entries)] == [
        {
            "changed": ["disclosure", "welcome_text", "redirect_url", "allowed_origins"],
            "disclosure_version": 2,
        },
        {"changed": ["title"]},
    ]
    assert all(e.target == f"form:{created['id']}" for e in entries)


def test_archive_and_restore(client: TestClient) -> None:
    created = _create(client)
    path = f"/api/v1/forms/{created['id']}"
    archived = client.delete(path)
    assert archived.status_code == 204
    assert client.get("/api/v1/forms").json() == []
    listed = client.get("/api/v1/forms", params={"include_archived": True}).json()
    assert [f["archived"] for f in listed] == [True]
    again = client.delete(path)
    assert again.status_code == 409 and "already archived" in again.json()["message"]
    locked = client.patch(path, json={"title": "x"})
    assert locked.status_code == 409 and "restore it" in locked.json()["message"]
    restored = client.post(f"{path}/restore")
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert client.post(f"{path}/restore").status_code == 409
    assert client.get("/api/v1/forms/999").status_code == 404


def test_the_figures_and_the_embed_code(client: TestClient, database_url: str) -> None:
    database = Database(database_url)
    form = make_form(database, _list(client), slug="spring", title='Spring "sale"', views=8)
    database.dispose()
    shown = client.get(f"/api/v1/forms/{form.id}").json()
    assert shown["stats"]["views"] == 8 and shown["stats"]["conversion_rate"] == 0.0

    embed = client.get(f"/api/v1/forms/{form.id}/embed")
    assert embed.status_code == 200
    code = embed.json()
    assert code["url"] == "https://sms.shop.example/join/spring"
    assert '<form method="post" action="https://sms.shop.example/join/spring"' in code["html"]
    assert 'name="company_website"' in code["html"]
    assert 'title="Spring &quot;sale&quot;"' in code["iframe"]


def test_viewers_read_editors_change(client: TestClient, database_url: str) -> None:
    created = _create(client)
    path = f"/api/v1/forms/{created['id']}"
    viewer = authorize(TestClient(client.app), database_url, Role.VIEWER)
    headers = {"Authorization": f"Bearer {viewer}"}
    assert client.get(path, headers=headers).status_code == 200
    assert client.get(f"{path}/embed", headers=headers).status_code == 200
    for method, url, body in (
        ("POST", "/api/v1/forms", {"list_id": created["list_id"], "slug": "x-y-z", "title": "T"}),
        ("PATCH", path, {"title": "Mine"}),
        ("DELETE", path, None),
        ("POST", f"{path}/restore", None),
    ):
        answer = client.request(method, url, json=body, headers=headers)
        assert answer.status_code == 403, (method, url)
    assert client.get(path).json()["title"] == created["title"]
    anonymous = TestClient(client.app)
    assert anonymous.get("/api/v1/forms").status_code == 401


def test_the_forms_api_is_documented(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/v1/forms"]) == {"get", "post"}
    assert set(paths["/api/v1/forms/{form_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/forms/{form_id}/restore"]
    assert "get" in paths["/api/v1/forms/{form_id}/embed"]
    created = paths["/api/v1/forms"]["post"]
    assert {"201", "400", "401", "403"} <= set(created["responses"])
    schema = document["components"]["schemas"]["FormIn"]
    assert schema["examples"][0]["slug"] == "vip-club"
    assert "honeypot" not in schema["properties"]
    assert "DEFAULT_REGION" in schema["properties"]["allowed_countries"]["description"]
    assert "409" in paths["/api/v1/forms/{form_id}"]["delete"]["responses"]
