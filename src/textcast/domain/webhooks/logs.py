"""The delivery log of a subscription: its deliveries newest first, one with its attempts,
and how many are in each status.

The counts and the list read the same rows (`_of_subscription`), so a page that shows
"3 failed" lists exactly three failed deliveries under that filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from textcast.domain.errors import NotFound
from textcast.domain.webhooks.subscriptions import get_subscription
from textcast.models import (
    DeliveryStatus,
    EventType,
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
)


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    event_type: EventType
    webhook_id: str
    """The event's `webhook-id`: the same for every delivery (and replay) of it."""


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    logged: LoggedDelivery
    body: str
    """The exact JSON every attempt posts."""
    attempts: list[WebhookAttempt]
    """Oldest first."""


def _of_subscription(
    subscription_id: int, status: DeliveryStatus | None
) -> Select[WebhookDelivery, EventType, str]:
    query = (
        select(WebhookDelivery, OutboundEvent.type, OutboundEvent.public_id)
        .join(OutboundEvent, OutboundEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return query


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    status: DeliveryStatus | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[LoggedDelivery]:
    """Newest first; `before_id` pages on to older ones."""
    get_subscription(session, subscription_id)
    query = _of_subscription(subscription_id, status).order_by(WebhookDelivery.id.desc())
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return [
        LoggedDelivery(row[0], EventType(row[1]), row[2])
        for row in session.execute(query.limit(limit))
    ]


def status_counts(session: Session, subscription_id: int) -> dict[DeliveryStatus, int]:
    """Deliveries per status (each status present, 0 when none): what `list_deliveries`
    lists under each filter."""
    inner = _of_subscription(subscription_id, None).subquery()
    counted = dict.fromkeys(DeliveryStatus, 0)
    for status, count in session.execute(
        select(inner.c.status, func.count()).group_by(inner.c.status)
    ):
        counted[DeliveryStatus(status)] = count
    return counted


def get_delivery(session: Session, subscription_id: int, delivery_id: int) -> DeliveryDetail:
    found = session.execute(
        select(WebhookDelivery, OutboundEvent)
        .join(OutboundEvent, OutboundEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
    ).first()
    if found is None:
        get_subscription(session, subscription_id)
        raise NotFound("delivery", delivery_id)
    delivery, event = found
    attempts = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    ).all()
    logged = LoggedDelivery(delivery, EventType(event.type), event.public_id)
    return DeliveryDetail(logged, event.body, list(attempts))


def last_deliveries(session: Session) -> dict[int, WebhookDelivery]:
    """Each subscription's newest delivery, by subscription id (none: not there)."""
    newest = select(func.max(WebhookDelivery.id)).group_by(WebhookDelivery.subscription_id)
    rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(newest)))
    return {d.subscription_id: d for d in rows}


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """The attempts of these deliveries (a page of the log), oldest first, by delivery id."""
    found: dict[int, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.id)
        ):
            found[attempt.delivery_id].append(attempt)
    return found
