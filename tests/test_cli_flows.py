"""`textcast flows …` and `textcast events send`: flows created from a template or a file,
listed as the API lists them, shown with their per-step figures, published, paused, resumed,
archived; events posted by hand; bad input ends the command naming the field and the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result
from sqlalchemy import select
from tests.factories import authorize, numbers
from tests.flows.helpers import advance, policy
from tests.web.apps import app_client
from tests.web.test_flows_api import CART
from typer.testing import CliRunner

from textcast.cli import app
from textcast.config import instance_secret, load_settings
from textcast.db import Database
from textcast.domain.audience import contacts
from textcast.models import AuditEntry, FlowRun, utcnow

runner = CliRunner()


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "tests",
        "DEFAULT_REGION": "US",
        "NO_COLOR": "1",
        "COLUMNS": "220",
    }


def _run(env: dict[str, str], *args: str, exit_code: int = 0) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == exit_code, (args, result.output)
    return result


def _said(result: Result) -> str:
    """The output on one line, without the tables' borders."""
    return " ".join(result.output.replace("│", " ").split())


def _contact(database: Database, database_url: str, phone: str) -> int:
    secret = instance_secret(load_settings(database_url=database_url, secret_key="tests"))
    with database.write() as session:
        draft = contacts.ContactDraft(phone=phone)
        return contacts.create_contact(session, draft, "US", "test", secret).id


def _file(tmp_path: Path, definition: Any, name: str = "cart.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(definition) if not isinstance(definition, str) else definition)
    return str(path)


def test_flows_are_created_listed_as_the_api_lists_them_shown_and_switched(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    env = _env(database_url)
    templates = _run(env, "flows", "templates")
    assert "abandoned_cart" in templates.stdout and "Win-back" in templates.stdout

    drafted = _run(env, "flows", "create", "--template", "abandoned_cart", "--name", "Carts")
    assert "flow 1: 'Carts', a draft" in drafted.output
    live = _run(env, "flows", "create", "--file", _file(tmp_path, CART), "--publish")
    assert "flow 2: 'cart', live as version 1" in live.output

    listed = json.loads(_run(env, "flows", "list", "--json").stdout)
    assert [(f["id"], f["status"], f["version"]) for f in listed] == [
        (2, "live", 1),
        (1, "draft", None),
    ]
    with app_client(database_url) as client:
        authorize(client, database_url)
        assert listed == client.get("/api/v1/flows").json()
    table = _run(env, "flows", "list").stdout
    assert "Carts" in table and "event cart_abandoned" in table

    assert "flow 1: live as version 1" in _run(env, "flows", "publish", "1").output
    assert "flow 1: paused" in _run(env, "flows", "pause", "1").output
    again = _run(env, "flows", "pause", "1", exit_code=1)
    assert "error: flow 1 is paused; only a live flow can be paused" in _said(again)
    assert "flow 1: live" in _run(env, "flows", "resume", "1").output
    archived = _run(env, "flows", "archive", "1")
    assert "flow 1: archived; 0 runs in progress ended" in archived.output
    assert [f["id"] for f in json.loads(_run(env, "flows", "list", "--json").stdout)] == [2]

    with database.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "cli").order_by(AuditEntry.id)
        ).all()
    assert actions == [
        "flow.create",
        "flow.create",
        "flow.publish",
        "flow.publish",
        "flow.pause",
        "flow.resume",
        "flow.archive",
    ]


