"""An A/B test through the whole path: made and launched over the API, the pool's cells sent by
the real dispatcher to the simulator, the decision in the dispatcher's due tick, the rest sent
the winner's text; and a send-time test's cells held until their own local times."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from tests.factories import numbers
from tests.sending.stack import Stack, sending_stack

from textcast.db import Database
from textcast.domain.experiments.splits import draw_pool
from textcast.models import (
    AbFallback,
    AbMetric,
    AbState,
    AbTest,
    Campaign,
    CampaignStatus,
    Message,
)
from textcast.simulator import ALL_DELIVERED, Outcome, RunningSimulator, SimulatorConfig

AUDIENCE = 300
SEED = "end-to-end"
BODIES = (
    "Spring sale A: 20% off today. Reply STOP to opt out.",
    "Spring sale B: last day for 20% off. Reply STOP to opt out.",
)
# Reports come back at once, so that the pool's deliveries are known when the test decides.
INSTANT = {"queued_delay": 0.0, "dispatch_delay": 0.0, "final_delay": 0.0, "seed": 3}


def _create(stack: Stack, variants: list[dict[str, str]], test: dict[str, object]) -> int:
    """A draft under test, made through the API as a client would."""
    draft = {"name": "Spring", "recipients": numbers(AUDIENCE), "variants": variants, "test": test}
    if "send_time" in variants[0]:
        draft["body"] = "Spring sale: 20% off today. Reply STOP to opt out."
    created = stack.api.post("/api/v1/campaigns", json=draft)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    return campaign_id


def _texts_received(sim: RunningSimulator) -> Counter[tuple[str, str]]:
    """(number, body) of every recipient the simulator accepted."""

    def read() -> Counter[tuple[str, str]]:
        counted: Counter[tuple[str, str]] = Counter()
        for accepted in sim.state.ledger.history:
            batch = sim.state.batch(accepted.batch_id)
            assert batch is not None
            body = batch.spec.body
            counted.update((f"+{n.removeprefix('+')}", body) for n in accepted.recipients)
        return counted

    return sim.call(read)


def _wait_for(stack: Stack, campaign_id: int, wanted: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while stack.api.get(f"/api/v1/campaigns/{campaign_id}").json()["status"] != wanted:
        assert time.monotonic() < deadline, f"campaign {campaign_id} never became {wanted}"
        time.sleep(0.1)


def _children(database: Database, campaign_id: int) -> dict[str, Campaign]:
    """The cells by label, the rest as "rest"."""
    with database.read() as session:
        test = session.get(AbTest, campaign_id)
        assert test is not None
        found = session.scalars(select(Campaign).where(Campaign.parent_id == campaign_id))
        return {("rest" if c.id == test.rest_id else c.variant or ""): c for c in found}


def _phones(database: Database, campaign_id: int) -> set[str]:
    with database.read() as session:
        return set(session.scalars(select(Message.phone).where(Message.campaign_id == campaign_id)))


def test_the_pool_is_sent_the_dispatcher_decides_and_the_rest_gets_the_winners_text(
    database: Database, database_url: str
) -> None:
    audience = numbers(AUDIENCE)
    # The pool is drawn from the seed: A's share is known before the launch, and all of its
    # texts fail, so that B wins on delivery.
    split = draw_pool([(p, "US") for p in audience], 2, 20, SEED)
    dead = {p: Outcome("Failed", 11, 1.0) for p in split.cells[0]}
    settings = {
        "metric": AbMetric.DELIVERY,
        "min_sample": 10,
        "decide_after": 0,
        "fallback": AbFallback.FIRST,
        "seed": SEED,
    }
    simulator = SimulatorConfig(outcomes=ALL_DELIVERED, number_outcomes=dead, **INSTANT)  # type: ignore[arg-type]
    # A slow rate and small batches: the pool takes a moment, and B's first reports are in
    # long before its last batch is handed over.
    with sending_stack(database_url, simulator, send_rate=100, batch_size=10) as stack:
        campaign_id = _create(stack, [{"body": body} for body in BODIES], settings)
        assert stack.api.post(f"/api/v1/campaigns/{campaign_id}/send").status_code == 202
        _wait_for(stack, campaign_id, "completed")
        children = _children(database, campaign_id)
        for child in children.values():
            stack.wait_until_final(child.id)
        shown = {k: stack.api.get(f"/api/v1/campaigns/{c.id}").json() for k, c in children.items()}
        parent = stack.api.get(f"/api/v1/campaigns/{campaign_id}").json()
        texts = _texts_received(stack.simulator)
        ledger = stack.simulator.ledger(full=True)

    assert sorted(children) == ["A", "B", "rest"]
    assert _phones(database, children["A"].id) == set(split.cells[0])
    assert _phones(database, children["B"].id) == set(split.cells[1])
    with database.read() as session:
        test = session.get(AbTest, campaign_id)
        assert test is not None
        assert (test.state, test.winner, test.decided_by) == (AbState.DECIDED, "B", "automatic")
        assert test.pool_sent_at is not None and test.decided_at is not None
        assert test.decided_at >= test.pool_sent_at
        assert test.rest_error is None and test.rest_id == children["rest"].id
        decided = test.decision
        assert decided is not None
        rest_messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == test.rest_id)
        )
    assert [v["sent"] for v in decided["variants"]] == [30, 30]
    assert decided["variants"][0]["successes"] == 0
    assert decided["variants"][1]["successes"] > 0
    rest = children["rest"]
    assert (rest.variant, rest.body, rest.status) == ("B", BODIES[1], CampaignStatus.COMPLETED)
    assert rest_messages == rest.recipient_count == AUDIENCE - 60

    # Every number got exactly one text: its cell's, or the winner's for the rest.
    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == AUDIENCE
    expected = {(p, BODIES[0]): 1 for p in split.cells[0]}
    expected |= {(p, BODIES[1]): 1 for p in split.cells[1] + split.rest}
    assert dict(texts) == expected

    # The campaign under test completes with its children and counts what they sent.
    assert parent["status"] == "completed"
    assert parent["recipient_count"] == sum(c.recipient_count for c in children.values())
    assert {k: s["status"] for k, s in shown.items()} == dict.fromkeys(children, "completed")
    assert sum(s["total"] for s in shown.values()) == AUDIENCE
    assert shown["A"]["counts"] == {"failed": 30}
    assert shown["B"]["counts"] == {"delivered": 30}
    assert shown["rest"]["counts"] == {"delivered": AUDIENCE - 60}
    assert parent["total"] == parent["final"] == AUDIENCE
    assert parent["counts"] == {"failed": 30, "delivered": AUDIENCE - 30}
    for figure in ("messages", "sent", "delivered", "not_delivered", "parts_sent"):
        assert parent["figures"][figure] == sum(s["figures"][figure] for s in shown.values())
    assert parent["figures"]["spent"] == pytest.approx(
        sum(s["figures"]["spent"] for s in shown.values())
    )


def test_a_send_time_test_holds_each_cell_until_its_own_local_time(
    database: Database, database_url: str
) -> None:
    # Two times later today (or tomorrow) in New Jersey, where the numbers are: no text is due.
    new_york = ZoneInfo("America/New_York")
    local_now = datetime.now(UTC).astimezone(new_york)
    times = [(local_now + timedelta(hours=h)).strftime("%H:%M") for h in (3, 7)]
    settings = {"metric": AbMetric.DELIVERY, "min_sample": 10, "decide_after": 0, "seed": SEED}
    simulator = SimulatorConfig(outcomes=ALL_DELIVERED, **INSTANT)  # type: ignore[arg-type]
    with sending_stack(database_url, simulator) as stack:
        campaign_id = _create(stack, [{"send_time": at} for at in times], settings)
        sent = stack.api.post(f"/api/v1/campaigns/{campaign_id}/send")
        assert sent.status_code == 202, sent.text
        launched_at = datetime.now(UTC)
        time.sleep(2.0)  # several due ticks of the dispatcher
        parent = stack.api.get(f"/api/v1/campaigns/{campaign_id}").json()
        ledger = stack.simulator.ledger(full=True)

    assert ledger.accepted_recipients == 0
    assert parent["status"] == "sending"
    children = _children(database, campaign_id)
    assert sorted(children) == ["A", "B", "rest"]
    held: dict[str, set[str]] = {}
    with database.read() as session:
        for label, at in zip("AB", times, strict=True):
            cell = children[label]
            assert cell.local_send_time == at
            rows = session.execute(
                select(Message.phone, Message.not_before).where(Message.campaign_id == cell.id)
            ).all()
            assert len(rows) == cell.recipient_count == 30
            times_held = [nb for _, nb in rows if nb is not None]
            assert len(times_held) == len(rows)
            local = {nb.astimezone(new_york).strftime("%H:%M") for nb in times_held}
            assert local == {at}, f"cell {label} holds texts for {local}, not {at}"
            assert all(timedelta(0) < nb - launched_at < timedelta(hours=24) for nb in times_held)
            held[label] = {phone for phone, _ in rows}
        test = session.get(AbTest, campaign_id)
        assert test is not None and test.state == AbState.TESTING and test.pool_sent_at is None
        rest_messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.campaign_id == test.rest_id)
        )
    assert not held["A"] & held["B"]
    assert rest_messages == 0
    assert children["rest"].status == CampaignStatus.DRAFT
    assert children["rest"].recipient_count == AUDIENCE - 60
