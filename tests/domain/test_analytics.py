import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.campaigns.drafts import new_reference
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.errors import NotFound
from textcast.domain.reporting import analytics, exports
from textcast.domain.reporting.analytics import Bucket, Clicks, Cost, FailureCode, Replies
from textcast.models import (
    Campaign,
    CampaignStatus,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
)
from textcast.sinch.statuses import describe_code

S = MessageStatus
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
POLICY = Policy(
    prices=PriceTable({"US": 0.01}, currency="USD"),
    rules=Rules.from_table("08:00-21:00", {}),
    send_rate=10,
)
"""A part to the US (the test's numbers) at 0.01."""


def at(minutes: int, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


@dataclass
class Outbox:
    """Messages written straight into the table, each with what the test says about it."""

    session: Session
    campaign: Campaign
    phones: Iterator[str] = field(default_factory=lambda: iter(numbers(1000)))

    def add(
        self,
        status: MessageStatus,
        count: int = 1,
        *,
        parts: int = 1,
        code: int | None = None,
        error: str | None = None,
        sent_at: datetime | None = None,
        operator_at: datetime | None = None,
        updated_at: datetime = T0,
    ) -> None:
        for _ in range(count):
            self.session.add(
                Message(
                    campaign_id=self.campaign.id,
                    phone=next(self.phones),
                    status=status,
                    parts=parts,
                    status_code=code,
                    error=error,
                    sent_at=sent_at,
                    operator_status_at=operator_at,
                    created_at=T0,
                    updated_at=updated_at,
                )
            )
        self.session.flush()


def make_campaign(session: Session, **values: object) -> Campaign:
    defaults: dict[str, object] = {"status": CampaignStatus.SENDING, "launched_at": T0}
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
    return campaign


def inbound(session: Session, campaign: Campaign | None, keyword: str | None, n: int) -> None:
    session.add(
        InboundMessage(
            provider_id=f"mo-{n}",
            from_phone=numbers(1, start=n)[0],
            to="12017777777",
            body=keyword or "thanks!",
            received_at=at(5),
            campaign_id=campaign.id if campaign else None,
            keyword=keyword,
        )
    )


@pytest.fixture
def campaign_id(database: Database) -> int:
    """A campaign in every state, beside another campaign whose rows must not count."""
    with database.write() as session:
        campaign = make_campaign(session, estimated_cost=1.25, budget=5.0, spent=0.75)
        out = Outbox(session, campaign)
        out.add(S.QUEUED, 2)
        out.add(S.DEFERRED)
        out.add(S.SUBMITTING)
        out.add(S.ACCEPTED, 2, parts=2, sent_at=at(0, 15))
        out.add(S.DISPATCHED, code=401, sent_at=at(0, 45), updated_at=at(1))
        # Delivered: 3 with the operator's time, 2 without (then our updated_at counts).
        out.add(S.DELIVERED, 3, parts=2, code=0, sent_at=at(0, 15), operator_at=at(2, 30))
        out.add(S.DELIVERED, 2, code=0, sent_at=at(1, 5), updated_at=at(3, 59))
        out.add(S.FAILED, 2, code=34, sent_at=at(1, 5), operator_at=at(2, 1))
        out.add(S.FAILED, 3, error="403: plan blocked", updated_at=at(0, 10))  # refused
        out.add(S.ABORTED, code=402, sent_at=at(1, 5), operator_at=at(3))
        out.add(S.ABORTED, 2, code=405, sent_at=at(1, 5), operator_at=at(3))
        out.add(S.EXPIRED, code=6, sent_at=at(1, 5), updated_at=at(3, 30))
        out.add(S.REJECTED, code=11, sent_at=at(1, 5), operator_at=at(2, 59))
        out.add(S.CANCELLED, code=407, sent_at=at(1, 5), operator_at=at(3))
        out.add(S.DELETED, code=3, sent_at=at(1, 5), operator_at=at(3))
        out.add(S.UNKNOWN, code=9999, sent_at=at(1, 5), operator_at=at(3))
        out.add(S.SKIPPED, 3, error="opted_out", updated_at=at(0, 20))
        out.add(S.SKIPPED, 2, error="quiet_hours_expired", updated_at=at(0, 20))
        out.add(S.SKIPPED, error="missing_merge_field")
        out.add(S.SKIPPED, error="budget")
        out.add(S.SKIPPED)

        other = make_campaign(session, spent=9.0)
        others = Outbox(session, other)
        others.add(S.DELIVERED, 4, code=0, sent_at=at(0, 15), operator_at=at(2, 30))
        others.add(S.SKIPPED, error="opted_out")

        for n, keyword in enumerate(["opt_out", "opt_out", "help", "opt_in", None, None, None]):
            inbound(session, campaign, keyword, n)
        inbound(session, other, None, 10)
        inbound(session, None, "opt_out", 11)

        for code, clicks, unique in [("a1", 0, 0), ("a2", 3, 2), ("a3", 1, 1), ("a4", 0, 0)]:
            session.add(
                Link(
                    code=code,
                    campaign_id=campaign.id,
                    url="https://x.test",
                    clicks=clicks,
                    unique_clicks=unique,
                )
            )
        session.add(
            Link(code="b1", campaign_id=other.id, url="https://y.test", clicks=7, unique_clicks=7)
        )
        return campaign.id


def test_funnel_counts_every_state_once(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        funnel = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY).funnel
    assert funnel.total == 33
    assert funnel.queued == 4  # queued, deferred, submitting
    assert funnel.in_flight == 3
    # In flight 3 + delivered 5 + undelivered with a code 10; the 3 refused never left.
    assert funnel.sent == 18
    assert (funnel.delivered, funnel.failed, funnel.refused) == (5, 5, 3)
    assert (funnel.expired, funnel.rejected, funnel.aborted) == (1, 1, 3)
    assert (funnel.cancelled, funnel.deleted, funnel.unknown) == (1, 1, 1)
    assert funnel.skipped == 8
    assert funnel.by_status == {
        "queued": 2,
        "deferred": 1,
        "submitting": 1,
        "accepted": 2,
        "dispatched": 1,
        "delivered": 5,
        "failed": 5,
        "aborted": 3,
        "expired": 1,
        "rejected": 1,
        "cancelled": 1,
        "deleted": 1,
        "unknown": 1,
        "skipped": 8,
    }


def test_failures_are_grouped_by_status_and_code_with_sinch_meanings(
    database: Database, campaign_id: int
) -> None:
    with database.read() as session:
        failures = analytics.campaign_analytics(
            session, campaign_id, describe_code, POLICY
        ).failures
    refused = "Sinch's API refused the batch at submission; the message's error says why"
    operator = "An SMPP or operator error reported by the SMSC"
    assert failures == [
        FailureCode("failed", None, "Refused", refused, 3),
        FailureCode(
            "aborted",
            405,
            "Unmatched parameter",
            "A ${parameter} had no value and no default for this recipient",
            2,
        ),
        FailureCode("failed", 34, "Operator error 34", operator, 2),
        FailureCode(
            "aborted",
            402,
            "Message unroutable",
            "The SMSC rejected the message; a retry will fail the same way",
            1,
        ),
        FailureCode("cancelled", 407, "Cancelled", "Cancelled by the user", 1),
        FailureCode("deleted", 3, "Operator error 3", operator, 1),
        FailureCode("expired", 6, "Operator error 6", operator, 1),
        FailureCode("rejected", 11, "Operator error 11", operator, 1),
        FailureCode("unknown", 9999, "Code 9999", "Not in Sinch's documented codes", 1),
    ]


def test_skipped_messages_are_grouped_by_reason(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        skipped = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY).skipped
    assert skipped == {
        "opted_out": 3,
        "quiet_hours_expired": 2,
        "budget": 1,
        "missing_merge_field": 1,
        "unspecified": 1,
    }


def test_delivery_rate_counts_final_outcomes_only(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY)
    # 5 delivered of 18 outcomes: 5 + failed 5 + aborted 3 + 5 others; skipped and
    # still-moving messages are not outcomes.
    assert result.delivery_rate == 5 / 18


def test_replies_attributed_to_the_campaign_by_keyword(
    database: Database, campaign_id: int
) -> None:
    with database.read() as session:
        replies = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY).replies
    assert replies == Replies(opt_outs=2, keywords={"help": 1, "opt_in": 1}, replies=3)


