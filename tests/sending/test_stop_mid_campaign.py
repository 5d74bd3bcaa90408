"""STOPs arrive while a campaign is sending: once acknowledged, nothing more goes to them."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import select
from tests.factories import numbers
from tests.sending.stack import sending_stack

from textcast.db import Database
from textcast.models import Batch, Campaign, CampaignKind, Message, MessageStatus
from textcast.simulator import SimulatorConfig


def _stops_during_campaign(database_url: str, recipients: int, stops: int, rate: int) -> None:
    rng = random.Random(recipients + stops)
    audience = numbers(recipients)
    stoppers = rng.sample(audience, stops)
    simulator = SimulatorConfig(queued_delay=0.01, dispatch_delay=0.01, final_delay=0.05, seed=3)
    settings = {"send_rate": rate, "batch_size": 100, "delivery_report": "none"}
    with sending_stack(database_url, simulator, inbound=True, **settings) as stack:
        created = stack.api.post(
            "/api/v1/campaigns", json={"name": "stops", "body": "Sale!", "recipients": audience}
        ).json()
        stack.api.post(f"/api/v1/campaigns/{created['id']}/send")
        seconds = recipients / rate

        def inject() -> None:
            for number in stoppers:
                time.sleep(rng.uniform(0, 1.6 * seconds / stops))
                stack.simulator.inject_inbound(
                    number, "+12017777777", rng.choice(["STOP", "Stop.", " stop "])
                )

        injector = threading.Thread(target=inject)
        injector.start()
        injector.join()
        deadline = time.monotonic() + 120
        while len(stack.simulator.inbound_acks()) < stops or not stack.campaign_done(created["id"]):
            if time.monotonic() > deadline:
                state = stack.api.get(f"/api/v1/campaigns/{created['id']}").json()
                acked = len(stack.simulator.inbound_acks())
                raise AssertionError(
                    f"unfinished: {acked} of {stops} STOPs acknowledged, campaign "
                    f"{state['status']} with {state['counts']}"
                )
            time.sleep(0.1)
        acks = stack.simulator.inbound_acks()
        # Confirmations go out through the dispatcher too: wait until each STOP got one.
        while len(_confirmed(database_url)) < stops:
            assert time.monotonic() < deadline, "STOP confirmations unfinished"
            time.sleep(0.1)
        accepted = stack.simulator.accepted_batches()

    database = Database(database_url)
    with database.read() as session:
        reply_batches = set(
            session.scalars(
                select(Batch.id)
                .join(Campaign, Campaign.id == Batch.campaign_id)
                .where(Campaign.kind == CampaignKind.REPLY)
            )
        )
        skipped = set(
            session.scalars(
                select(Message.phone).where(
                    Message.campaign_id == created["id"], Message.status == MessageStatus.SKIPPED
                )
            )
        )
    database.dispose()

    late = [
        (ack["from"], batch.batch_id)
        for ack in acks
        for batch in accepted
        if batch.position >= ack["ledger_position_at_ack"]
        and batch.client_reference not in reply_batches
        and ack["from"] in batch.recipients
    ]
    assert late == [], "marketing accepted for a number after its STOP was acknowledged"
    before_their_turn = [a for a in acks if a["accepted_before_ack"] == 0]
    assert len(before_their_turn) >= stops // 5, "too few STOPs landed before their number's turn"
    assert {f"+{a['from']}" for a in before_their_turn} <= skipped
    replied = {r for b in accepted if b.client_reference in reply_batches for r in b.recipients}
    assert replied == {a["from"] for a in acks}, "every STOP is confirmed once"


def _confirmed(database_url: str) -> set[str]:
    database = Database(database_url)
    with database.read() as session:
        sent = set(
            session.scalars(
                select(Message.phone)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(
                    Campaign.kind == CampaignKind.REPLY, Message.status == MessageStatus.ACCEPTED
                )
            )
        )
    database.dispose()
    return sent


def test_stops_during_a_campaign_stop_every_later_message(database_url: str) -> None:
    _stops_during_campaign(database_url, recipients=5_000, stops=50, rate=1_500)


@pytest.mark.soak
def test_500_stops_during_a_50000_recipient_campaign(database_url: str) -> None:
    _stops_during_campaign(database_url, recipients=50_000, stops=500, rate=5_000)
