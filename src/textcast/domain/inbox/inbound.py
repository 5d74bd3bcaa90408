"""The inbox: what people texted back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.models import InboundMessage


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