def test_cost_compares_the_estimate_with_parts_sent(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        cost = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY).cost
    # Planned: every message but the 8 skipped: 25 messages, 5 of them with 2 parts.
    # Sent: accepted 2x2 + dispatched 1 + delivered 3x2 + 2 + 10 undelivered with a code.
    # Spent: the parts sent at 0.01; the budget's ledger (what screening reserved) apart.
    assert cost == Cost(
        estimated=1.25,
        budget=5.0,
        spent=0.23,
        parts_planned=30,
        parts_sent=23,
        committed=0.75,
    )


def test_timeline_counts_per_bucket_sent_and_settled(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY)
    # From the first refusal at 0:10 to the last delivery at 3:59: under 5 minutes, so
    # buckets of 5 seconds, cut in SQL.
    assert result.timeline_bucket_seconds == 5
    assert result.timeline == [
        Bucket(at(0, 10), sent=0, delivered=0, undelivered=3),  # the 3 refused
        # Sent: 2 accepted + 3 delivered at 0:15, 1 dispatched at 0:45.
        Bucket(at(0, 15), sent=5, delivered=0, undelivered=0),
        Bucket(at(0, 45), sent=1, delivered=0, undelivered=0),
        # Sent at 1:05: 2 delivered, 2 failed, 3 aborted, 5 others.
        Bucket(at(1, 5), sent=12, delivered=0, undelivered=0),
        Bucket(at(2, 0), sent=0, delivered=0, undelivered=2),  # failed at 2:01
        Bucket(at(2, 30), sent=0, delivered=3, undelivered=0),
        Bucket(at(2, 55), sent=0, delivered=0, undelivered=1),  # rejected at 2:59
        # Aborted 3, cancelled, deleted, unknown at 3:00, expired at 3:30 (updated_at), and
        # 2 delivered without the operator's time, by updated_at 3:59.
        Bucket(at(3, 0), sent=0, delivered=0, undelivered=6),
        Bucket(at(3, 30), sent=0, delivered=0, undelivered=1),
        Bucket(at(3, 55), sent=0, delivered=2, undelivered=0),
    ]


