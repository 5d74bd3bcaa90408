"""`textcast campaigns plan` says what list hygiene saves; `textcast contacts restore`."""

from __future__ import annotations

from pathlib import Path

from tests.factories import numbers
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.models import Contact, ContactStatus

runner = CliRunner()


def _words(output: str) -> str:
    return " ".join(output.split())


def _add(database_url: str, status: ContactStatus) -> None:
    database = Database(database_url)
    with database.write() as session:
        session.add(Contact(phone=numbers(1)[0], country="US", attributes={}, status=status))
    database.dispose()


def test_the_plan_shows_the_numbers_left_out_as_invalid_and_the_saving(
    database_url: str, tmp_path: Path
) -> None:
    _add(database_url, ContactStatus.INVALID)
    env = {"DATABASE_URL": database_url, "PRICES": '{"US": 0.01}'}
    listed = tmp_path / "numbers.txt"
    listed.write_text("\n".join(numbers(3)))
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "cli", "--body", "Sale", "--recipients", str(listed)],
        env=env,
    )
    assert created.exit_code == 0, created.output
    shown = runner.invoke(app, ["campaigns", "plan", "1"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "1 number left out as invalid (list hygiene), saving 0.01 USD" in _words(shown.output)


def test_restore_reads_a_national_number_and_says_what_is_not_found(database_url: str) -> None:
    _add(database_url, ContactStatus.INVALID)
    env = {"DATABASE_URL": database_url}
    national = numbers(1)[0].removeprefix("+1")
    restored = runner.invoke(app, ["contacts", "restore", national], env=env)
    assert restored.exit_code == 0, restored.output
    assert f"{numbers(1)[0]} (subscribed)" in restored.output
    unknown = runner.invoke(app, ["contacts", "restore", numbers(2)[1]], env=env)
    assert unknown.exit_code == 1
    assert "not found" in unknown.output
    garbled = runner.invoke(app, ["contacts", "restore", "+1 201 55"], env=env)
    assert garbled.exit_code == 1
    assert "contact +1 201 55 not found" in garbled.output
