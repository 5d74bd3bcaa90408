from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.reporting import figures, overview
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ConsentEvent,
    ConsentKind,
    Contact,
    ContactList,
    ContactStatus,
    Message,
    MessageStatus,
    Segment,
)

S = MessageStatus
NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 5, 2, tzinfo=UTC)  # 30 days, today included
PRICES = PriceTable({"US": 0.25}, 0.05, "USD", estimate=False)


def day(n: int, hour: int = 12) -> datetime:
    """Noon (or `hour`) of the window's day `n`, 0 being its first."""
    return SINCE + timedelta(days=n, hours=hour)


def add_campaign(session: Session, messages: Sequence[dict[str, Any]] = (), **values: Any) -> int:
    defaults: dict[str, Any] = {
        "status": CampaignStatus.SENDING,
        "launched_at": day(0),
        "kind": CampaignKind.MARKETING,
    }
    campaign = Campaign(
        reference=new_reference(),
        name="Spring",
        body="Sale today",
        encoding="GSM-7",
        parts=1,
        **(defaults | values),
    )
    session.add(campaign)
    session.flush()
    base = {"campaign_id": campaign.id, "parts": 1, "created_at": day(0), "updated_at": day(0)}
    rows = [
        base | {"phone": phone} | message
        for phone, message in zip(numbers(len(messages)), messages, strict=True)
    ]
    if rows:
        session.execute(insert(Message), rows)
    return campaign.id


def delivered(at: datetime) -> dict[str, Any]:
    return {"status": S.DELIVERED, "status_code": 0, "sent_at": at, "operator_status_at": at}


def failed(at: datetime) -> dict[str, Any]:
    return {"status": S.FAILED, "status_code": 34, "sent_at": at, "operator_status_at": at}


def test_the_delivery_rate_is_counted_per_day_a_message_settled(database: Database) -> None:
    with database.write() as session:
        add_campaign(
            session,
            [
                delivered(day(3, hour=0)),
                delivered(day(3, hour=23)),
                failed(day(3)),
                # No operator time: when we last updated it counts.
                {"status": S.EXPIRED, "status_code": 6, "updated_at": day(29, hour=1)},
                # Not outcomes: still moving, or never sent.
                {"status": S.ACCEPTED, "sent_at": day(29)},
                {"status": S.SKIPPED, "error": "opted_out", "updated_at": day(29)},
                # Settled before the window.
                delivered(SINCE - timedelta(minutes=1)),
            ],
        )
    with database.read() as session:
        result = overview.summarize(session, PRICES, now=NOW)

    assert result.since == SINCE
    assert len(result.days) == 30
    assert (result.days[0].day, result.days[-1].day) == (date(2026, 5, 2), date(2026, 5, 31))
    by_day = {d.day: (d.delivered, d.outcomes) for d in result.days if d.outcomes}
    assert by_day == {date(2026, 5, 5): (2, 3), date(2026, 5, 31): (0, 1)}
    assert result.days[3].delivery_rate == 2 / 3
    assert result.days[4].delivery_rate is None
    assert (result.delivered, result.outcomes, result.delivery_rate) == (2, 4, 0.5)


def test_campaigns_finished_long_before_the_window_are_not_read(database: Database) -> None:
    with database.write() as session:
        # Finished in time for its last reports to arrive inside the window: read.
        add_campaign(
            session,
            [delivered(day(0, hour=1))],
            status=CampaignStatus.COMPLETED,
            completed_at=SINCE - timedelta(days=2),
        )
        # Finished well before: Sinch has long settled all of it, nothing is read.
        add_campaign(
            session,
            [delivered(day(0, hour=2))],
            status=CampaignStatus.COMPLETED,
            completed_at=SINCE - timedelta(days=4),
        )
        add_campaign(session, [delivered(day(0))], status=CampaignStatus.DRAFT, launched_at=None)
    with database.read() as session:
        result = overview.summarize(session, PRICES, now=NOW)
    assert (result.days[0].delivered, result.outcomes) == (1, 1)


def test_opt_outs_count_contacts_who_opted_out_in_the_window(database: Database) -> None:
    with database.write() as session:
        contacts = [
            Contact(phone=phone, attributes={}, status=ContactStatus.UNSUBSCRIBED)
            for phone in numbers(6)
        ]
        session.add_all(contacts)
        session.flush()
        events = [
            (contacts[0], ConsentKind.OPT_OUT, "keyword", day(1)),
            (contacts[0], ConsentKind.OPT_OUT, "keyword", day(2)),  # STOP twice: one contact
            (contacts[1], ConsentKind.OPT_OUT, "keyword", day(5)),
            (contacts[2], ConsentKind.OPT_OUT, "api", day(29)),
            (contacts[3], ConsentKind.OPT_OUT, "import:7", day(8)),
            (contacts[4], ConsentKind.OPT_IN, "api", day(8)),
            (contacts[5], ConsentKind.OPT_OUT, "keyword", SINCE - timedelta(seconds=1)),
        ]
        session.add_all(
            ConsentEvent(contact_id=c.id, kind=kind, source=source, created_at=at)
            for c, kind, source, at in events
        )
    with database.read() as session:
        result = overview.summarize(session, PRICES, now=NOW)
    assert result.opt_outs == 4
    assert result.opt_outs_by_source == {"keyword": 2, "api": 1, "import": 1}