@pytest.mark.parametrize(
    ("span", "width"),
    [
        (timedelta(0), 1),
        (timedelta(seconds=59), 1),  # a short send: seconds
        (timedelta(seconds=60), 2),
        (timedelta(minutes=9, seconds=59), 10),
        (timedelta(minutes=30), 60),  # minutes up to an hour
        (timedelta(minutes=59), 60),
        (timedelta(hours=1), 120),
        (timedelta(hours=2), 300),
        (timedelta(hours=9), 600),
        (timedelta(hours=29), 1800),
        (timedelta(days=4), 7200),
        (timedelta(days=29), 43200),
        (timedelta(days=30), 86400),
        (timedelta(days=400), 86400),  # a day at most
    ],
)
def test_the_bucket_grows_with_the_span(span: timedelta, width: int) -> None:
    assert analytics.bucket_seconds(span) == width


@pytest.mark.parametrize(
    ("sent", "width", "expected"),
    [
        # Sent over 4 seconds: one bucket per second.
        (
            [at(0, 0), at(0, 1), at(0, 1), at(0, 3)],
            1,
            [
                Bucket(at(0, 0), 1, 0, 0),
                Bucket(at(0, 1), 2, 1, 0),
                Bucket(at(0, 2), 0, 1, 0),
                Bucket(at(0, 3), 1, 0, 1),
                Bucket(at(0, 4), 0, 1, 0),
            ],
        ),
        # Over 4 minutes: 5 seconds.
        (
            [at(0, 4), at(0, 7), at(4, 0)],
            5,
            [Bucket(at(0, 0), 1, 0, 0), Bucket(at(0, 5), 1, 1, 1), Bucket(at(4, 0), 1, 1, 0)],
        ),
        # Over 50 minutes: minutes.
        (
            [at(0, 30), at(1, 59), at(50, 1)],
            60,
            [
                Bucket(at(0), 1, 1, 0),
                Bucket(at(1), 1, 0, 0),
                Bucket(at(2), 0, 0, 1),
                Bucket(at(50), 1, 1, 0),
            ],
        ),
        # Over 4 hours: 5 minutes, summed from minutes.
        (
            [at(3), at(4, 59), at(4 * 60 + 3)],
            300,
            [Bucket(at(0), 2, 1, 0), Bucket(at(5), 0, 0, 1), Bucket(at(4 * 60), 1, 1, 0)],
        ),
        # Over 70 days: days, from midnight UTC.
        (
            [at(0), at(70 * 24 * 60)],
            86400,
            [
                Bucket(datetime(2026, 5, 1, tzinfo=UTC), 1, 1, 0),
                Bucket(datetime(2026, 7, 10, tzinfo=UTC), 1, 0, 1),
            ],
        ),
    ],
)
def test_the_timeline_is_cut_into_buckets_on_both_engines(
    database: Database, sent: list[datetime], width: int, expected: list[Bucket]
) -> None:
    """Each message is delivered a second after it is sent, but the second one fails two
    seconds after it is sent."""
    with database.write() as session:
        campaign = make_campaign(session)
        out = Outbox(session, campaign)
        for n, moment in enumerate(sent):
            if n == 1:
                out.add(
                    S.FAILED, code=34, sent_at=moment, operator_at=moment + timedelta(seconds=2)
                )
            else:
                out.add(
                    S.DELIVERED, code=0, sent_at=moment, operator_at=moment + timedelta(seconds=1)
                )
        campaign_id = campaign.id
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY)
    assert (result.timeline_bucket_seconds, result.timeline) == (width, expected)


