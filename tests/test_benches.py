"""The benchmarks' own set-up: a benchmark that cannot start measures nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from bench import flows as flows_bench
from bench import forms, outbound, webhooks
from bench.common import numbers
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.servers import serving

from textcast.config import load_settings
from textcast.db import Database
from textcast.domain import flows
from textcast.models import (
    Batch,
    BatchState,
    Campaign,
    CampaignKind,
    Message,
    MessageStatus,
    Signup,
)
from textcast.runtime import sending_policy
from textcast.web.app import create_app


def test_the_webhooks_benchmark_starts_from_a_sent_campaign_named_as_its_script_expects(
    database_url: str,
) -> None:
    """Its Lua script reports on number i as a recipient of batch BENCH<i // 1000>."""
    webhooks.prepare(database_url, 2_500)
    database = Database(database_url)
    try:
        with database.read() as session:
            batches = session.execute(
                select(Batch.provider_batch_id, Batch.recipient_count, Batch.state).order_by(
                    Batch.provider_batch_id
                )
            ).all()
            batch_of = dict(
                session.execute(
                    select(Message.phone, Batch.provider_batch_id).join(
                        Batch, Batch.id == Message.batch_id
                    )
                ).all()
            )
            statuses = set(session.scalars(select(Message.status)))
    finally:
        database.dispose()
    assert [tuple(row) for row in batches] == [
        ("BENCH000000", 1000, BatchState.ACCEPTED),
        ("BENCH000001", 1000, BatchState.ACCEPTED),
        ("BENCH000002", 500, BatchState.ACCEPTED),
    ]
    assert statuses == {MessageStatus.ACCEPTED}
    assert {phone: batch_of[phone] for phone in numbers(2_500)} == {
        phone: f"BENCH{i // 1000:06d}" for i, phone in enumerate(numbers(2_500))
    }


def test_the_forms_benchmark_posts_what_its_form_takes_and_each_is_stored(
    database_url: str,
) -> None:
    """wrk's request (the Lua script's body, with its limits) is a sign-up, not a refusal."""
    forms.prepare(database_url)
    limits = {name.lower(): value for name, value in forms.LIMITS.items()}
    settings = load_settings(database_url=database_url, **limits)
    body = "phone=%2B12015550000&first_name=Ana&company_website="  # as the Lua script builds it
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        for n in range(3):
            answer = client.post(
                f"/join/{forms.SLUG}",
                content=body.replace("0000", f"{n:04d}"),
                headers={"content-type": "application/x-www-form-urlencoded"},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.text
    database = Database(database_url)
    try:
        with database.read() as session:
            stored = list(session.scalars(select(Signup.confirmation_campaign_id)))
    finally:
        database.dispose()
    assert len(stored) == 3 and all(stored)


def test_the_flows_benchmark_enters_every_contact_and_ends_their_wait_all_at_once(
    database_url: str,
) -> None:
    """What it counts (runs resting in the wait, then none active) is what the engine does
    with the runs it writes."""
    flow_id = flows_bench.prepare(database_url, 30)
    policy = sending_policy(load_settings(database_url=database_url))
    now = datetime.now(UTC)
    database = Database(database_url)
    try:
        assert flows_bench.enter_everyone(database, flow_id, now) == 30
        with database.write() as session:
            assert flows.advance_due(session, policy, now).queued == 30
        assert flows_bench.count(database, flows_bench.waiting_runs) == 30
        assert flows_bench.end_the_wait(database, now + timedelta(seconds=1)) == 30
        with database.write() as session:
            assert flows.advance_due(session, policy, now + timedelta(seconds=1)).ended == 30
        assert flows_bench.count(database, flows_bench.active_runs) == 0
        with database.read() as session:
            texts = session.execute(
                select(Message.phone, Campaign.body)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.kind == CampaignKind.FLOW)
            ).all()
    finally:
        database.dispose()
    assert sorted(texts) == sorted(
        (phone, body)
        for phone in numbers(30)
        for body in ("Welcome {{ first_name }}!", "10% off your first order this week.")
    )


def test_the_outbound_benchmark_numbers_its_events_and_its_receiver_notes_each_answer(
    database_url: str, tmp_path: Path
) -> None:
    """Latencies pair a commit time with an answer time through the event's number."""
    outbound.subscribe(database_url, "http://127.0.0.1:9/hooks")
    committed = outbound.produce(database_url, rate=1_000, seconds=0.1)
    assert len(committed) >= 50
    assert sorted(outbound.numbers_by_id(database_url).values()) == sorted(committed)
    assert outbound.pending(database_url) == len(committed)
    answered = tmp_path / "answered.txt"
    with serving(outbound.receiver_app(answered)) as url:
        posted = httpx.post(f"{url}/hooks", headers={"webhook-id": "msg_1"}, content=b"{}")
        assert posted.status_code == 204
    [line] = answered.read_text().splitlines()
    assert line.split()[0] == "msg_1"
