"""The inbox: what people texted back, and whose texts they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from textcast.domain.errors import NotFound
from textcast.models import Conversation, InboundMessage


@dataclass(frozen=True, slots=True)
class InboxFilter:
    contact_id: int | None = None
    campaign_id: int | None = None
    replies_only: bool = False
    """Leave out STOP/START/HELP."""


def list_inbound(
    session: Session, where: InboxFilter, *, before_id: int | None = None, limit: int = 100
) -> list[InboundMessage]:
    """Newest first; `before_id` pages backwards."""
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(InboundMessage.id < before_id)
    if where.contact_id is not None:
        query = query.where(InboundMessage.contact_id == where.contact_id)
    if where.campaign_id is not None:
        query = query.where(InboundMessage.campaign_id == where.campaign_id)
    if where.replies_only:
        query = query.where(InboundMessage.keyword.is_(None))
    return list(session.scalars(query))


def get_inbound(session: Session, inbound_id: int) -> InboundMessage:
    message = session.get(InboundMessage, inbound_id)
    if message is None:
        raise NotFound("text", inbound_id)
    return message


def link_sender(session: Session, phone: str, contact_id: int) -> int:
    """The texts from `phone` that belonged to nobody become the contact's, and its thread
    too; how many texts."""
    session.execute(
        update(Conversation)
        .where(Conversation.phone == phone)
        .values(contact_id=contact_id)
        .execution_options(synchronize_session=False)
    )
    linked = session.execute(
        update(InboundMessage)
        .where(InboundMessage.from_phone == phone, InboundMessage.contact_id.is_(None))
        .values(contact_id=contact_id)
        .execution_options(synchronize_session=False)
    )
    return max(cast(CursorResult[Any], linked).rowcount, 0)
