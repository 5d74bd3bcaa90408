"""A/B tests in the domain: the pool, the launch, and the decision under a clock the tests
move, for each metric, with the fallback, a manual pick and the quota."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from tests.factories import make_ab_test, numbers

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.campaigns.send_window import Rules
from textcast.domain.errors import Conflict, InvalidInput
from textcast.domain.experiments.splits import draw_pool
from textcast.models import (
    AbFallback,
    AbMetric,
    AbState,
    Campaign,
    CampaignStatus,
    CampaignVariant,
    Event,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
)

T0 = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
"""Noon in New Jersey, where the test numbers are: inside the send window."""
POLICY = Policy(
    prices=PriceTable({"US": 0.01}, currency="USD"),
    rules=Rules.from_table("08:00-21:00", {}),
    send_rate=10,
    short_link_base="https://go.example",
)
BODIES = (
    "Spring sale: 20% off at https://shop.example/a Reply STOP to opt out.",
    "Last day! 20% off everything at https://shop.example/b Reply STOP to opt out.",
)


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- the pool ---------------------------------------------------------------------------


def test_the_pool_takes_each_countrys_share_and_deals_it_evenly() -> None:
    members = [(phone, "US") for phone in numbers(1000)]
    members += [(f"+3361234{i:04d}", "FR") for i in range(300)]
    members += [(f"+4915112{i:04d}", "DE") for i in range(7)]
    split = draw_pool(members, 3, 20, "seed-1")
    assert [len(cell) for cell in split.cells] == [87, 87, 87]  # 20% of 1,307, rounded
    assert len(split.rest) == 1307 - 261
    country = dict(members)
    by_country = [Counter(country[p] for p in cell) for cell in split.cells]
    # 200 of the US's 1,000, 60 of France's 300, 1 of Germany's 7.
    assert sum(c["US"] for c in by_country) == 200
    assert sum(c["FR"] for c in by_country) == 60
    assert sum(c["DE"] for c in by_country) == 1
    for where in ("US", "FR"):
        sizes = [c[where] for c in by_country]
        assert max(sizes) - min(sizes) <= 1
    everyone = [p for cell in split.cells for p in cell] + split.rest
    assert sorted(everyone) == sorted(country)


def test_the_same_audience_and_seed_draw_the_same_pool_in_any_order() -> None:
    members = [(phone, "US") for phone in numbers(500)]
    first = draw_pool(members, 2, 20, "seed-1")
    shuffled = members[:]
    random.Random(4).shuffle(shuffled)
    again = draw_pool(shuffled, 2, 20, "seed-1")
    assert [sorted(c) for c in again.cells] == [sorted(c) for c in first.cells]
    other = draw_pool(members, 2, 20, "seed-2")
    assert sorted(other.cells[0]) != sorted(first.cells[0])


# -- launch -------------------------------------------------------------------------------


def make_test(database: Database, audience: int = 100, **settings: object) -> int:
    return make_ab_test(database, POLICY, BODIES, T0, audience=audience, **settings)


def cells(session: Session, campaign_id: int) -> dict[str, Campaign]:
    found = session.scalars(
        select(Campaign).where(Campaign.parent_id == campaign_id, Campaign.variant.is_not(None))
    )
    return {c.variant or "": c for c in found}


def phones_of(session: Session, campaign_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Message.phone).where(Message.campaign_id == campaign_id).order_by(Message.id)
        )
    )


def test_launch_sends_each_variant_to_its_share_and_keeps_the_rest(database: Database) -> None:
    campaign_id = make_test(database)
    with database.read() as session:
        parent = session.get(Campaign, campaign_id)
        assert parent is not None and parent.status == CampaignStatus.SENDING
        assert parent.recipient_count == 100
        found = cells(session, campaign_id)
        assert sorted(found) == ["A", "B"]
        assert [found[v].recipient_count for v in "AB"] == [10, 10]
        assert found["B"].body == BODIES[1]
        assert not set(phones_of(session, found["A"].id)) & set(phones_of(session, found["B"].id))
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.state == AbState.TESTING
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None and rest.status == CampaignStatus.DRAFT
        assert rest.recipient_count == 80
        assert phones_of(session, rest.id) == []  # nothing of the rest is queued yet
        assert phones_of(session, campaign_id) == []


def test_a_pool_too_small_for_every_variant_is_refused_whole(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Tiny", body=BODIES[0], recipients=numbers(4))
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, experiments.AbTestDraft(bodies=BODIES))
    with pytest.raises(Conflict, match="too small"), database.write() as session:
        experiments.launch_test(session, campaign.id, POLICY, now=T0)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(Campaign.status).where(Campaign.id == campaign.id)) == (
            CampaignStatus.DRAFT
        )


def test_every_problem_of_a_test_is_named(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Spring", body="Hi", recipients=numbers(3))
    bad = experiments.AbTestDraft(
        bodies=("Hi {{nope}}", ""),
        pool_percent=0,
        metric=AbMetric.EVENT,
        confidence=1.0,
    )
    with pytest.raises(InvalidInput) as caught, database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(session, campaign.id, bad)
    fields = {p.field for p in caught.value.problems}
    assert {
        "variants[0].body",
        "variants[1].body",
        "test.pool_percent",
        "test.event",
        "test.confidence",
    } <= fields


def test_click_rate_needs_a_link_in_every_variant(database: Database) -> None:
    draft = campaigns.CampaignDraft(name="Spring", body="Hi", recipients=numbers(3))
    with pytest.raises(InvalidInput, match="link"), database.write() as session:
        campaign = campaigns.create_campaign(session, draft, "US")
        experiments.set_test(
            session, campaign.id, experiments.AbTestDraft(bodies=("Hi there", "Hello there"))
        )


# -- the decision ---------------------------------------------------------------------------


def hand_over(session: Session, campaign_id: int, at: datetime) -> None:
    """What the dispatcher and Sinch would do: every queued text of the pool accepted."""
    for cell in cells(session, campaign_id).values():
        session.execute(
            update(Message)
            .where(Message.campaign_id == cell.id)
            .values(status=MessageStatus.ACCEPTED, sent_at=at)
        )
    campaigns.complete_finished_campaigns(session, at)


def succeed(session: Session, metric: AbMetric, cell: Campaign, count: int, at: datetime) -> None:
    phones = phones_of(session, cell.id)[:count]
    if metric == AbMetric.CLICKS:
        ids = select(Message.id).where(Message.campaign_id == cell.id, Message.phone.in_(phones))
        session.execute(
            update(Link)
            .where(Link.message_id.in_(ids))
            .values(clicks=1, unique_clicks=1, first_click_at=at)
        )
    elif metric == AbMetric.DELIVERY:
        # Every text of the cell gets its final report: the first `count` delivered.
        session.execute(
            update(Message)
            .where(Message.campaign_id == cell.id)
            .values(status=MessageStatus.FAILED, status_code=402)
        )
        session.execute(
            update(Message)
            .where(Message.campaign_id == cell.id, Message.phone.in_(phones))
            .values(status=MessageStatus.DELIVERED, status_code=0)
        )
    elif metric == AbMetric.REPLIES:
        for n, phone in enumerate(phones):
            session.add(
                InboundMessage(
                    provider_id=f"mo-{cell.id}-{n}-{at.timestamp()}",
                    from_phone=phone,
                    to="+12015550000",
                    body="Love it",
                    received_at=at,
                )
            )
    else:
        for phone in phones:
            session.add(Event(name="order_placed", phone=phone, occurred_at=at, outcome="recorded"))


@pytest.mark.parametrize("metric", list(AbMetric))
def test_the_better_variant_wins_at_its_time_and_goes_to_the_rest(
    database: Database, metric: AbMetric
) -> None:
    campaign_id = make_test(
        database, metric=metric, event_name="order_placed" if metric == AbMetric.EVENT else None
    )
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        found = cells(session, campaign_id)
        succeed(session, metric, found["A"], 2, later(30))
        succeed(session, metric, found["B"], 9, later(30))
        if metric in (AbMetric.EVENT, AbMetric.REPLIES, AbMetric.CLICKS):
            # Outside the 24-hour window: never counted for A.
            succeed(session, metric, found["A"], 10, later(26 * 60))
    with database.write() as session:
        assert experiments.advance_tests(session, POLICY, later(200)) == []
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.state == AbState.TESTING
        assert test.decide_at == later(1) + timedelta(hours=4)
    with database.write() as session:
        assert experiments.advance_tests(session, POLICY, later(242)) == [campaign_id]
    with database.read() as session:
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None
        assert (test.state, test.winner, test.decided_by) == (AbState.DECIDED, "B", "automatic")
        assert test.decision is not None and test.decision["variants"][1]["successes"] == 9
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None and rest.status == CampaignStatus.SENDING
        assert (rest.variant, rest.body) == ("B", BODIES[1])
        assert len(phones_of(session, rest.id)) == 80
    with database.write() as session:  # a second pass changes nothing
        assert experiments.advance_tests(session, POLICY, later(300)) == []
        experiments.decide(session, campaign_id, POLICY, now=later(301))
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 100


@pytest.mark.parametrize(
    ("fallback", "state", "winner"),
    [(AbFallback.FIRST, AbState.DECIDED, "A"), (AbFallback.WAIT, AbState.WAITING, None)],
)
def test_without_a_clear_winner_the_fallback_applies(
    database: Database, fallback: AbFallback, state: AbState, winner: str | None
) -> None:
    campaign_id = make_test(database, fallback=fallback, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        found = cells(session, campaign_id)
        succeed(session, AbMetric.DELIVERY, found["A"], 8, later(5))
        succeed(session, AbMetric.DELIVERY, found["B"], 8, later(5))
    with database.write() as session:
        experiments.advance_tests(session, POLICY, later(242))
    with database.read() as session:
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and (test.state, test.winner) == (state, winner)
        assert test.decision is not None and "No variant was better" in test.decision["reason"]
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None
        sent = phones_of(session, rest.id)
        assert len(sent) == (80 if winner else 0)
    if winner is None:
        with database.write() as session:
            experiments.decide(
                session, campaign_id, POLICY, now=later(400), pick="B", picked_by="ana"
            )
        with database.read() as session:
            test = experiments.ab_test_of(session, campaign_id)
            assert test is not None and (test.state, test.winner) == (AbState.DECIDED, "B")
            assert test.decided_by == "ana"
            assert len(phones_of(session, test.rest_id or 0)) == 80


def test_too_few_texts_is_not_enough_data(database: Database) -> None:
    campaign_id = make_test(database, min_sample=50, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        succeed(session, AbMetric.DELIVERY, cells(session, campaign_id)["B"], 10, later(5))
    with database.read() as session:
        results = experiments.results_of(session, campaign_id, later(10))
        assert results is not None and not results.enough_data
        assert results.summary.startswith("Not enough data yet")
        assert [v.p_best for v in results.variants] == [None, None]
        # A's texts have no final report yet: not failures, just not counted (as every
        # delivery rate counts: delivered / final outcomes).
        assert [(v.sent, v.rate) for v in results.variants] == [(0, None), (10, 1.0)]
    with database.write() as session:
        experiments.advance_tests(session, POLICY, later(242))
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and (test.winner, test.decided_by) == ("A", "fallback")


def test_a_manual_test_waits_for_its_pick(database: Database) -> None:
    campaign_id = make_test(database, decide_after_minutes=None, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        succeed(session, AbMetric.DELIVERY, cells(session, campaign_id)["B"], 10, later(5))
    with database.write() as session:
        assert experiments.advance_tests(session, POLICY, later(60 * 24 * 30)) == []
    with pytest.raises(InvalidInput, match="one of A, B"), database.write() as session:
        experiments.decide(session, campaign_id, POLICY, now=later(61), pick="C")
    with database.write() as session:
        experiments.decide(session, campaign_id, POLICY, now=later(61), pick="A", picked_by="ana")
    with pytest.raises(Conflict, match="already chosen"), database.write() as session:
        experiments.decide(session, campaign_id, POLICY, now=later(62), pick="B")
    with database.read() as session:
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.winner == "A"
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None and rest.body == BODIES[0]


def test_a_rest_refused_by_the_quota_is_sent_once_the_quota_allows(database: Database) -> None:
    policy = Policy(
        prices=POLICY.prices,
        rules=POLICY.rules,
        send_rate=10,
        short_link_base=POLICY.short_link_base,
        daily_recipient_quota=90,
    )
    campaign_id = make_test(database, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        succeed(session, AbMetric.DELIVERY, cells(session, campaign_id)["A"], 0, later(5))
        succeed(session, AbMetric.DELIVERY, cells(session, campaign_id)["B"], 10, later(5))
    with database.write() as session:
        experiments.advance_tests(session, policy, later(242))
    with database.read() as session:
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and (test.state, test.winner) == (AbState.DECIDED, "B")
        assert test.rest_error is not None and "DAILY_RECIPIENT_QUOTA" in test.rest_error
        assert phones_of(session, test.rest_id or 0) == []
    # The pool's 20 leave the 24-hour window a day after the launch.
    with database.write() as session:
        experiments.advance_tests(session, policy, later(24 * 60 + 5))
    with database.read() as session:
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.rest_error is None
        assert len(phones_of(session, test.rest_id or 0)) == 80


def test_the_campaign_completes_only_when_the_rest_has_been_sent(database: Database) -> None:
    campaign_id = make_test(database, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        campaigns.complete_finished_campaigns(session, later(2))
        assert session.get(Campaign, campaign_id).status == CampaignStatus.SENDING  # type: ignore[union-attr]
        experiments.decide(session, campaign_id, POLICY, now=later(3), pick="A")
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None
        session.execute(
            update(Message)
            .where(Message.campaign_id == test.rest_id)
            .values(status=MessageStatus.ACCEPTED, sent_at=later(4))
        )
        campaigns.complete_finished_campaigns(session, later(5))
        campaigns.complete_finished_campaigns(session, later(5))
        assert session.get(Campaign, campaign_id).status == CampaignStatus.COMPLETED  # type: ignore[union-attr]


def test_cancelling_the_campaign_cancels_its_variants_and_the_test(database: Database) -> None:
    campaign_id = make_test(database)
    with database.write() as session:
        campaigns.cancel_campaign(session, campaign_id)
        experiments.note_cancelled(session, campaign_id)
    with database.read() as session:
        children = session.scalars(select(Campaign.status).where(Campaign.parent_id == campaign_id))
        assert set(children) == {CampaignStatus.CANCELLED}
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.state == AbState.CANCELLED
        assert set(session.scalars(select(Message.error))) == {"cancelled"}
    with pytest.raises(Conflict, match="pause, resume or cancel campaign"), database.write() as s:
        found = cells(s, campaign_id)
        campaigns.pause_campaign(s, found["A"].id)


# -- the campaigns under a test ---------------------------------------------------------------


def test_a_variants_campaign_cannot_be_run_by_itself(database: Database) -> None:
    campaign_id = make_test(database)
    with database.read() as session:
        cell = cells(session, campaign_id)["A"]
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None and test.rest_id is not None
        rest_id = test.rest_id
        listed = [c.id for c in campaigns.list_campaigns(session)]
    assert listed == [campaign_id]
    for act in (
        lambda s: campaigns.edit_campaign(s, rest_id, {"body": "Mine now"}, "US"),
        lambda s: campaigns.delete_campaign(s, rest_id),
        lambda s: campaigns.duplicate_campaign(s, cell.id),
        lambda s: campaigns.cancel_campaign(s, cell.id),
        lambda s: campaigns.resume_campaign(s, rest_id),
    ):
        with pytest.raises(Conflict, match="A/B test"), database.write() as session:
            act(session)


def test_pausing_and_resuming_the_campaign_moves_its_variants(database: Database) -> None:
    campaign_id = make_test(database)
    with database.write() as session:
        campaigns.pause_campaign(session, campaign_id)
    with database.read() as session:
        statuses = {c.variant: c.status for c in cells(session, campaign_id).values()}
        assert statuses == {"A": CampaignStatus.PAUSED, "B": CampaignStatus.PAUSED}
    with database.write() as session:
        campaigns.resume_campaign(session, campaign_id)
    with database.read() as session:
        statuses = {c.variant: c.status for c in cells(session, campaign_id).values()}
        assert statuses == {"A": CampaignStatus.SENDING, "B": CampaignStatus.SENDING}
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None and rest.status == CampaignStatus.DRAFT  # not sent by a resume


def test_a_paused_campaigns_winner_waits_paused(database: Database) -> None:
    campaign_id = make_test(database, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, campaign_id, later(1))
        campaigns.pause_campaign(session, campaign_id)
        experiments.decide(session, campaign_id, POLICY, now=later(2), pick="B")
        test = experiments.ab_test_of(session, campaign_id)
        assert test is not None
        rest = session.get(Campaign, test.rest_id)
        assert rest is not None and rest.status == CampaignStatus.PAUSED
        assert len(phones_of(session, rest.id)) == 80


def test_a_test_that_cannot_be_decided_waits_alone(database: Database) -> None:
    broken = make_test(database, metric=AbMetric.DELIVERY)
    sound = make_test(database, metric=AbMetric.DELIVERY)
    with database.write() as session:
        hand_over(session, broken, later(1))
        hand_over(session, sound, later(1))
        # Its variants gone from under it: nothing to compare.
        session.execute(delete(CampaignVariant).where(CampaignVariant.campaign_id == broken))
    with database.write() as session:
        assert experiments.advance_tests(session, POLICY, later(242)) == [sound]
    with database.read() as session:
        test = experiments.ab_test_of(session, broken)
        assert test is not None and test.state == AbState.TESTING
        assert test.decide_at == later(242) + timedelta(minutes=15)


def test_a_chance_is_never_shown_as_a_certainty() -> None:
    from textcast.domain.experiments.results import chance_words

    assert [chance_words(p) for p in (0.9996, 0.991, 0.97, 0.5, 0.009, 0.0)] == [
        "over 99%",
        "over 99%",
        "97%",
        "50%",
        "under 1%",
        "under 1%",
    ]
