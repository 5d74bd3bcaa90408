"""`/api/v1/webhooks`: the endpoints that receive textcast's event stream, signed the Standard
Webhooks way, with each one's delivery log, a test event and replays. Admins only: a
subscription receives every phone number its events carry.

What each event type posts is documented in the reference's `webhooks` section
(`event_schemas`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.webhooks import logs, replays, subscriptions
from textcast.domain.webhooks.addresses import MAX_URL_LENGTH
from textcast.domain.webhooks.logs import DeliveryDetail, LoggedDelivery
from textcast.domain.webhooks.replays import MAX_REPLAY, ReplayedSince
from textcast.domain.webhooks.subscriptions import (
    MAX_DESCRIPTION,
    MAX_SUBSCRIPTIONS,
    SubscriptionChange,
    SubscriptionDraft,
    WithSecret,
)
from textcast.models import (
    DeliveryStatus,
    SubscriptionStatus,
    WebhookAttempt,
    WebhookSubscription,
)
from textcast.services import webhooks as webhook_services
from textcast.web.api.ids import Id
from textcast.web.api.inputs import Input, IsoOnly
from textcast.web.auth import Administrator, guard
from textcast.web.deps import DatabaseDep, ReadSession, SettingsDep
from textcast.web.errors import problems

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], dependencies=[guard(Permission.ADMIN)]
)

# Longer than the limits the domain says in words, so that its answer names the problem.
Url = Annotated[
    str,
    Field(
        max_length=2 * MAX_URL_LENGTH,
        description="Where textcast posts: `https://` (or `http://`), a public address "
        "unless WEBHOOK_ALLOW_PRIVATE=true. No user name or password in it.",
        examples=["https://hooks.example.com/textcast"],
    ),
]
EventTypes = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    Field(
        max_length=100,
        description='Event types wanted (the reference\'s webhooks section), or `["*"]` for '
        "all of them. `webhook.test` is not subscribed to: the test button sends it.",
        examples=[["message.delivered", "message.failed", "contact.unsubscribed"]],
    ),
]
Description = Annotated[
    str, Field(max_length=4 * MAX_DESCRIPTION, description="What it is for, for people.")
]


class SubscriptionIn(Input):
    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: EventTypes
    description: Description = ""


class SubscriptionPatch(Input):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None


class SubscriptionOut(BaseModel):
    id: int
    url: str
    description: str
    event_types: list[str] = Field(description='As given; `["*"]`: every type.')
    status: SubscriptionStatus
    disabled_reason: str | None = Field(
        description="Why textcast disabled it (its endpoint kept failing); null when it is "
        "active or was disabled by hand."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(
        description="The first failed attempt since the last success: after "
        "WEBHOOK_RETRY_HOURS of failures the subscription is disabled."
    )
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: WebhookSubscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            url=s.url,
            description=s.description,
            event_types=list(s.event_types),
            status=s.status,
            disabled_reason=s.disabled_reason,
            disabled_at=s.disabled_at,
            failing_since=s.failing_since,
            last_success_at=s.last_success_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SubscriptionWithSecretOut(SubscriptionOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`), shown this once: store it where your "
        "endpoint verifies `webhook-signature` with it."
    )

    @classmethod
    def made(cls, made: WithSecret) -> SubscriptionWithSecretOut:
        return cls(**SubscriptionOut.of(made.subscription).model_dump(), secret=made.secret)


class AttemptOut(BaseModel):
    at: datetime
    response_status: int | None = Field(description="The HTTP status answered; null: none.")
    response_excerpt: str | None = Field(description="The answer's first bytes.")
    latency_ms: int | None
    error: str | None = Field(description="Why it failed, in words (timeout, HTTP 500...).")

    @classmethod
    def of(cls, a: WebhookAttempt) -> AttemptOut:
        return cls(
            at=a.at,
            response_status=a.response_status,
            response_excerpt=a.response_excerpt,
            latency_ms=a.latency_ms,
            error=a.error,
        )


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str = Field(
        description="The event's `webhook-id` header: the same for every retry and replay."
    )
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="While pending: when it is due.")
    last_attempt_at: datetime | None
    response_status: int | None = Field(description="The last attempt's HTTP status.")
    response_excerpt: str | None = Field(description="The last answer's first bytes.")
    latency_ms: int | None = Field(description="The last attempt's.")
    error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, logged: LoggedDelivery) -> DeliveryOut:
        d = logged.delivery
        return cls(
            id=d.id,
            webhook_id=logged.webhook_id,
            event_type=str(logged.event_type),
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
            last_attempt_at=d.last_attempt_at,
            response_status=d.response_status,
            response_excerpt=d.response_excerpt,
            latency_ms=d.latency_ms,
            error=d.error,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
        )


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any] = Field(description="The JSON every attempt posts.")
    attempt_log: list[AttemptOut] = Field(description="Each attempt, oldest first.")

    @classmethod
    def detail(cls, found: DeliveryDetail) -> DeliveryDetailOut:
        return cls(
            **DeliveryOut.of(found.logged).model_dump(),
            payload=json.loads(found.body),
            attempt_log=[AttemptOut.of(a) for a in found.attempts],
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for older deliveries; null at the end."
    )
    counts: dict[DeliveryStatus, int] = Field(
        description="The subscription's deliveries per status, whatever the filter: "
        "`status=` lists exactly that many."
    )


class ReplaySinceIn(Input):
    model_config = ConfigDict(extra="forbid")

    since: Annotated[datetime, IsoOnly] = Field(
        description="Events made at or after this moment (without a zone: UTC).",
        examples=["2026-12-07T09:00:00Z"],
    )


class ReplayedOut(BaseModel):
    deliveries: int = Field(description="New pending deliveries queued.")
    capped: bool = Field(
        description=f"More events matched than {MAX_REPLAY:,}, the most one replay queues: "
        "replay again since `through` for the rest."
    )
    through: datetime | None = Field(description="When the last event queued was made.")
    message: str

    @classmethod
    def of(cls, replayed: ReplayedSince) -> ReplayedOut:
        return cls(
            deliveries=replayed.count,
            capped=replayed.capped,
            through=replayed.through,
            message=replays.describe(replayed),
        )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.get("")
def list_subscriptions(session: ReadSession) -> list[SubscriptionOut]:
    """Every subscription, oldest first (never its secret)."""
    return [SubscriptionOut.of(s) for s in subscriptions.list_subscriptions(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
    description="A new active subscription, and its signing secret: shown in this answer "
    f"only. At most {MAX_SUBSCRIPTIONS} subscriptions (409 beyond). A URL of a loopback, "
    "link-local or private address is refused (400, naming `url`) unless "
    "WEBHOOK_ALLOW_PRIVATE=true.",
)
def create_subscription(
    payload: SubscriptionIn, database: DatabaseDep, settings: SettingsDep, principal: Administrator
) -> SubscriptionWithSecretOut:
    draft = SubscriptionDraft(payload.url, payload.event_types, payload.description)
    made = webhook_services.create_subscription(
        database, Actor.of(principal), draft, allow_private=settings.webhook_allow_private
    )
    return SubscriptionWithSecretOut.made(made)


@router.get("/{subscription_id}")
def get_subscription(subscription_id: Id, session: ReadSession) -> SubscriptionOut:
    """One subscription (never its secret: rotate it for a new one)."""
    return SubscriptionOut.of(subscriptions.get_subscription(session, subscription_id))


@router.patch("/{subscription_id}")
def update_subscription(
    subscription_id: Id,
    payload: SubscriptionPatch,
    database: DatabaseDep,
    settings: SettingsDep,
    principal: Administrator,
) -> SubscriptionOut:
    """Only the fields given change, checked as when creating. Deliveries already queued
    keep going to the subscription as it is when they are attempted."""
    change = SubscriptionChange(payload.url, payload.event_types, payload.description)
    changed = webhook_services.update_subscription(
        database,
        Actor.of(principal),
        subscription_id,
        change,
        allow_private=settings.webhook_allow_private,
    )
    return SubscriptionOut.of(changed)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(
    subscription_id: Id, database: DatabaseDep, principal: Administrator
) -> None:
    """Gone, with its delivery log; nothing more is sent to it."""
    webhook_services.delete_subscription(database, Actor.of(principal), subscription_id)


@router.post("/{subscription_id}/disable")
def disable_subscription(
    subscription_id: Id, database: DatabaseDep, principal: Administrator
) -> SubscriptionOut:
    """Nothing more is sent to it; its pending deliveries are given up (failed). Events made
    while it is disabled are not kept for it: replay them once it is enabled again."""
    return SubscriptionOut.of(
        webhook_services.disable_subscription(database, Actor.of(principal), subscription_id)
    )


@router.post("/{subscription_id}/enable")
def enable_subscription(
    subscription_id: Id, database: DatabaseDep, principal: Administrator
) -> SubscriptionOut:
    """Active again (also after textcast disabled it): its failure streak starts afresh."""
    return SubscriptionOut.of(
        webhook_services.enable_subscription(database, Actor.of(principal), subscription_id)
    )


@router.post("/{subscription_id}/rotate-secret")
def rotate_secret(
    subscription_id: Id, database: DatabaseDep, principal: Administrator
) -> SubscriptionWithSecretOut:
    """A new signing secret, shown in this answer only; the old one stops at once."""
    rotated = webhook_services.rotate_secret(database, Actor.of(principal), subscription_id)
    return SubscriptionWithSecretOut.made(rotated)


@router.post(
    "/{subscription_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=problems(409)
)
def send_test_event(
    subscription_id: Id, database: DatabaseDep, principal: Administrator
) -> DeliveryOut:
    """A `webhook.test` event, to this subscription only: its pending delivery (409 when the
    subscription is disabled)."""
    made = webhook_services.send_test_event(database, Actor.of(principal), subscription_id)
    with database.read() as session:
        return DeliveryOut.of(logs.get_delivery(session, subscription_id, made.id).logged)


@router.get("/{subscription_id}/deliveries")
def list_deliveries(
    subscription_id: Id,
    session: ReadSession,
    status_: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only this status.")
    ] = None,
    cursor: Annotated[Id | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first, with the counts per status."""
    rows = logs.list_deliveries(
        session, subscription_id, status=status_, before_id=cursor, limit=limit
    )
    return DeliveryPage(
        items=[DeliveryOut.of(row) for row in rows],
        next_cursor=rows[-1].delivery.id if len(rows) == limit else None,
        counts=logs.status_counts(session, subscription_id),
    )


