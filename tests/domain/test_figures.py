"""A campaign's figures (one definition, one statement), why its messages wait, and its
messages one by one with their meaning, cost and missing merge fields."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from tests.factories import make_campaign, numbers

from textcast.db import Database
from textcast.domain.audience import contacts
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.reporting import figures, messages, waiting
from textcast.models import Campaign, CampaignStatus, Message, MessageStatus
from textcast.sinch.statuses import describe_code

S = MessageStatus
NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
PRICES = PriceTable({"US": 0.01, "FR": 0.1}, currency="EUR")
POLICY = Policy(prices=PRICES, rules=Rules.from_table("08:00-21:00", {}), send_rate=2)


def _set(database: Database, campaign_id: int, *changes: dict[str, object]) -> list[int]:
    """Give the campaign's messages these values, in id order; their ids."""
    with database.write() as session:
        ids = list(
            session.scalars(
                Message.__table__.select()
                .with_only_columns(Message.id)
                .where(Message.campaign_id == campaign_id)
                .order_by(Message.id)
            )
        )
        for message_id, values in zip(ids, changes, strict=False):
            if values:
                session.execute(update(Message).where(Message.id == message_id).values(**values))
    return ids


def test_every_message_is_at_one_stage_and_the_stages_add_up(database: Database) -> None:
    phones = numbers(9)
    campaign = make_campaign(database, [*phones[:8], "+33612345678"], launch=True)
    _set(
        database,
        campaign.id,
        {"status": S.ACCEPTED, "parts": 2},
        {"status": S.DISPATCHED, "status_code": 401},
        {"status": S.DELIVERED, "status_code": 0},
        {"status": S.FAILED, "status_code": 34},
        {"status": S.FAILED, "error": "403: refused"},  # refused: no delivery code
        {"status": S.SKIPPED, "error": "opted_out"},
        {"status": S.DEFERRED},
        {"status": S.SUBMITTING},
        {},  # +33: queued
    )
    with database.read() as session:
        counted = figures.campaign_figures(session, campaign.id, PRICES)
    assert counted.messages == 9
    assert (counted.skipped, counted.waiting, counted.refused, counted.sent) == (1, 3, 1, 4)
    assert (counted.with_sinch, counted.delivered, counted.not_delivered) == (2, 1, 1)
    assert counted.skipped + counted.waiting + counted.refused + counted.sent == counted.messages
    assert counted.with_sinch + counted.delivered + counted.not_delivered == counted.sent
    assert counted.final == 4 and counted.delivery_rate == 1 / 3
    # Parts and spend: the very messages counted as sent (2 + 1 + 1 + 1 parts to the US).
    assert counted.parts_sent == 5 and counted.spent == 0.05
    assert counted.parts_planned == 9


def test_why_waiting_names_quiet_hours_in_the_recipients_time(database: Database) -> None:
    ny, unknown = numbers(2)
    with database.write() as session:
        contacts.create_contact(
            session,
            contacts.ContactDraft(phone=ny, time_zone="America/New_York"),
            "US",
            "test",
            b"k" * 32,
        )
    campaign = make_campaign(database, [ny, unknown, *numbers(2, start=5)], launch=True)
    opening = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York
    _set(
        database,
        campaign.id,
        {"status": S.DEFERRED, "not_before": opening},
        {"status": S.DEFERRED, "not_before": opening + timedelta(days=1)},
        {"status": S.ACCEPTED},
        {},
    )
    with database.read() as session:
        found = session.get_one(Campaign, campaign.id)
        counted = figures.campaign_figures(session, campaign.id, PRICES)
        waits = waiting.why_waiting(session, found, counted, 2, now=NOW)
    texts = [w.text for w in waits]
    assert texts[0].startswith("1 message in the queue, handed to Sinch at 2 parts a second")
    assert "done by about 10:00 UTC (in less than a minute)" in texts[0]
    assert texts[1] == (
        "1 message held by the recipient's quiet hours until 08:00 their time (12:00 UTC)."
    )
    assert (waits[1].local_time, waits[1].time_zone) == ("08:00", "America/New_York")
    # A number alone: its zone is its area code's (201 is New Jersey, New York's time).
    assert texts[2] == (
        "1 message held by the recipient's quiet hours until 08:00 their time "
        "(2026-05-02 12:00 UTC)."
    )
    assert texts[3] == (
        "1 message with Sinch, waiting for its delivery report (Sinch gives up on a message "
        "after 72 hours)."
    )


