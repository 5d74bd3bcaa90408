"""Webhook subscriptions: an endpoint's URL, the event types it wants, its signing secret, and
whether it is active.

The secret is made here and handed back once, at creation and at each rotation; reads never
return it. What is saved has been through `check` first: a URL only when `addresses.check_url`
accepts it (public addresses unless WEBHOOK_ALLOW_PRIVATE), outside the write transaction,
because it resolves the host. Disabling by hand leaves `disabled_reason` empty: a reason means
textcast disabled the endpoint itself, after it failed for WEBHOOK_RETRY_HOURS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.domain.stream.recording import ALL_TYPES
from textcast.domain.webhooks import addresses, signatures
from textcast.models import (
    DeliveryStatus,
    EventType,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

MAX_SUBSCRIPTIONS = 20
"""Every event is written with a delivery per wanting subscription, in the transaction that
makes it (a delivery report's): more endpoints than this is a fan-out service's job."""
MAX_DESCRIPTION = 200
SUBSCRIBABLE = tuple(t for t in EventType if t is not EventType.WEBHOOK_TEST)
"""What a subscription may ask for; `webhook.test` only ever goes to the one it tests."""
DISABLED_BY_HAND = "the subscription was disabled"
"""The `error` of the pending deliveries a disable gives up."""


@dataclass(frozen=True, slots=True)
class SubscriptionDraft:
    url: str
    event_types: Sequence[str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """Only what is given changes (None: as it is)."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class WithSecret:
    """A subscription and its secret, to show once (creation, rotation)."""

    subscription: WebhookSubscription
    secret: str


def checked_event_types(given: Sequence[str], *, field: str = "event_types") -> list[str]:
    """The event types as stored: `["*"]` for all, else known ones, deduplicated, in the
    catalogue's order; `InvalidInput` naming each unknown one."""
    wanted = [str(t).strip() for t in given]
    if not wanted:
        return _refuse(field, "choose at least one event type, or * for all of them")
    if ALL_TYPES in wanted:
        if len(set(wanted)) > 1:
            return _refuse(field, "* already means every event type: give it alone")
        return [ALL_TYPES]
    known = {str(t) for t in SUBSCRIBABLE}
    problems = []
    for index, name in enumerate(wanted):
        if name == EventType.WEBHOOK_TEST:
            message = 'is sent by "send test event" only, to the subscription tested'
            problems.append(FieldProblem(f"{field}[{index}]", message, name))
        elif name not in known:
            message = "is not an event type (see the event catalogue: " + ", ".join(known) + ")"
            problems.append(FieldProblem(f"{field}[{index}]", message, name[:100]))
    if problems:
        raise InvalidInput(problems)
    return [str(t) for t in SUBSCRIBABLE if t in wanted]


def checked_url(url: str, *, allow_private: bool) -> str:
    return addresses.check_url(url, allow_private=allow_private).url


def checked_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        return _refuse("description", f"at most {MAX_DESCRIPTION} characters")
    return description


@dataclass(frozen=True, slots=True)
class Checked:
    """What `check` accepted of a draft or a change (None: not given)."""

    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None


def check(given: SubscriptionDraft | SubscriptionChange, *, allow_private: bool) -> Checked:
    """The values given, checked, or `InvalidInput` naming every problem. It resolves the
    URL's host: call it before a write transaction opens, never inside one (a slow DNS answer
    would hold SQLite's one writer, and the delivery reports waiting for it)."""
    checks: dict[str, Callable[[Any], object]] = {
        "url": lambda v: checked_url(v, allow_private=allow_private),
        "event_types": checked_event_types,
        "description": checked_description,
    }
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for name, check_one in checks.items():
        value = getattr(given, name)
        if value is None:
            continue
        try:
            values[name] = check_one(value)
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput(problems)
    return Checked(**values)


def create_subscription(
    session: Session, checked: Checked, *, created_by: int | None
) -> WithSecret:
    """A new active subscription of `check`'s values, with a new secret."""
    if checked.url is None or checked.event_types is None:
        raise InvalidInput(
            [FieldProblem("url" if checked.url is None else "event_types", "required")]
        )
    count = session.scalar(select(func.count()).select_from(WebhookSubscription)) or 0
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(
            f"there are {count} webhook subscriptions already, the most textcast keeps: "
            "delete one you no longer use, or subscribe one endpoint to more event types"
        )
    secret = signatures.new_secret()
    subscription = WebhookSubscription(
        url=checked.url,
        event_types=checked.event_types,
        description=checked.description or "",
        secret=secret,
        status=SubscriptionStatus.ACTIVE,
        created_by=created_by,
    )
    session.add(subscription)
    session.flush()
    return WithSecret(subscription, secret)


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    found = session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound("webhook subscription", subscription_id)
    return found


def update_subscription(
    session: Session, subscription_id: int, checked: Checked
) -> dict[str, object]:
    """`check`'s values saved; what changed (name to new value), for the audit entry."""
    subscription = get_subscription(session, subscription_id)
    wanted: dict[str, object] = {
        "url": checked.url,
        "event_types": checked.event_types,
        "description": checked.description,
    }
    changed = {k: v for k, v in wanted.items() if v is not None and getattr(subscription, k) != v}
    for name, value in changed.items():
        setattr(subscription, name, value)
    if changed:
        subscription.updated_at = utcnow()
    session.flush()
    return changed


def disable_subscription(session: Session, subscription_id: int) -> int:
    """Disabled by hand; its pending deliveries are given up (failed). How many were."""
    subscription = get_subscription(session, subscription_id)
    if subscription.status == SubscriptionStatus.DISABLED:
        return 0
    now = utcnow()
    subscription.status = SubscriptionStatus.DISABLED
    subscription.disabled_reason = None
    subscription.disabled_at = now
    subscription.updated_at = now
    given_up = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, error=DISABLED_BY_HAND)
    )
    session.flush()
    return int(given_up.rowcount or 0)  # type: ignore[attr-defined]


