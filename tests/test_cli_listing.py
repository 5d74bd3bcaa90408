"""`textcast … list --json`, `textcast lists`, `textcast campaigns list`, `textcast --version`:
every object a user creates is listable, and the JSON reads as the API's."""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from tests.factories import make_api_key, numbers
from tests.web.apps import app_client
from typer.testing import CliRunner

from textcast import __version__
from textcast.cli import app
from textcast.db import Database
from textcast.models import Role

runner = CliRunner()


def _json(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """The command's stdout, which must be one JSON array and nothing else."""
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def _env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": "tests", "NO_COLOR": "1"}


def test_version_is_the_package_s() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    try:
        expected = metadata.version("textcast")
    except metadata.PackageNotFoundError:
        expected = __version__
    assert result.stdout == f"textcast {expected}\n"


def test_lists_are_created_listed_and_read_as_the_api_reads_them(database_url: str) -> None:
    env = _env(database_url)
    assert _json(["lists", "list", "--json"], env) == []
    made = runner.invoke(app, ["lists", "create", "VIP customers"], env=env)
    assert made.exit_code == 0, made.output
    assert "VIP customers" in made.output
    again = runner.invoke(app, ["lists", "create", "VIP customers"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    blank = runner.invoke(app, ["lists", "create", "  "], env=env)
    assert blank.exit_code == 1 and "name" in blank.output
    table = runner.invoke(app, ["lists", "list"], env=env)
    assert "VIP customers" in table.stdout
    listed = _json(["lists", "list", "--json"], env)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = _key(database_url)
        assert listed == client.get("/api/v1/lists").json()
    assert listed[0]["name"] == "VIP customers" and listed[0]["members"] == 0


def test_campaigns_are_listed_filtered_and_read_as_the_api_reads_them(
    database_url: str,
) -> None:
    env = _env(database_url)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = _key(database_url)
        for name in ("Spring sale", "Summer 50% off", "Autumn news"):
            made = client.post(
                "/api/v1/campaigns", json={"name": name, "body": "Hi", "recipients": numbers(1)}
            )
            assert made.status_code == 201, made.text
        sent = client.post(f"/api/v1/campaigns/{made.json()['id']}/send")
        assert sent.status_code == 202, sent.text
        api = client.get("/api/v1/campaigns").json()["items"]
    everything = _json(["campaigns", "list", "--json"], env)
    assert everything == api
    assert [c["name"] for c in everything] == ["Autumn news", "Summer 50% off", "Spring sale"]
    drafts = _json(["campaigns", "list", "--status", "draft", "--json"], env)
    assert [c["name"] for c in drafts] == ["Summer 50% off", "Spring sale"]
    found = _json(["campaigns", "list", "--search", "SUMMER", "--json"], env)
    assert [c["name"] for c in found] == ["Summer 50% off"]
    percent = _json(["campaigns", "list", "--search", "%", "--json"], env)
    assert [c["name"] for c in percent] == ["Summer 50% off"]  # `%` is itself, no wildcard
    assert _json(["campaigns", "list", "--limit", "1", "--json"], env) == everything[:1]
    table = runner.invoke(app, ["campaigns", "list", "--status", "draft"], env=env)
    assert "Spring sale" in table.stdout and "Autumn news" not in table.stdout
    bad = runner.invoke(app, ["campaigns", "list", "--status", "nope"], env=env)
    assert bad.exit_code == 2


def test_contacts_users_and_keys_read_as_the_api_reads_them(database_url: str) -> None:
    env = _env(database_url)
    key = _key(database_url)
    with app_client(database_url) as client:
        client.headers["X-API-Key"] = key
        for phone in numbers(2):
            made = client.post(
                "/api/v1/contacts",
                json={"phone": phone, "first_name": "Ana", "attributes": {"tier": "gold"}},
            )
            assert made.status_code == 201, made.text
        contacts = client.get("/api/v1/contacts").json()["items"]
        users = client.get("/api/v1/users").json()
        keys = client.get("/api/v1/apikeys").json()
    assert _json(["contacts", "list", "--json"], env) == contacts
    assert _json(["users", "list", "--json"], env) == users
    listed_keys = _json(["apikeys", "list", "--json"], env)
    assert listed_keys == keys and key not in json.dumps(listed_keys)
    assert set(listed_keys[0]) == {
        "id", "user_id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked"
    }  # fmt: skip


def _key(database_url: str) -> str:
    database = Database(database_url)
    try:
        return make_api_key(database, Role.ADMIN, email=f"cli-{id(database)}@example.com")
    finally:
        database.dispose()