def test_clicks_count_the_campaign_links(database: Database, campaign_id: int) -> None:
    with database.read() as session:
        clicks = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY).clicks
    assert clicks == Clicks(links=4, clicked_links=2, clicks=3, requests=4)


def test_a_campaign_without_messages_has_zeros_and_no_rate(database: Database) -> None:
    with database.write() as session:
        campaign_id = make_campaign(session, status=CampaignStatus.DRAFT).id
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY)
    assert result.funnel.total == result.funnel.sent == 0
    assert result.funnel.by_status == {}
    assert result.delivery_rate is None
    assert (result.failures, result.skipped, result.timeline) == ([], {}, [])
    assert result.replies == Replies(0, {}, 0)
    assert result.cost == Cost(None, None, 0.0, 0, 0, 0.0)
    assert result.clicks == Clicks(0, 0, 0, 0)


def test_an_unknown_campaign_is_not_found(database: Database) -> None:
    with database.read() as session, pytest.raises(NotFound):
        analytics.campaign_analytics(session, 404, describe_code, POLICY)


def test_export_pages_through_every_message_in_id_order(
    database: Database, campaign_id: int
) -> None:
    text = "".join(exports.messages_csv(database, campaign_id, describe_code, page=7))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 33
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert tuple(rows[0]) == exports.EXPORT_COLUMNS
    by_status = {r["status"]: r for r in reversed(rows)}  # the first of each status
    delivered = by_status["delivered"]
    assert (delivered["status_code"], delivered["code_meaning"]) == ("0", "Delivered")
    assert delivered["sent_at"] == "2026-05-01T10:00:15+00:00"
    refused = next(r for r in rows if r["reason"] == "403: plan blocked")
    assert (refused["status_code"], refused["code_meaning"]) == ("", "Refused")
    skipped = by_status["skipped"]
    assert (skipped["code_meaning"], skipped["sent_at"]) == ("", "")
    queued = by_status["queued"]
    assert (queued["status_code"], queued["code_meaning"], queued["reason"]) == ("", "", "")


def test_export_keeps_texts_from_running_as_spreadsheet_formulas(database: Database) -> None:
    with database.write() as session:
        campaign = make_campaign(session)
        Outbox(session, campaign).add(S.FAILED, error="=HYPERLINK(1)")
    text = "".join(exports.messages_csv(database, campaign.id, describe_code))
    [row] = csv.DictReader(io.StringIO(text))
    assert row["reason"] == "'=HYPERLINK(1)"
