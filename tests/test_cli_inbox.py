"""`textcast inbox …`: threads opened by texts that reached the app's inbound webhook, listed
with the inbox's counts in 100 columns, shown (and so read), answered by contact id or by
number (queued for the running dispatcher), refused after a STOP with the reason, closed,
opened, assigned and noted."""

from __future__ import annotations

from click.testing import Result
from sqlalchemy import select
from tests.factories import make_api_key, make_user, numbers
from tests.web.apps import app_client
from tests.web.test_conversations_api import receive, save_contact
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.models import Campaign, CampaignKind, Conversation, Role

runner = CliRunner()
ANA, BEN, CAL = numbers(3)


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "tests",  # the app's below: the same key for opt-outs
        "DEFAULT_REGION": "US",
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }


def _run(database_url: str, *args: str, exit_code: int = 0) -> Result:
    result = runner.invoke(app, ["inbox", *args], env=_env(database_url))
    assert result.exit_code == exit_code, (args, result.output)
    return result


def _said(result: Result) -> str:
    """The output on one line, without the tables' borders."""
    return " ".join(result.output.replace("│", " ").split())


def _texts(database_url: str, database: Database, *texts: tuple[str, str]) -> int:
    """Ana (a contact) and whoever else send these texts; Ana's contact id."""
    with app_client(database_url) as client:
        client.headers["Authorization"] = f"Bearer {make_api_key(database, Role.EDITOR)}"
        ana = save_contact(client, ANA, "Ana")
        for phone, body in texts:
            receive(client, phone, body)
    return ana


def _thread(database: Database, phone: str) -> Conversation:
    with database.read() as session:
        return session.scalars(select(Conversation).where(Conversation.phone == phone)).one()


def test_the_list_shows_threads_and_the_inbox_counts_in_100_columns(
    database_url: str, database: Database
) -> None:
    _texts(
        database_url,
        database,
        (ANA, "Is the sale online too? I could not find it on the website anywhere at all"),
        (BEN, "Hello?"),
        (CAL, "HELP"),
    )
    listed = _run(database_url, "list")
    assert max(len(line) for line in listed.output.splitlines()) <= 100
    said = _said(listed)
    assert "Ana (1)" in said and BEN in said and CAL in said
    assert "Is the sale online" in said and "anywhere at all" not in said  # cut to fit
    assert "open 3 · closed 0 · unread 2 · needs reply 2" in said

    unread = _said(_run(database_url, "list", "--unread"))
    assert "Ana (1)" in unread and BEN in unread and CAL not in unread
    needing = _said(_run(database_url, "list", "--needs-reply", "--limit", "1"))
    assert BEN in needing and "Ana (1)" not in needing
    assert ANA not in _said(_run(database_url, "list", "--state", "closed"))


def test_show_reads_the_thread_and_reply_queues_an_answer_for_the_dispatcher(
    database_url: str, database: Database
) -> None:
    ana = _texts(database_url, database, (ANA, "Do you ship to Canada?"), (BEN, "Open Sunday?"))
    shown = _said(_run(database_url, "show", str(ana)))
    assert "Do you ship to Canada?" in shown and "← " in shown
    assert _thread(database, ANA).unread == 0  # shown: read

    replied = _said(_run(database_url, "reply", str(ana), "Yes, we do!"))
    assert f"answer queued to {ANA}" in replied
    assert "11 characters, 1 part, GSM-7" in replied
    assert "textcast serve" in replied  # the CLI sends nothing itself
    # A number that is no contact, written as people write it.
    by_number = _said(_run(database_url, "reply", "(201) 555-0001", "10 to 4 😊"))
    assert f"answer queued to {BEN}" in by_number and "UCS-2" in by_number
    with database.read() as session:
        kinds = session.scalars(select(Campaign.kind).order_by(Campaign.id)).all()
    assert kinds == [CampaignKind.CONVERSATION, CampaignKind.CONVERSATION]
    thread = _said(_run(database_url, "show", BEN))
    assert "→ 10 to 4 😊 queued agent" in thread


def test_an_answer_after_a_stop_or_to_nobody_ends_with_the_reason(
    database_url: str, database: Database
) -> None:
    ana = _texts(database_url, database, (ANA, "How much?"), (ANA, "STOP"))
    refused = _run(database_url, "reply", str(ana), "It is free!", exit_code=1)
    assert "opted out (STOP)" in _said(refused)
    nobody = _run(database_url, "reply", "+12015559999", "Hi", exit_code=1)
    assert "not found" in _said(nobody)
    not_a_number = _run(database_url, "reply", "tomorrow", "Hi", exit_code=1)
    assert "contact" in _said(not_a_number)
    assert "not found" in _said(_run(database_url, "show", "99999", exit_code=1))


def test_threads_are_closed_opened_assigned_and_noted(
    database_url: str, database: Database
) -> None:
    ana = _texts(database_url, database, (ANA, "Hi"))
    make_user(database, "sam@example.com", Role.EDITOR)
    assert "closed, assigned to nobody" in _said(_run(database_url, "close", str(ana)))
    assert "open 0 · closed 1" in _said(_run(database_url, "list"))
    assert ": open," in _said(_run(database_url, "open", ANA))

    assigned = _said(_run(database_url, "assign", str(ana), "Sam@Example.com"))
    assert "assigned to sam@example.com" in assigned
    assert _thread(database, ANA).assignee_id is not None
    assert "assigned to nobody" in _said(_run(database_url, "assign", str(ana), "--none"))
    assert "user nobody@example.com not found" in _said(
        _run(database_url, "assign", str(ana), "nobody@example.com", exit_code=1)
    )
    _run(database_url, "assign", str(ana), exit_code=2)

    noted = _said(_run(database_url, "note", str(ana), "Wants a refund"))
    assert "note: Wants a refund" in noted
    assert _thread(database, ANA).note == "Wants a refund"
    assert "note:" not in _said(_run(database_url, "note", str(ana), ""))
    too_long = _run(database_url, "note", str(ana), "n" * 4001, exit_code=1)
    assert "note" in _said(too_long) and "4000" in _said(too_long)
