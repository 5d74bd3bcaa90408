"""`textcast keywords add|list|remove`: a round trip on a real database, the JSON read as the
API reads it, and clashes refused with the API's words."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from tests.factories import authorize
from tests.web.apps import app_client
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import AuditEntry

runner = CliRunner()


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "tests",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "BRAND_NAME": "Shop",
    }


def _listed(env: dict[str, str]) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["keywords", "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_keywords_are_added_listed_as_the_api_lists_them_and_removed(
    database_url: str, database: Database
) -> None:
    with database.write() as session:
        lists.create_list(session, "Newsletter")
    env = _env(database_url)

    added = runner.invoke(
        app,
        ["keywords", "add", "vip", "--list", "Newsletter", "--already", "You are in already."],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "VIP adds people to 'Newsletter' (double opt-in)" in added.output
    single = runner.invoke(
        app,
        ["keywords", "add", "Join", "--list", "Newsletter", "--single-opt-in", "--no-welcome"],
        env=env,
    )
    assert single.exit_code == 0, single.output

    table = runner.invoke(app, ["keywords", "list"], env=env)
    assert "VIP" in table.stdout and "single opt-in" in table.stdout
    rows = _listed(env)
    assert [(r["word"], r["double_opt_in"], r["welcome_text"]) for r in rows] == [
        ("JOIN", False, None),
        ("VIP", True, rows[1]["welcome_text"]),
    ]
    assert rows[1]["already_subscribed_text"] == "You are in already."
    assert rows[1]["confirmation_text"].startswith("Shop: reply Y")
    with app_client(database_url, brand_name="Shop") as client:
        authorize(client, database_url)
        assert rows == client.get("/api/v1/keywords").json()

    removed = runner.invoke(app, ["keywords", "remove", "j.o.i.n"], env=env)
    assert removed.exit_code == 0, removed.output
    assert [r["word"] for r in _listed(env)] == ["VIP"]
    with database.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "cli").order_by(AuditEntry.id)
        ).all()
    assert actions == ["keyword.add", "keyword.add", "keyword.remove"]


def test_keywords_that_clash_or_name_nothing_end_the_command_saying_why(
    database_url: str, database: Database
) -> None:
    with database.write() as session:
        lists.create_list(session, "Newsletter")
        lists.create_list(session, "Other")
    env = _env(database_url)
    assert (
        runner.invoke(app, ["keywords", "add", "VIP", "--list", "Newsletter"], env=env).exit_code
        == 0
    )

    for args, words in [
        (["add", "vip", "--list", "Other"], "VIP already adds people to the list 'Newsletter'"),
        (["add", "Stop", "--list", "Other"], "STOP is already an opt-out keyword"),
        (["add", "GOLD", "--list", "Nowhere"], "list Nowhere not found"),
        (["add", "GOLD", "--list", "Other", "--welcome", "Hi {{ first_name }}"], "plain text"),
        (["remove", "GOLD"], "keyword GOLD not found"),
    ]:
        result = runner.invoke(app, ["keywords", *args], env=env)
        assert result.exit_code == 1, (args, result.output)
        assert words in " ".join(result.output.split()), (args, result.output)
    assert [r["word"] for r in _listed(env)] == ["VIP"]
