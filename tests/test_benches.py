"""The benchmarks' own set-up: a benchmark that cannot start measures nothing."""

from __future__ import annotations

from bench import webhooks
from bench.common import numbers
from sqlalchemy import select

from textcast.db import Database
from textcast.models import Batch, BatchState, Message, MessageStatus


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