def test_spend_is_the_sum_of_what_each_campaign_s_page_calls_spent(database: Database) -> None:
    with database.write() as session:
        # Sent: 2 parts delivered and 1 with Sinch; never sent: a skip and a refusal (no
        # code). The budget ledger (`spent`, committed at screening) is not what is summed.
        first = add_campaign(
            session,
            [
                delivered(day(1)) | {"parts": 2},
                {"status": S.ACCEPTED, "sent_at": day(2)},
                {"status": S.SKIPPED, "error": "opted_out"},
                {"status": S.FAILED, "updated_at": day(2)},
            ],
            spent=9.0,
        )
        reply = add_campaign(
            session, [delivered(day(29))], kind=CampaignKind.REPLY, launched_at=day(29)
        )
        add_campaign(session, [delivered(day(0))], launched_at=SINCE - timedelta(seconds=1))
        add_campaign(session, status=CampaignStatus.DRAFT, launched_at=None)
    with database.read() as session:
        spent = overview.summarize(session, PRICES, now=NOW).spent
        pages = [figures.campaign_figures(session, c, PRICES).spent for c in (first, reply)]
    assert spent == 1.0 == sum(pages)


def test_an_empty_database_has_a_window_of_zeros(database: Database) -> None:
    with database.read() as session:
        result = overview.summarize(session, PRICES, now=NOW)
    assert [d.outcomes for d in result.days] == [0] * 30
    assert result.delivery_rate is None
    assert (result.recent, result.opt_outs, result.opt_outs_by_source) == ([], 0, {})
    assert result.spent == 0.0


def test_campaign_rows_are_newest_first_with_their_delivery_rate(database: Database) -> None:
    with database.write() as session:
        first = add_campaign(session, [delivered(day(1)), failed(day(1)), {"status": S.QUEUED}])
        add_campaign(session, [delivered(day(1))], kind=CampaignKind.REPLY)
        add_campaign(session, [delivered(day(1))], kind=CampaignKind.TEST)
        draft = add_campaign(session, status=CampaignStatus.DRAFT, launched_at=None)
        skipped = add_campaign(session, [{"status": S.SKIPPED, "error": "opted_out"}])
    with database.read() as session:
        rows = overview.campaign_rows(session)
        every_kind = overview.campaign_rows(session, kinds=tuple(CampaignKind))
        older = overview.campaign_rows(session, before_id=skipped, limit=1)

    assert [r.campaign.id for r in rows] == [skipped, draft, first]
    assert [(r.delivered, r.outcomes, r.delivery_rate) for r in rows] == [
        (0, 0, None),
        (0, 0, None),
        (1, 2, 0.5),
    ]
    assert len(every_kind) == 5
    assert [r.campaign.id for r in older] == [draft]


def test_recent_campaigns_are_the_last_ten(database: Database) -> None:
    with database.write() as session:
        ids = [add_campaign(session) for _ in range(12)]
    with database.read() as session:
        recent = overview.summarize(session, PRICES, now=NOW).recent
    assert [r.campaign.id for r in recent] == ids[::-1][:10]


def test_a_drafts_audience_names_its_lists_and_segments(database: Database) -> None:
    with database.write() as session:
        spring, vip = ContactList(name="Spring"), ContactList(name="A VIP")
        french = Segment(name="French", rules={})
        session.add_all([spring, vip, french])
        session.flush()
        campaign_id = add_campaign(
            session,
            status=CampaignStatus.DRAFT,
            recipient_count=3,
            audience={"lists": [spring.id, vip.id], "segments": [french.id, french.id + 1]},
        )
    with database.read() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        audience = overview.draft_audience(session, campaign)
    assert audience == overview.Audience(
        numbers=3,
        lists=[(vip.id, "A VIP"), (spring.id, "Spring")],
        # A copy of a campaign whose segment was deleted since still says so.
        segments=[(french.id, "French"), (french.id + 1, f"deleted segment {french.id + 1}")],
    )


def test_skip_reasons_are_explained() -> None:
    assert overview.describe_skip("opted_out") == "Opted out of your messages"
    assert overview.describe_skip("cancelled").startswith("The campaign was cancelled")
    assert overview.describe_skip("something_new") == "Something new"
