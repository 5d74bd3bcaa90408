import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from tests.factories import authorize, numbers
from tests.servers import free_port, serving
from typer.testing import CliRunner

from textcast.cli import app
from textcast.config import load_settings
from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.audience import consent
from textcast.migrate import alembic_config, current_revision
from textcast.web.app import create_app

runner = CliRunner()


@pytest.fixture
def numbers_file(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.txt"
    path.write_text("# customers\n" + "\n".join(numbers(3)) + "\n\n(201) 555-0000\n")
    return path


def test_db_upgrade_migrates_an_empty_database_to_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"revision {head}" in result.output
    database = Database(url)
    assert current_revision(database) == head
    database.dispose()


def test_create_send_and_status(database_url: str, numbers_file: Path) -> None:
    env = {"DATABASE_URL": database_url}
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "cli", "--body", "Hi", "--recipients", str(numbers_file)],
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert "campaign 1: 3 recipients, draft" in created.output
    sent = runner.invoke(app, ["campaigns", "send", "1"], env=env)
    assert "3 messages queued" in sent.output
    again = runner.invoke(app, ["campaigns", "send", "1"], env=env)
    assert again.exit_code == 1
    assert "only a draft can be sent" in again.output
    status = runner.invoke(app, ["campaigns", "status", "1"], env=env)
    assert status.exit_code == 0
    assert "queued" in status.output and "3" in status.output


def test_plan_controls_and_duplicate(database_url: str, numbers_file: Path) -> None:
    env = {"DATABASE_URL": database_url, "PRICES": '{"US": 0.01}', "SECRET_KEY": "k" * 32}
    body = 'Hi {{ first_name | default("there") }}, sale \u2013 today'
    created = runner.invoke(
        app,
        ["campaigns", "create", "--name", "cli", "--body", body, "--recipients", str(numbers_file)],
        env=env,
    )
    assert created.exit_code == 0, created.output
    plan = runner.invoke(app, ["campaigns", "plan", "1", "--json"], env=env)
    assert plan.exit_code == 0, plan.output
    assert '"recipients": 3' in plan.output and '"encodings": {\n    "UCS-2": 3' in plan.output
    shown = runner.invoke(app, ["campaigns", "plan", "1"], env=env)
    assert "0.03 USD" in shown.output and "Hi there, sale" in shown.output
    assert runner.invoke(app, ["campaigns", "pause", "1"], env=env).exit_code == 1
    assert runner.invoke(app, ["campaigns", "send", "1"], env=env).exit_code == 0
    paused = runner.invoke(app, ["campaigns", "pause", "1"], env=env)
    assert "campaign 1: paused" in paused.output
    cancelled = runner.invoke(app, ["campaigns", "cancel", "1"], env=env)
    assert "campaign 1: cancelled" in cancelled.output
    status = runner.invoke(app, ["campaigns", "status", "1"], env=env)
    assert "cancelled" in status.output
    copy = runner.invoke(app, ["campaigns", "duplicate", "1"], env=env)
    assert "campaign 2: draft copy of 1" in copy.output
    # Each command went through its use case, which wrote the entry as the web API does.
    database = Database(database_url)
    with database.read() as session:
        logged = [
            (e.actor, e.action, e.target, e.detail)
            for e in reversed(audit.entries(session))
            if e.action.startswith("campaign.")
        ]
    database.dispose()
    assert logged == [
        ("cli", "campaign.create", "campaign:1", {}),
        ("cli", "campaign.send", "campaign:1", {"recipients": 3}),
        ("cli", "campaign.pause", "campaign:1", {}),
        ("cli", "campaign.cancel", "campaign:1", {}),
        ("cli", "campaign.create", "campaign:2", {"duplicate_of": 1}),
    ]


