"""An A/B test's campaign in the reports: its figures, analytics, message list and export are
its family's (its variants' shares of the pool and its rest), the campaign list shows it once,
and a draft test's plan gives each variant's parts, cost and share of the pool as launch then
draws it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.factories import make_ab_test, numbers

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.reporting import analytics, exports, figures, messages, overview
from textcast.models import (
    AbMetric,
    Campaign,
    Contact,
    ContactStatus,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
)
from textcast.sinch.statuses import describe_code

T0 = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
"""Noon in New Jersey, where the test numbers are: inside the send window."""
POLICY = Policy(
    prices=PriceTable({"US": 0.01, "FR": 0.05}, currency="USD"),
    rules=Rules.from_table("08:00-21:00", {}),
    send_rate=10,
    short_link_base="https://go.example",
)
BODIES = (
    "Spring sale: 20% off at https://shop.example/a Reply STOP to opt out.",
    "Last day! 20% off everything at https://shop.example/b Reply STOP to opt out.",
)
FIGURES = (
    "messages",
    "skipped",
    "waiting",
    "refused",
    "sent",
    "with_sinch",
    "delivered",
    "not_delivered",
    "parts_planned",
    "parts_sent",
)


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_test(database: Database, audience: int = 100, **settings: object) -> int:
    """A text test of `BODIES` on `audience` numbers, launched at T0 (20% pool)."""
    chosen: dict[str, object] = {"metric": AbMetric.DELIVERY, **settings}
    return make_ab_test(database, POLICY, BODIES, T0, audience=audience, **chosen)


def children(session: Session, campaign_id: int) -> dict[str, Campaign]:
    """The campaign's cells by variant, and its rest as `rest`."""
    test = experiments.ab_test_of(session, campaign_id)
    assert test is not None
    found = session.scalars(select(Campaign).where(Campaign.parent_id == campaign_id))
    return {"rest" if c.id == test.rest_id else c.variant or "": c for c in found}


def message_ids(session: Session, campaign_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Message.id).where(Message.campaign_id == campaign_id).order_by(Message.id)
        )
    )


def set_status(session: Session, ids: list[int], status: MessageStatus, **values: object) -> None:
    session.execute(
        update(Message).where(Message.id.in_(ids)).values(status=status, sent_at=later(1), **values)
    )


def send_some(session: Session, campaign_id: int) -> None:
    """What the dispatcher and Sinch would have done to part of each variant's texts: each
    variant different, so a sum that takes one part twice or forgets one is seen."""
    parts = children(session, campaign_id)
    a, b = message_ids(session, parts["A"].id), message_ids(session, parts["B"].id)
    set_status(session, a[:6], MessageStatus.DELIVERED)
    set_status(session, a[6:7], MessageStatus.FAILED, status_code=34)
    never_sent: dict[int, dict[str, object]] = {a[7]: {"status": MessageStatus.FAILED}}
    # a[7] was refused at submission (no code); a[8] skipped.
    never_sent[a[8]] = {"status": MessageStatus.SKIPPED, "error": "opted_out"}
    for message_id, values in never_sent.items():
        session.execute(update(Message).where(Message.id == message_id).values(**values))
    set_status(session, b[:3], MessageStatus.DELIVERED)
    set_status(session, b[3:5], MessageStatus.ACCEPTED)
    session.execute(
        update(Link)
        .where(Link.message_id.in_(a[:2] + b[:1]))
        .values(clicks=2, unique_clicks=1, first_click_at=later(5))
    )
    for n, (cell, phone) in enumerate(
        [(parts["A"], p) for p in phones(session, a[:1])]
        + [(parts["B"], p) for p in phones(session, b[:3])]
    ):
        session.add(
            InboundMessage(
                provider_id=f"mo-{n}",
                from_phone=phone,
                to="+12015550000",
                body="Love it",
                received_at=later(10),
                campaign_id=cell.id,
            )
        )


def phones(session: Session, ids: list[int]) -> list[str]:
    return list(session.scalars(select(Message.phone).where(Message.id.in_(ids))))


