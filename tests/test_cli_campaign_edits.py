"""`textcast campaigns edit`, `delete`, and what `plan`, `send` and `create` say about an empty
audience and a start in the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.factories import numbers
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain.audience import lists
from textcast.models import AuditEntry, Campaign

runner = CliRunner()


def _create(env: dict[str, str], tmp_path: Path, *extra: str) -> None:
    path = tmp_path / "numbers.txt"
    path.write_text("\n".join(numbers(2)) + "\n")
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "cli", "--body", "Hi", "--recipients", str(path), *extra],
        env=env,
    )
    assert created.exit_code == 0, created.output


def test_edit_changes_the_options_given_and_clears_those_named(
    database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, tmp_path, "--budget", "5")
    edited = runner.invoke(
        app, ["campaigns", "edit", "1", "--body", "Hi again", "--clear", "budget"], env=env
    )
    assert edited.exit_code == 0, edited.output
    assert "campaign 1: changed body, budget" in edited.output
    database = Database(database_url)
    with database.read() as session:
        campaign = session.get_one(Campaign, 1)
        assert (campaign.body, campaign.budget, campaign.recipient_count) == ("Hi again", None, 2)
        assert session.query(AuditEntry).filter_by(action="campaign.update").count() == 1
    database.dispose()
    nothing = runner.invoke(app, ["campaigns", "edit", "1"], env=env)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    wrong = runner.invoke(app, ["campaigns", "edit", "1", "--clear", "body"], env=env)
    assert wrong.exit_code == 2 and "--clear takes" in wrong.output


def test_edit_names_a_bad_field_and_refuses_a_campaign_sent(
    database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, tmp_path)
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M%z")
    refused = runner.invoke(app, ["campaigns", "edit", "1", "--send-at", past], env=env)
    assert refused.exit_code == 1
    assert "send_at" in refused.output and "is in the past" in refused.output
    assert runner.invoke(app, ["campaigns", "send", "1"], env=env).exit_code == 0
    sent = runner.invoke(app, ["campaigns", "edit", "1", "--name", "x"], env=env)
    assert sent.exit_code == 1 and "is sending" in sent.output
    kept = runner.invoke(app, ["campaigns", "delete", "1", "--yes"], env=env)
    assert kept.exit_code == 1 and "is sending" in kept.output


def test_create_refuses_a_start_in_the_past(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url}
    path = tmp_path / "numbers.txt"
    path.write_text(numbers(1)[0] + "\n")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M%z")
    refused = runner.invoke(
        app,
        [
            "campaigns",
            "create",
            "--name",
            "x",
            "--body",
            "Hi",
            "--recipients",
            str(path),
            *("--send-at", past),
        ],
        env=env,
    )
    assert refused.exit_code == 1 and "send_at" in refused.output


def test_delete_needs_confirmation(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url}
    _create(env, tmp_path)
    unconfirmed = runner.invoke(app, ["campaigns", "delete", "1"], env=env)
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
    deleted = runner.invoke(app, ["campaigns", "delete", "1", "--yes"], env=env)
    assert deleted.exit_code == 0, deleted.output
    assert "campaign 1 (draft) deleted" in deleted.output
    again = runner.invoke(app, ["campaigns", "delete", "1", "--yes"], env=env)
    assert again.exit_code == 1 and "not found" in again.output


def test_plan_and_send_say_the_audience_is_empty(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    database = Database(database_url)
    with database.write() as session:
        empty = lists.create_list(session, "nobody").id
    database.dispose()
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "x", "--body", "Hi", "--list", str(empty)],
        env=env,
    )
    assert created.exit_code == 0, created.output
    plan = runner.invoke(app, ["campaigns", "plan", "1"], env=env)
    assert plan.exit_code == 0, plan.output
    assert "refused: the audience is empty" in plan.output
    assert "The audience is empty" in plan.output
    sent = runner.invoke(app, ["campaigns", "send", "1"], env=env)
    assert sent.exit_code == 1 and "the audience is empty" in sent.output
