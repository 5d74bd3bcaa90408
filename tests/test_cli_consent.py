"""`textcast contacts consent ID|PHONE` and `textcast consent export`: the same record and
ledger as the API's, on a real database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.factories import SIGNUP_POLICY, authorize, form_signup, make_form, reply_y
from typer.testing import CliRunner

from textcast.cli import app
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import signups
from textcast.domain.audience import consent_exports, lists
from textcast.web.app import create_app

runner = CliRunner()
PHONE = "+12015550123"
SECRET = "cli-consent"


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, default_region="US", secret_key=SECRET)
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def _env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "DEFAULT_REGION": "US"}


def _sign_up(database: Database) -> None:
    """A form sign-up of PHONE, confirmed by its "Y"."""
    with database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    form = make_form(database, list_id, disclosure="[bold]Shop[/] texts you. Reply STOP.")
    request = form_signup(
        form,
        PHONE,
        fields={"first_name": "Ana"},
        disclosure_version=2,
        user_agent="Mozilla/5.0",
        page_url=None,
        referer=None,
        origin=None,
        language=None,
    )
    with database.write() as session:
        signups.start_signup(session, SIGNUP_POLICY, request)
        reply_y(session, SIGNUP_POLICY, PHONE, "mo-y")


def test_a_contact_s_consent_record_by_id_or_number(
    database_url: str, database: Database, api: TestClient
) -> None:
    env = _env(database_url)
    _sign_up(database)
    opted = runner.invoke(app, ["contacts", "opt-out", "1", "--reason", "asked"], env=env)
    assert opted.exit_code == 0, opted.output

    shown = runner.invoke(app, ["contacts", "consent", "1"], env=env)
    assert shown.exit_code == 0, shown.output
    for words in ("opted out", "not given", "[bold]Shop[/] texts you", "203.0.113.9", "asked"):
        assert words in shown.stdout, words

    by_number = runner.invoke(
        app, ["contacts", "consent", "(201) 555-0123", "--format", "json"], env=env
    )
    assert by_number.exit_code == 0, by_number.output
    assert json.loads(by_number.stdout) == api.get("/api/v1/contacts/1/consent").json()
    digits = runner.invoke(app, ["contacts", "consent", "2015550123", "--format", "json"], env=env)
    assert json.loads(digits.stdout)["contact_id"] == 1

    as_csv = runner.invoke(app, ["contacts", "consent", "1", "--format", "csv"], env=env)
    assert as_csv.stdout == api.get("/api/v1/contacts/1/consent", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["kind"] for r in rows] == ["opt_in", "opt_out"]

    missing = runner.invoke(app, ["contacts", "consent", "+12015550999"], env=env)
    assert missing.exit_code == 1 and "contact +12015550999 not found" in missing.output
    wrong = runner.invoke(app, ["contacts", "consent", "1", "--format", "xml"], env=env)
    assert wrong.exit_code == 2 and "--format" in wrong.output


def test_consent_export_writes_everyone_s_ledger(
    database_url: str, database: Database, api: TestClient, tmp_path: Path
) -> None:
    env = _env(database_url)
    _sign_up(database)
    added = runner.invoke(
        app, ["contacts", "add", "+12015550124", "--evidence", "=1+1 at the till"], env=env
    )
    assert added.exit_code == 0, added.output

    as_csv = runner.invoke(app, ["consent", "export"], env=env)
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout == api.get("/api/v1/consent/export").text
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert tuple(rows[0]) == consent_exports.CSV_COLUMNS
    assert [r["evidence"] for r in rows][1] == "'=1+1 at the till"

    path = tmp_path / "ledger.json"
    written = runner.invoke(
        app, ["consent", "export", "--format", "json", "-o", str(path)], env=env
    )
    assert written.exit_code == 0, written.output
    exported = json.loads(path.read_text())
    assert exported == api.get("/api/v1/consent/export", params={"format": "json"}).json()
    assert [e["source"] for e in exported] == [exported[0]["source"], "cli"]

    since = exported[1]["created_at"]
    later = runner.invoke(app, ["consent", "export", "--format", "json", "--since", since], env=env)
    assert [e["id"] for e in json.loads(later.stdout)] == [exported[1]["id"]]
    bad = runner.invoke(app, ["consent", "export", "--since", "last week"], env=env)
    assert bad.exit_code == 2 and "--since" in bad.output