def test_why_waiting_names_a_budget_pause_and_a_scheduled_start(database: Database) -> None:
    campaign = make_campaign(database, numbers(2), launch=True)
    with database.write() as session:
        found = session.get_one(Campaign, campaign.id)
        found.status = CampaignStatus.PAUSED
        found.status_reason = "budget reached: 0.90 of 1.00 EUR spent"
    with database.read() as session:
        found = session.get_one(Campaign, campaign.id)
        counted = figures.campaign_figures(session, campaign.id, PRICES)
        (wait,) = waiting.why_waiting(session, found, counted, 2, now=NOW)
    assert wait.reason == "budget" and wait.messages == 2
    assert wait.text == (
        "2 messages waiting: the campaign paused at its budget (budget reached: 0.90 of 1.00 "
        "EUR spent). Raise the budget, then resume, to send them."
    )
    with database.write() as session:
        found = session.get_one(Campaign, campaign.id)
        found.status = CampaignStatus.SCHEDULED
        found.send_at = datetime(2026, 5, 2, 9, 30, tzinfo=UTC)
    with database.read() as session:
        found = session.get_one(Campaign, campaign.id)
        (wait,) = waiting.why_waiting(session, found, counted, 2, now=NOW)
    assert wait.text == "2 messages waiting for the start at 2026-05-02 09:30 UTC."


def test_messages_say_what_their_code_means_what_they_cost_and_what_was_missing(
    database: Database,
) -> None:
    named, nameless, plain = numbers(3)
    with database.write() as session:
        for phone, first in ((named, "Ada"), (nameless, None)):
            contacts.create_contact(
                session,
                contacts.ContactDraft(phone=phone, first_name=first),
                "US",
                "test",
                b"k" * 32,
            )
    campaign = make_campaign(
        database,
        [named, nameless, plain],
        body="Hi {{ first_name }} {{ last_name | default('') }}",
        launch=True,
    )
    with database.write() as session:
        for phone, values in (
            (named, {"status": S.FAILED, "status_code": 34, "parts": 2}),
            (nameless, {"status": S.SKIPPED, "error": "missing_merge_field"}),
            (plain, {"status": S.DELIVERED, "status_code": 0}),
        ):
            session.execute(
                update(Message)
                .where(Message.campaign_id == campaign.id, Message.phone == phone)
                .values(**values)
            )
    with database.read() as session:
        rows = messages.message_rows(session, campaign.id, describe_code, PRICES)
        skipped = messages.message_rows(
            session,
            campaign.id,
            describe_code,
            PRICES,
            messages.MessageFilter(reason="missing_merge_field"),
        )
        found = messages.message_rows(
            session,
            campaign.id,
            describe_code,
            PRICES,
            messages.MessageFilter(number=f"({plain[2:5]}) {plain[5:8]}-{plain[8:]}"),
        )
    failed, missing, delivered = sorted(rows, key=lambda r: [named, nameless, plain].index(r.phone))
    assert (failed.code_name, failed.cost) == ("Operator error 34", 0.02)
    assert missing.reason == "A merge field had no value and no default"
    assert missing.missing_fields == ["first_name"] and missing.cost is None
    assert delivered.cost == 0.01 and delivered.code_name is not None
    assert [r.phone for r in skipped] == [nameless]
    assert [r.phone for r in found] == [plain]