def test_events_sent_by_hand_start_runs_shown_step_by_step(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    env = _env(database_url)
    _run(env, "flows", "create", "--file", _file(tmp_path, CART), "--name", "Cart", "--publish")
    first, second, stranger = numbers(3)
    ids = [_contact(database, database_url, phone) for phone in (first, second)]

    sent = _run(
        env,
        "events",
        "send",
        "cart_abandoned",
        "--phone",
        first,
        "--prop",
        "cart_url=https://shop.example/c?id=1",
        "--idempotency-key",
        "cart-1",
    )
    assert "event 1: cart_abandoned matched" in sent.output
    assert "Matched: 1 run started, 0 runs resumed, 0 runs ended at their goal." in _said(sent)
    retried = _run(
        env, "events", "send", "cart_abandoned", "--phone", first, "--idempotency-key", "cart-1"
    )
    assert "event 1: cart_abandoned matched (seen before under this key" in _said(retried)
    _run(env, "events", "send", "cart_abandoned", "--contact", str(ids[1]))
    with database.read() as session:
        contexts = session.scalars(select(FlowRun.context).order_by(FlowRun.id)).all()
    assert contexts == [{"event": {"cart_url": "https://shop.example/c?id=1"}}, {"event": {}}]
    _run(env, "events", "send", "order_placed", "--contact", str(ids[1]))
    unheard = _run(env, "events", "send", "wishlist_viewed", "--phone", first)
    assert "No live flow listens to 'wishlist_viewed'; the event is stored and counted." in (
        _said(unheard)
    )
    nobody = _run(env, "events", "send", "cart_abandoned", "--phone", stranger)
    assert "No contact has this number; the event is stored." in _said(nobody)
    advance(database, policy(), utcnow())

    shown = _said(_run(env, "flows", "show", "1"))
    assert "trigger event cart_abandoned" in shown
    assert "goal order_placed" in shown and "versions 1 (current)" in shown
    assert "runs active 1, goal 1" in shown
    # step, type, entered, waiting, sent, skipped, delivered, clicked, replied, yes, no,
    # exited, goal, stopped
    assert "wait_1h wait for 1h 1 1 0 0 0 0 0 0 0 0 1 0" in shown
    assert "reminder send 0 0 0 0 0 0 0 0 0 0 0 0" in shown

    runs = _run(env, "flows", "runs", "1").stdout
    assert first in runs and second in runs and "reached the goal" in runs
    goal = _run(env, "flows", "runs", "1", "--status", "goal").stdout
    assert second in goal and first not in goal
    waiting = _run(env, "flows", "runs", "1", "--step", "wait_1h").stdout
    assert first in waiting and second not in waiting

    summary = _said(_run(env, "events", "summary"))
    assert "cart_abandoned matched 2" in summary
    assert "wishlist_viewed unheard 1" in summary and "cart_abandoned no_contact 1" in summary


def test_bad_input_ends_the_command_naming_the_field_and_the_problem(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url)
    after_exit = {
        "trigger": {"type": "subscribed"},
        "steps": [{"id": "done", "type": "exit"}, {"id": "late", "type": "send", "body": "x"}],
    }
    never_ends = {
        "trigger": {"type": "subscribed"},
        "steps": [{"id": "w", "type": "wait", "until_event": "paid"}],
    }
    unknown_attribute = {
        "trigger": {"type": "subscribed"},
        "steps": [
            {
                "id": "vip",
                "type": "branch",
                "if": {"kind": "attribute", "name": "tier", "value": "gold"},
                "yes": [],
                "no": [],
            }
        ],
    }
    no_list = {"trigger": {"type": "subscribed", "list_id": 7}, "steps": [{"type": "exit"}]}
    help_word = {"trigger": {"type": "keyword", "keyword": "Help"}, "steps": [{"type": "exit"}]}
    for definition, said in [
        (after_exit, "steps[1]: can never be reached: it comes after the exit step done"),
        (never_ends, "steps[0].timeout: a wait for an event needs a timeout"),
        (unknown_attribute, "steps[0].if.name: no contact has an attribute 'tier'"),
        (no_list, "trigger.list_id: there is no list 7"),
        (help_word, "trigger.keyword: HELP is already a keyword of HELP_KEYWORDS"),
        ("{not json", "--file: bad.json is not JSON"),
    ]:
        path = _file(tmp_path, definition, "bad.json")
        result = _run(env, "flows", "create", "--file", path, exit_code=1)
        assert said in _said(result), result.output

    unknown = _run(env, "flows", "create", "--template", "black_friday", exit_code=1)
    assert "error: flow template black_friday not found" in _said(unknown)
    both = _run(env, "flows", "create", exit_code=2)
    assert "give --template KEY or --file definition.json" in _said(both)
    assert "flow 9 not found" in _said(_run(env, "flows", "show", "9", exit_code=1))
    assert "flow 9 not found" in _said(_run(env, "flows", "runs", "9", exit_code=1))

    phone = numbers(1)[0]
    bad_prop = _run(env, "events", "send", "x", "--phone", phone, "--prop", "oops", exit_code=2)
    assert "--prop: 'oops' is not key=value" in _said(bad_prop)
    nobody = _run(env, "events", "send", "x", exit_code=2)
    assert "give --phone or --contact" in _said(nobody)
    bad_name = _run(env, "events", "send", "order placed", "--phone", phone, exit_code=1)
    assert "name: must be an event name" in _said(bad_name)
    bad_phone = _run(env, "events", "send", "x", "--phone", "12", exit_code=1)
    assert "phone:" in _said(bad_phone)
    assert _run(env, "flows", "list", "--json").stdout.strip() == "[]"
