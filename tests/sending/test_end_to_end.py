"""A campaign through the whole path: API, dispatcher, simulator, callbacks, webhooks."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.factories import numbers
from tests.sending.stack import sending_stack

from textcast.simulator import Faults, SimulatorConfig
from textcast.sinch.client import SinchClient
from textcast.sinch.events import message_status

FAST = {"queued_delay": 0.01, "dispatch_delay": 0.02, "final_delay": 0.1, "seed": 11}


def _sinch_counts(base_url: str, batch_ids: list[str]) -> Counter[str]:
    """Per-status totals as Sinch itself reports them, through its delivery-report API."""

    async def fetch() -> Counter[str]:
        totals: Counter[str] = Counter()
        async with SinchClient(base_url, "simulated", "simulated-token") as client:
            for batch_id in batch_ids:
                report = await client.get_delivery_report(batch_id)
                for entry in report.statuses:
                    status = message_status(entry.status)
                    assert status is not None
                    totals[status.value] += entry.count
        return totals

    return asyncio.run(fetch())


def test_2500_recipients_make_three_batches_and_every_message_ends_final(database_url: str) -> None:
    secret = "end-to-end-secret"
    with sending_stack(database_url, SimulatorConfig(webhook_secret=secret, **FAST)) as stack:  # type: ignore[arg-type]
        created = stack.api.post(
            "/api/v1/campaigns", json={"name": "e2e", "body": "Hello!", "recipients": numbers(2500)}
        ).json()
        assert stack.api.post(f"/api/v1/campaigns/{created['id']}/send").status_code == 202
        state = stack.wait_until_final(created["id"])
        ledger = stack.simulator.ledger(full=True)

        sizes = sorted(ledger.batch_recipients.values())
        if database_url.startswith("sqlite"):
            assert sizes == [500, 1000, 1000]
        else:
            # Parallel claim lanes (SKIP LOCKED) may share the last rows between two batches.
            assert sum(sizes) == 2500 and max(sizes) <= 1000 and ledger.duplicates == {}
        assert ledger.accepted_recipients == ledger.distinct_recipients == 2500
        assert all(ledger.count(n) == 1 for n in numbers(2500))
        assert state["total"] == 2500
        assert state["counts"] == dict(
            _sinch_counts(stack.simulator.base_url, list(ledger.batch_recipients))
        )
        assert set(state["counts"]) <= {"delivered", "failed", "expired"}
        assert state["status"] == "completed"


def test_a_campaign_survives_5xx_429_and_lost_answers_without_duplicates(database_url: str) -> None:
    faults = Faults(
        error_5xx=0.10, error_429=0.05, accept_then_timeout=0.02, retry_after=0.0, hang_seconds=3.0
    )
    simulator = SimulatorConfig(faults=faults, **FAST)  # type: ignore[arg-type]
    recipients = numbers(3000)
    with sending_stack(database_url, simulator, batch_size=50, sinch_timeout_seconds=1.0) as stack:
        created = stack.api.post(
            "/api/v1/campaigns", json={"name": "faults", "body": "Hi", "recipients": recipients}
        ).json()
        stack.api.post(f"/api/v1/campaigns/{created['id']}/send")
        state = stack.wait_until_final(created["id"], timeout=120)
        ledger = stack.simulator.ledger(full=True)
        stats = stack.simulator.stats()

    assert state["total"] == 3000
    assert ledger.duplicates == {}
    assert ledger.accepted_recipients == ledger.distinct_recipients == 3000
    assert all(ledger.count(n) == 1 for n in recipients)
    assert stats["faults"].get("accept_then_timeout", 0) > 0, stats