@router.get("/{subscription_id}/deliveries/{delivery_id}")
def get_delivery(subscription_id: Id, delivery_id: Id, session: ReadSession) -> DeliveryDetailOut:
    """One delivery, with what it posts and each attempt."""
    return DeliveryDetailOut.detail(logs.get_delivery(session, subscription_id, delivery_id))


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
)
def replay_delivery(
    subscription_id: Id, delivery_id: Id, database: DatabaseDep, principal: Administrator
) -> DeliveryOut:
    """A new pending delivery of the same event (same `webhook-id` and body). 409 when the
    subscription is disabled, or the event is already waiting to be sent."""
    made = webhook_services.replay_delivery(
        database, Actor.of(principal), subscription_id, delivery_id
    )
    with database.read() as session:
        return DeliveryOut.of(logs.get_delivery(session, subscription_id, made.id).logged)


@router.post(
    "/{subscription_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
    description="Every event of the types it wants made since then, queued again (oldest "
    f"first, at most {MAX_REPLAY:,}; events already waiting are not queued twice). 409 when "
    "the subscription is disabled: enable it first.",
)
def replay_since(
    subscription_id: Id, payload: ReplaySinceIn, database: DatabaseDep, principal: Administrator
) -> ReplayedOut:
    replayed = webhook_services.replay_since(
        database, Actor.of(principal), subscription_id, _aware(payload.since)
    )
    return ReplayedOut.of(replayed)