def decide_for_b(database: Database, campaign_id: int) -> int:
    """The operator picks B; the rest is launched, and 5 of its texts are delivered."""
    with database.write() as session:
        experiments.decide(session, campaign_id, POLICY, now=later(60), pick="B")
        rest = children(session, campaign_id)["rest"]
        set_status(session, message_ids(session, rest.id)[:5], MessageStatus.DELIVERED)
        return rest.id


def summed(parts: list[figures.Figures]) -> dict[str, int]:
    return {name: sum(getattr(f, name) for f in parts) for name in FIGURES}


def test_a_tests_figures_are_the_sum_of_its_variants_then_of_its_rest(database: Database) -> None:
    campaign_id = make_test(database)
    with database.write() as session:
        send_some(session, campaign_id)
    with database.read() as session:
        whole = figures.campaign_figures(session, campaign_id, POLICY.prices)
        parts = children(session, campaign_id)
        cells = [figures.campaign_figures(session, parts[v].id, POLICY.prices) for v in "AB"]
        assert {name: getattr(whole, name) for name in FIGURES} == summed(cells)
        assert (whole.messages, whole.delivered, whole.refused, whole.skipped) == (20, 9, 1, 1)
        assert whole.spent == pytest.approx(sum(c.spent for c in cells)) and whole.spent > 0
    decide_for_b(database, campaign_id)
    with database.read() as session:
        whole = figures.campaign_figures(session, campaign_id, POLICY.prices)
        parts = children(session, campaign_id)
        every = [figures.campaign_figures(session, parts[v].id, POLICY.prices) for v in parts]
        assert sorted(parts) == ["A", "B", "rest"]
        assert {name: getattr(whole, name) for name in FIGURES} == summed(every)
        assert (whole.messages, whole.delivered) == (100, 14)


def test_a_tests_analytics_add_up_its_parts_and_show_them_side_by_side(
    database: Database,
) -> None:
    campaign_id = make_test(database)
    with database.write() as session:
        send_some(session, campaign_id)
    rest_id = decide_for_b(database, campaign_id)
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign_id, describe_code, POLICY)
        parts = children(session, campaign_id)
        each = {
            v: analytics.campaign_analytics(session, c.id, describe_code, POLICY)
            for v, c in parts.items()
        }
    assert result.funnel.total == 100 == sum(a.funnel.total for a in each.values())
    assert result.skipped == {"opted_out": 1}
    assert [(f.code, f.messages) for f in result.failures] == [(None, 1), (34, 1)]
    assert result.clicks.clicks == 3 == sum(a.clicks.clicks for a in each.values())
    assert result.clicks.links == sum(a.clicks.links for a in each.values()) == 100
    assert result.replies.replies == 4
    assert sum(b.sent for b in result.timeline) == result.figures.sent
    assert result.variants is not None
    side_by_side = [
        (v.label, v.sends, v.recipients, v.sent, v.delivered, v.clicks, v.replies)
        for v in result.variants
    ]
    assert side_by_side == [
        ("A", "A", 10, 7, 6, 2, 1),  # the refused one was never sent
        ("B", "B", 10, 5, 3, 1, 3),
        ("rest", "B", 80, 5, 5, 0, 0),
    ]
    assert result.variants[2].campaign_id == rest_id
    assert sum(v.sent for v in result.variants) == result.figures.sent
    assert sum(v.delivered for v in result.variants) == result.figures.delivered
    assert result.variants[0].delivery_rate == 6 / 8  # of the final outcomes, refused included
    assert all(a.variants is None for a in each.values())  # a part alone is an ordinary one


def test_an_ordinary_campaign_has_no_variants_in_its_analytics(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Plain", body="Hello", recipients=numbers(3))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, POLICY, now=T0)
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign.id, describe_code, POLICY)
    assert result.variants is None and result.funnel.total == 3


