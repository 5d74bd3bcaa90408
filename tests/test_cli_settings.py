"""`textcast settings show|set|reset`: the settings changed while textcast runs, from the
command line, on a real database; audited as `cli`, and used by the next command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.models import Campaign

runner = CliRunner()


def test_set_show_and_reset_a_setting(database_url: str, tmp_path: Path) -> None:
    recipients = tmp_path / "numbers.txt"
    recipients.write_text("+12015550141\n")
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "tests", "SINCH_NUMBER": "+12025550100"}
    shown = runner.invoke(app, ["settings", "show", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    sender = next(s for s in json.loads(shown.output) if s["name"] == "SINCH_NUMBER")
    assert (sender["value"], sender["source"]) == ("+12025550100", "environment")

    changed = runner.invoke(app, ["settings", "set", "sinch_number", "+12025550188"], env=env)
    assert changed.exit_code == 0, changed.output
    assert "SINCH_NUMBER is now +12025550188" in changed.output
    rules = runner.invoke(app, ["settings", "set", "PRICES", '{"FR": 0.065}'], env=env)
    assert rules.exit_code == 0, rules.output

    # The next command runs with it: a campaign without a sender gets the new one.
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "n", "--body", "Hi", "--recipients", str(recipients)],
        env=env,
    )
    assert created.exit_code == 0, created.output
    table = runner.invoke(app, ["settings", "show"], env=env)
    assert "dashboard: cli" in table.output

    refused = runner.invoke(app, ["settings", "set", "SEND_RATE", "fast"], env=env)
    assert refused.exit_code == 1
    assert "SEND_RATE" in refused.output and "must be a number" in refused.output
    unknown = runner.invoke(app, ["settings", "set", "DATABASE_URL", "x"], env=env)
    assert unknown.exit_code == 1
    assert "changed while textcast runs" in unknown.output

    reset = runner.invoke(app, ["settings", "reset", "SINCH_NUMBER"], env=env)
    assert reset.exit_code == 0, reset.output
    assert "SINCH_NUMBER is now +12025550100, from the environment" in reset.output

    database = Database(database_url)
    try:
        with database.read() as session:
            campaign = session.get(Campaign, 1)
            assert campaign is not None
            assert campaign.sender == "+12025550188"
            entries = audit.entries(session, action="settings.update")
        assert [e.actor for e in entries] == ["cli", "cli", "cli"]
        assert entries[-1].detail["changes"]["SINCH_NUMBER"] == {
            "old": "+12025550100",
            "new": "+12025550188",
            "source": "dashboard",
        }
    finally:
        database.dispose()