def test_bad_numbers_are_named_with_their_line(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("+12015550100\nnot-a-number\n")
    result = runner.invoke(
        app,
        ["campaigns", "create", "--name", "x", "--body", "Hi", "--recipients", str(path)],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 1
    assert "recipients[1]" in result.output and "not a phone number" in result.output


def test_a_bad_setting_stops_with_the_variable_name(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["db", "upgrade"], env={"DATABASE_URL": "mysql://nope", "SINCH_REGION": "xx"}
    )
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output and "SINCH_REGION" in result.output


def test_serve_refuses_sinch_credentials_without_webhook_authentication(tmp_path: Path) -> None:
    """A real process, so that a server that starts anyway fails the test (by the timeout)
    instead of serving inside it."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PORT": str(free_port()),
        "SINCH_SERVICE_PLAN_ID": "a-real-plan",
        "SINCH_API_TOKEN": "a-real-token",
        "COLUMNS": "200",
    }
    for name in ("SINCH_WEBHOOK_SECRET", "WEBHOOK_BASIC_AUTH", "WEBHOOK_PATH_TOKEN"):
        env.pop(name, None)
    served = subprocess.run(
        [sys.executable, "-m", "textcast", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 2, served.stderr
    for name in ("SINCH_WEBHOOK_SECRET", "WEBHOOK_BASIC_AUTH", "WEBHOOK_PATH_TOKEN"):
        assert name in served.stderr
    assert "Traceback" not in served.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before touching anything


def test_a_standalone_simulator_signs_what_serve_verifies(
    database_url: str, tmp_path: Path
) -> None:
    """`textcast simulator` at SINCH_BASE_URL (as with `serve --workers`): with the same
    settings, it signs with the secret the webhooks derive, so its callbacks get through."""
    sim_port, port = free_port(), free_port()
    env = {**os.environ, "SECRET_KEY": "standalone-tests"}
    for name in ("SINCH_SERVICE_PLAN_ID", "SINCH_API_TOKEN", "SINCH_WEBHOOK_SECRET"):
        env.pop(name, None)
    inbound = f"http://127.0.0.1:{port}/api/webhooks/inbound"
    command = ["simulator", "--port", str(sim_port), "--inbound-url", inbound]
    standalone = subprocess.Popen(
        [sys.executable, "-m", "textcast", *command], env=env, cwd=tmp_path
    )
    settings = load_settings(
        database_url=database_url,
        secret_key="standalone-tests",
        sinch_base_url=f"http://127.0.0.1:{sim_port}",
        port=port,
    )
    try:
        with (
            serving(create_app(settings, dispatch=False, simulator=False), port) as url,
            httpx.Client(base_url=url, timeout=30) as api,
        ):
            authorize(api, database_url)
            deadline = time.monotonic() + 30
            while True:
                try:
                    injected = httpx.post(
                        f"http://127.0.0.1:{sim_port}/_simulator/inbound",
                        json={"from": "12015550100", "to": "12017777777", "body": "Hello"},
                    )
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the simulator did not start"
                    time.sleep(0.1)
            assert injected.status_code == 201, injected.text
            while not (items := api.get("/api/v1/inbox").json()["items"]):
                assert time.monotonic() < deadline, "the inbound message never arrived"
                time.sleep(0.05)
    finally:
        standalone.terminate()
        standalone.wait(10)
    assert [(m["from_phone"], m["body"]) for m in items] == [("+12015550100", "Hello")]


def test_demo_runs_a_whole_campaign_on_the_simulator() -> None:
    result = runner.invoke(app, ["demo", "--recipients", "40"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED SINCH" in result.output
    assert "accepted twice" in result.output and "0 accepted twice" in result.output
    assert "total" in result.output and "40" in result.output


def test_contacts_erase_needs_confirmation_and_names_a_missing_contact(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "cli-test"}
    unconfirmed = runner.invoke(app, ["contacts", "erase", "1"], env=env)
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
    missing = runner.invoke(app, ["contacts", "erase", "42", "--yes"], env=env)
    assert missing.exit_code == 1 and "contact 42 not found" in missing.output


def test_contacts_erase_scrubs_the_number(database_url: str, numbers_file: Path) -> None:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "cli-test"}
    imported = runner.invoke(
        app, ["contacts", "import", str(numbers_file), "--consent-confirmed"], env=env
    )
    assert imported.exit_code == 0, imported.output
    erased = runner.invoke(app, ["contacts", "erase", "1", "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    assert "contact 1 erased" in erased.output


def test_contacts_add_and_list(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "cli-test", "DEFAULT_REGION": "FR"}
    added = runner.invoke(
        app, ["contacts", "add", "06 12 34 56 78", "--first-name", "Ana"], env=env
    )
    assert added.exit_code == 0, added.output
    assert "+33612345678 (subscribed)" in added.output
    again = runner.invoke(app, ["contacts", "add", "+33612345678"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(app, ["contacts", "list", "--search", "ana"], env=env)
    assert "+33612345678" in listed.output and "Ana" in listed.output
    missing = runner.invoke(app, ["contacts", "list", "--list", "nope"], env=env)
    assert missing.exit_code == 1 and "no list named" in missing.output


def test_contacts_are_counted_and_opted_out_with_a_reason(database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "cli-test", "DEFAULT_REGION": "FR"}
    for phone in ("0612345678", "0612345679"):
        assert runner.invoke(app, ["contacts", "add", phone], env=env).exit_code == 0
    listed = runner.invoke(app, ["contacts", "list", "--limit", "1"], env=env)
    assert "2 contacts (1 shown)" in listed.output
    no_reason = runner.invoke(app, ["contacts", "opt-out", "1", "--reason", " "], env=env)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    missing = runner.invoke(app, ["contacts", "opt-out", "42", "--reason", "asked"], env=env)
    assert missing.exit_code == 1 and "contact 42 not found" in missing.output
    out = runner.invoke(app, ["contacts", "opt-out", "1", "--reason", "asked by phone"], env=env)
    assert out.exit_code == 0, out.output
    assert "+33612345678 (unsubscribed)" in out.output
    database = Database(database_url)
    with database.read() as session:
        events = [(e.kind, e.source, e.evidence) for e in consent.history(session, 1)]
        authors = consent.authors(session, 1)
    database.dispose()
    assert events == [("opt_in", "cli", None), ("opt_out", "cli", "asked by phone")]
    assert list(authors.values()) == ["cli"]