def test_the_list_shows_a_test_once_with_its_familys_counts(database: Database) -> None:
    campaign_id = make_test(database)
    draft = campaigns.CampaignDraft(name="Plain", body="Hello", recipients=numbers(3, 500))
    with database.write() as session:
        send_some(session, campaign_id)
        plain = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, plain.id, POLICY, now=T0)
        set_status(session, message_ids(session, plain.id)[:2], MessageStatus.DELIVERED)
    decide_for_b(database, campaign_id)
    with database.read() as session:
        rows = overview.campaign_rows(session)
        whole = figures.campaign_figures(session, campaign_id, POLICY.prices)
        parts = {c.id for c in children(session, campaign_id).values()}
    assert [r.campaign.id for r in rows] == [plain.id, campaign_id]
    assert not parts & {r.campaign.id for r in rows}
    test_row = rows[1]
    assert (test_row.delivered, test_row.outcomes) == (whole.delivered, whole.outcomes)
    assert (test_row.delivered, test_row.outcomes, test_row.recipients) == (14, 16, 100)
    assert (rows[0].delivered, rows[0].outcomes, rows[0].recipients) == (2, 2, 3)


def test_the_message_list_of_a_test_is_its_familys_with_each_variant(database: Database) -> None:
    campaign_id = make_test(database)
    with database.read() as session:
        rows = messages.message_rows(session, campaign_id, describe_code, POLICY.prices)
        parts = children(session, campaign_id)
        expected = {m: "A" for m in message_ids(session, parts["A"].id)}
        expected |= {m: "B" for m in message_ids(session, parts["B"].id)}
    assert {r.id: r.variant for r in rows} == expected


def test_the_export_marks_each_message_with_its_variant(database: Database) -> None:
    campaign_id = make_test(database)
    before = _exported(database, campaign_id)
    assert before[0][-1] == "variant"
    assert sorted(row[-1] for row in before[1:]) == ["A"] * 10 + ["B"] * 10
    decide_for_b(database, campaign_id)
    after = _exported(database, campaign_id)
    assert len(after) == 101
    ids = [int(row[0]) for row in after[1:]]
    assert ids == sorted(ids)
    with database.read() as session:
        parts = children(session, campaign_id)
        labels = {str(m): v for v in ("A", "B", "rest") for m in message_ids(session, parts[v].id)}
    assert {row[0]: row[-1] for row in after[1:]} == labels


def test_an_ordinary_campaigns_export_has_an_empty_variant(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Plain", body="Hello", recipients=numbers(3))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        campaigns.launch_campaign(session, campaign.id, POLICY, now=T0)
    rows = _exported(database, campaign.id)
    assert tuple(rows[0]) == exports.EXPORT_COLUMNS and rows[0][-1] == "variant"
    assert [row[-1] for row in rows[1:]] == ["", "", ""]


def _exported(database: Database, campaign_id: int) -> list[list[str]]:
    text = "".join(exports.messages_csv(database, campaign_id, describe_code, page=7))
    return list(csv.reader(io.StringIO(text)))


# -- the plan --------------------------------------------------------------------------------

SHORT = "Spring sale: 20% off today. Reply STOP to opt out."
LONG = "Spring sale! " + "Everything in the shop is 20% off until Sunday night. " * 3 + "STOP?"


def make_draft(database: Database, **test: object) -> int:
    """A draft on 70 US and 31 French numbers and an opted-out contact: a pool drawn by
    country, its prices differing, and someone launch leaves out."""
    recipients = numbers(70) + [f"+3361234{i:04d}" for i in range(31)] + ["+12015559999"]
    draft = campaigns.CampaignDraft(name="Spring", body=SHORT, recipients=recipients)
    settings: dict[str, object] = {
        "bodies": (SHORT, LONG),
        "metric": AbMetric.DELIVERY,
        "pool_percent": 20,
        **test,
    }
    with database.write() as session:
        session.add(Contact(phone="+12015559999", country="US", status=ContactStatus.UNSUBSCRIBED))
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, experiments.AbTestDraft(**settings))  # type: ignore[arg-type]
    return campaign.id


def plan_of(database: Database, campaign_id: int) -> experiments.AbTestPlan:
    with database.read() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        found = experiments.plan_test(session, campaign, POLICY, T0)
    assert found is not None
    return found


