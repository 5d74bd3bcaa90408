"""Erasing a contact leaves nothing of it in the flows' tables either."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.factories import numbers
from tests.flows.helpers import SECRET, START, advance, contact, flow, policy, runs_of

from textcast.db import Database
from textcast.domain import flows
from textcast.domain.audience import erasure
from textcast.models import Base, Event


def test_erasing_a_contact_leaves_neither_its_number_nor_its_events_properties(
    database: Database,
) -> None:
    flow(
        database,
        {
            "trigger": {"type": "event", "event": "order_placed"},
            "steps": [
                {"id": "thanks", "type": "send", "body": "Thanks! {{ event.tracking }}"},
                {"id": "rest", "type": "wait", "for": "1d"},
            ],
        },
    )
    phone = numbers(1)[0]
    ana = contact(database, phone)
    with database.write() as session:
        flows.record_event(
            session,
            flows.EventInput(
                "order_placed",
                phone=phone,
                properties={"email": "ana@example.com", "tracking": "T1"},
            ),
            "US",
            SECRET,
            START,
        )
    advance(database, policy(), START)
    assert len(runs_of(database)) == 1
    with database.write() as session:
        erasure.erase_contact(session, SECRET, ana)
    traces = []
    with database.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                text = " ".join(str(value) for value in row)
                traces += [table.name for s in (phone[1:], "ana@example.com") if s in text]
        assert session.scalar(select(func.count()).select_from(Event)) == 0
    assert traces == []
    assert runs_of(database) == []
