"""What each variant's texts achieved so far under the test's metric: the texts handed to
Sinch (the trials; for the delivery rate, those with a final report) and, among them, the
successes.

Clicks, replies and events count within the test's window after each text was sent, and only
up to `now`, so that a decision taken late (after a restart) sees what it would have seen on
time, and tests can move the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, select
from sqlalchemy.orm import Session

from textcast.models import (
    AbMetric,
    AbTest,
    Event,
    InboundMessage,
    Link,
    Message,
    MessageStatus,
)
from textcast.vocabulary import OUTCOMES


@dataclass(frozen=True, slots=True)
class Tally:
    sent: int = 0
    successes: int = 0


def tally(
    session: Session, test: AbTest, cell_ids: Sequence[int], now: datetime
) -> dict[int, Tally]:
    """Each cell's texts sent and successes, by cell id (cells with nothing sent: zeros)."""
    if not cell_ids:
        return {}
    sent = dict(session.execute(_trials(test, cell_ids, now)).all())
    won = dict(session.execute(_successes(session, test, cell_ids, now)).all())
    return {
        cell: Tally(int(sent.get(cell, 0)), min(int(won.get(cell, 0)), int(sent.get(cell, 0))))
        for cell in cell_ids
    }


def _trials(test: AbTest, cell_ids: Sequence[int], now: datetime) -> Any:
    """Texts handed to Sinch by `now`; for the delivery rate, texts with a final report (as
    every delivery rate of textcast is counted: delivered / final outcomes)."""
    query = select(Message.campaign_id, func.count()).where(Message.campaign_id.in_(cell_ids))
    if test.metric == AbMetric.DELIVERY:
        query = query.where(Message.status.in_(OUTCOMES), Message.updated_at <= now)
    else:
        query = query.where(Message.sent_at.is_not(None), Message.sent_at <= now)
    return query.group_by(Message.campaign_id)


def _successes(session: Session, test: AbTest, cell_ids: Sequence[int], now: datetime) -> Any:
    sent = (Message.campaign_id.in_(cell_ids), Message.sent_at.is_not(None), Message.sent_at <= now)
    each = func.count(Message.id.distinct())
    if test.metric == AbMetric.DELIVERY:
        return (
            select(Message.campaign_id, func.count())
            .where(
                Message.campaign_id.in_(cell_ids),
                Message.status == MessageStatus.DELIVERED,
                Message.updated_at <= now,
            )
            .group_by(Message.campaign_id)
        )
    end = _plus_hours(session, Message.sent_at, test.window_hours)
    if test.metric == AbMetric.CLICKS:
        clicked = Link.first_click_at
        return (
            select(Message.campaign_id, each)
            .join(
                Link, and_(Link.campaign_id == Message.campaign_id, Link.message_id == Message.id)
            )
            .where(*sent, clicked.is_not(None), clicked <= now, clicked <= end)
            .group_by(Message.campaign_id)
        )
    if test.metric == AbMetric.REPLIES:
        received = InboundMessage.received_at
        return (
            select(Message.campaign_id, each)
            .join(InboundMessage, InboundMessage.from_phone == Message.phone)
            .where(
                *sent,
                # STOP, HELP and the other keywords are not answers to the text.
                InboundMessage.keyword.is_(None),
                received >= Message.sent_at,
                received <= now,
                received <= end,
            )
            .group_by(Message.campaign_id)
        )
    occurred = Event.occurred_at
    return (
        select(Message.campaign_id, each)
        .join(Event, Event.phone == Message.phone)
        .where(
            *sent,
            Event.name == (test.event_name or ""),
            occurred >= Message.sent_at,
            occurred <= now,
            occurred <= end,
        )
        .group_by(Message.campaign_id)
    )


def _plus_hours(session: Session, moment: Any, hours: int) -> ColumnElement[Any]:
    """`moment` plus `hours`, in SQL (SQLite keeps UTC as text, which compares in order)."""
    if session.get_bind().dialect.name == "postgresql":
        later: ColumnElement[Any] = moment + literal_column(f"interval '{int(hours)} hours'")
        return later
    return func.datetime(moment, f"+{int(hours)} hours")