def test_the_plan_of_a_text_test_prices_each_variant_and_its_share(database: Database) -> None:
    campaign_id = make_draft(database)
    plan = plan_of(database, campaign_id)
    assert (plan.compares, plan.audience, plan.pool, plan.rest) == ("text", 101, 20, 81)
    a, b = plan.variants
    assert (a.label, a.encoding, a.parts, a.characters) == ("A", "GSM-7", 1, len(SHORT))
    assert (b.label, b.encoding, b.parts, b.characters) == ("B", "GSM-7", 2, len(LONG))
    assert b.cost_each == pytest.approx(2 * a.cost_each)  # twice the parts, the same people
    assert a.parts_each == 1 and b.parts_each == 2
    assert (a.pool, b.pool) == (10, 10)
    assert b.pool_cost == pytest.approx(2 * a.pool_cost)  # the pool dealt evenly by country
    assert b.rest_cost == pytest.approx(2 * a.rest_cost)
    # 81 in the rest: 56 US at 0.01 and 25 French at 0.05 a part.
    assert a.rest_cost == pytest.approx(56 * 0.01 + 25 * 0.05)
    assert plan.cost_at_most == pytest.approx(a.pool_cost + b.pool_cost + b.rest_cost)


def test_the_plans_pool_is_the_one_launch_draws(database: Database) -> None:
    campaign_id = make_draft(database, pool_percent=30, seed="fixed-seed")
    plan = plan_of(database, campaign_id)
    with database.write() as session:
        experiments.launch_test(session, campaign_id, POLICY, now=T0)
    with database.read() as session:
        parts = children(session, campaign_id)
        launched = [(parts[v].recipient_count, parts[v].estimated_cost) for v in "AB"]
        rest = parts["rest"].recipient_count
    planned = [(v.pool, v.pool_cost) for v in plan.variants]
    assert [n for n, _ in launched] == [n for n, _ in planned] == [15, 15]
    for (_, launched_cost), (_, planned_cost) in zip(launched, planned, strict=True):
        assert launched_cost == pytest.approx(planned_cost)
    assert rest == plan.rest == 71


def test_the_plan_of_a_send_time_test_gives_each_time_at_the_same_cost(
    database: Database,
) -> None:
    campaign_id = make_draft(database, bodies=(), send_times=("10:00", "18:00"))
    plan = plan_of(database, campaign_id)
    assert plan.compares == "send_time"
    assert [(v.label, v.send_time, v.body, v.parts) for v in plan.variants] == [
        ("A", "10:00", None, 1),
        ("B", "18:00", None, 1),
    ]
    assert plan.variants[0].cost_each == pytest.approx(plan.variants[1].cost_each)


def test_an_ordinary_draft_and_a_sent_test_have_no_test_plan(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Plain", body="Hello", recipients=numbers(3))
    with database.write() as session:
        plain = campaigns.create_campaign(session, draft, "US")
    campaign_id = make_draft(database)
    with database.write() as session:
        experiments.launch_test(session, campaign_id, POLICY, now=T0)
    with database.read() as session:
        for found in (plain.id, campaign_id):
            campaign = campaigns.get_campaign(session, found)
            assert experiments.plan_test(session, campaign, POLICY, T0) is None


def test_a_send_time_tests_wait_is_each_variants_time(database: Database) -> None:
    """Launched at noon in New Jersey: A waits for 10:00 tomorrow there, B for 18:00 today."""
    draft = campaigns.CampaignDraft(name="Timed", body="Sale today", recipients=numbers(100))
    test = experiments.AbTestDraft(send_times=("10:00", "18:00"), metric=AbMetric.DELIVERY)
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, test)
        experiments.launch_test(session, campaign.id, POLICY, now=T0)
    with database.read() as session:
        result = analytics.campaign_analytics(session, campaign.id, describe_code, POLICY, now=T0)
    waits = [(w.reason, w.messages, w.local_time) for w in result.waiting]
    assert waits == [("local_send_time", 10, "18:00"), ("local_send_time", 10, "10:00")]
    assert "send time in the recipients' own time zone" in result.waiting[0].text