def enable_subscription(session: Session, subscription_id: int) -> bool:
    """Active again, its failure streak forgotten; False when it already was."""
    subscription = get_subscription(session, subscription_id)
    if subscription.status == SubscriptionStatus.ACTIVE:
        return False
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.disabled_reason = None
    subscription.disabled_at = None
    subscription.failing_since = None
    subscription.updated_at = utcnow()
    session.flush()
    return True


def delete_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """Gone with its deliveries and their attempts (the events stay for the others)."""
    subscription = get_subscription(session, subscription_id)
    session.delete(subscription)
    session.flush()
    return subscription


def rotate_secret(session: Session, subscription_id: int) -> WithSecret:
    """A new secret at once: the endpoint must verify with it from the next attempt on."""
    subscription = get_subscription(session, subscription_id)
    subscription.secret = signatures.new_secret()
    subscription.updated_at = utcnow()
    session.flush()
    return WithSecret(subscription, subscription.secret)


def disabled_by_textcast(session: Session) -> list[WebhookSubscription]:
    """The subscriptions textcast disabled because their endpoint kept failing."""
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(
                WebhookSubscription.status == SubscriptionStatus.DISABLED,
                WebhookSubscription.disabled_reason.is_not(None),
            )
            .order_by(WebhookSubscription.id)
        )
    )


def wants(subscription: WebhookSubscription, type_: EventType) -> bool:
    if type_ is EventType.WEBHOOK_TEST:
        return False
    return ALL_TYPES in subscription.event_types or str(type_) in subscription.event_types


def wanted_types(subscription: WebhookSubscription) -> list[str]:
    """The event types it receives, `*` spelled out."""
    return [str(t) for t in SUBSCRIBABLE if wants(subscription, t)]


def shown_url(url: str) -> str:
    """The URL without its query string, for the audit log: a receiver's token often rides
    in it, and the log is no place for a secret."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _refuse(field: str, message: str) -> NoReturn:
    raise InvalidInput([FieldProblem(field, message)])
