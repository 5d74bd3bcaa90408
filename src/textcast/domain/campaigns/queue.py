"""Where a campaign's messages wait: the claim cursor, what is still queued past it, and what is
deferred by quiet hours. Launch and progress read these; the outbox claims through them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from textcast.models import ClaimCursor, Message, MessageStatus


def cursor_of(campaign_id: QueryableAttribute[int]) -> ColumnElement[int]:
    """The claim cursor of the campaign `campaign_id` refers to, in a correlated query."""
    cursor = (
        select(ClaimCursor.claimed_through)
        .where(ClaimCursor.campaign_id == campaign_id)
        .correlate_except(ClaimCursor)  # `campaigns` is the enclosing query's, however deep
    )
    return func.coalesce(cursor.scalar_subquery(), 0)


def deferred_of(
    campaign_id: QueryableAttribute[int] | int,
) -> tuple[ColumnElement[bool], ...]:
    """A campaign's deferred messages, through the partial index that holds nothing else."""
    return (
        Message.campaign_id == campaign_id,
        Message.not_before.is_not(None),
        Message.status == MessageStatus.DEFERRED,
    )


def unclaimed(
    campaign_id: QueryableAttribute[int] | int, claimed_through: ColumnElement[int] | int
) -> tuple[ColumnElement[bool], ...]:
    """A campaign's queued messages: all of them lie past its `claimed_through`."""
    return (
        Message.campaign_id == campaign_id,
        Message.id > claimed_through,
        Message.status == MessageStatus.QUEUED,
    )
