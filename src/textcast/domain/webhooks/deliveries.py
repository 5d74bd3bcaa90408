"""Deliveries of the event stream to webhook subscriptions: claiming the due ones, recording
what each attempt got, retrying with backoff, disabling an endpoint that keeps failing, and
forgetting the old log.

A sender claims due deliveries by moving their `next_attempt_at` ahead by a lease, and
records what its POSTs got in one transaction per round (`record_attempts`). A sender that
dies in between leaves its deliveries due again when the lease ends: they are posted again
under the same `webhook-id` (at least once; receivers deduplicate on it).

An answer decides: 2xx delivered; 429, 5xx, a timeout or a connection error retried (about
six times longer each time, up to `MAX_RETRY_DELAY`, until the retry window since the
delivery was made has passed); anything else failed at once, since the receiver refused the
event and asking again cannot change that. An endpoint failing for the whole retry window,
with no success since, is disabled.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Result,
    Table,
    bindparam,
    delete,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy import literal_column as sql
from sqlalchemy.orm import Session

from textcast.domain.accounts import audit
from textcast.domain.stream import timestamp
from textcast.models import (
    DeliveryStatus,
    OutboundEvent,
    SubscriptionStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

EVENTS = cast(Table, OutboundEvent.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)
SUBSCRIPTIONS = cast(Table, WebhookSubscription.__table__)
ATTEMPTS = cast(Table, WebhookAttempt.__table__)

BACKOFF_FACTOR = 6
MAX_RETRY_DELAY = timedelta(hours=12)
JITTER = 0.2
"""Each delay is drawn within ±20% of its nominal value, so that the deliveries a failing
endpoint made wait together come back spread out."""
KEEP = timedelta(days=30)
"""How long delivered and failed deliveries (the delivery log) and their events are kept."""
PURGE_CHUNK = 5_000
EXCERPT_CHARS = 512
SUBSCRIPTION_DISABLED = "subscription disabled"
DISABLED_ACTION = "webhook.auto_disable"
"""Beside the hand-made `webhook.disable` and `webhook.enable` (`services.webhooks`)."""
ACTOR = audit.Actor("webhook sender")

# The due index is partial (status = 'pending'): the status is written into the statement,
# not bound, so that PostgreSQL's generic plan of a prepared statement (psycopg prepares one
# after five runs) can still use it.
IS_PENDING = DELIVERIES.c.status == sql("'pending'")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_retry: timedelta
    """WEBHOOK_FIRST_RETRY_SECONDS."""
    window: timedelta
    """WEBHOOK_RETRY_HOURS: how long a delivery is retried, and an endpoint may keep failing
    before it is disabled."""

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        nominal = self.first_retry.total_seconds() * BACKOFF_FACTOR ** min(attempts - 1, 20)
        drawn = nominal * rng.uniform(1 - JITTER, 1 + JITTER)
        return min(timedelta(seconds=drawn), MAX_RETRY_DELAY)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due delivery, with what posting it takes."""

    id: int
    subscription_id: int
    attempts: int
    """Made before this one."""
    created_at: datetime
    webhook_id: str
    """The event's `public_id`."""
    body: str
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST of a delivery got: an HTTP answer, or an error in words."""

    delivery: Claimed
    at: datetime
    latency_ms: int | None = None
    status: int | None = None
    excerpt: str | None = None
    """The start of the answer's body."""
    error: str | None = None
    """Why no answer came (timeout, connection refused, address refused...)."""
    retry_after: float | None = None
    """Seconds a 429 asked us to wait."""
    final: bool = False
    """An error retrying cannot help (the address is refused): failed at once."""


@dataclass(slots=True)
class Recorded:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)
    """Subscriptions disabled by this round."""


def describe_answer(status: int) -> str | None:
    """A non-2xx answer, in words (None for 2xx)."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"HTTP {status}: a redirect, not followed (use the URL it points to)"
    if status == 429:
        return "HTTP 429: the endpoint asked to slow down"
    if status >= 500:
        return f"HTTP {status}: the endpoint failed"
    return f"HTTP {status}: the endpoint refused the event (not retried)"


def is_retried(attempt: Attempt) -> bool:
    """A failed attempt worth repeating: 429, 5xx, or an error that may pass."""
    if attempt.status is None:
        return not attempt.final
    return attempt.status == 429 or attempt.status >= 500


def next_due(session: Session) -> datetime | None:
    """When the earliest pending delivery is due (a read on the due index): the senders' poll,
    which takes no write transaction while nothing is due."""
    due: datetime | None = session.scalar(
        select(func.min(DELIVERIES.c.next_attempt_at)).where(IS_PENDING)
    )
    return due


def claim_due(session: Session, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
    """Up to `limit` due deliveries of active subscriptions, leased until `lease_until`: no
    other sender takes them before then. Those of a subscription no longer active fail."""
    query = (
        select(
            DELIVERIES.c.id,
            DELIVERIES.c.subscription_id,
            DELIVERIES.c.attempts,
            DELIVERIES.c.created_at,
            EVENTS.c.public_id,
            EVENTS.c.body,
            SUBSCRIPTIONS.c.url,
            SUBSCRIPTIONS.c.secret,
            SUBSCRIPTIONS.c.status,
        )
        .select_from(
            DELIVERIES.join(EVENTS, EVENTS.c.id == DELIVERIES.c.event_id).join(
                SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == DELIVERIES.c.subscription_id
            )
        )
        .where(IS_PENDING, DELIVERIES.c.next_attempt_at <= now)
        .order_by(DELIVERIES.c.next_attempt_at)
        .limit(limit)
    )
    if _is_postgresql(session):
        # Senders in other processes skip these rows instead of waiting for this claim.
        query = query.with_for_update(skip_locked=True, of=DELIVERIES)
    rows = session.execute(query).all()
    if not rows:
        return []
    claimed = [
        Claimed(
            r.id, r.subscription_id, r.attempts, r.created_at, r.public_id, r.body, r.url, r.secret
        )
        for r in rows
        if r.status == SubscriptionStatus.ACTIVE
    ]
    if claimed:
        session.execute(
            update(DELIVERIES)
            .where(_among(DELIVERIES.c.id, [c.id for c in claimed], session))
            .values(next_attempt_at=lease_until)
        )
    inactive = [r.id for r in rows if r.status != SubscriptionStatus.ACTIVE]
    if inactive:
        _fail(session, DELIVERIES.c.id.in_(inactive), now)
    return claimed


def release(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Give back the lease of claimed deliveries not attempted after all (a sender stopping):
    due again at once, for whichever sender looks next."""
    if ids:
        session.execute(
            update(DELIVERIES)
            .where(IS_PENDING, _among(DELIVERIES.c.id, list(ids), session))
            .values(next_attempt_at=now)
        )


@dataclass(slots=True)
class _Endpoint:
    """What one round's attempts say of a subscription's endpoint."""

    last_success: datetime | None = None
    failing_since: datetime | None = None
    """The first failure after the round's last success."""


def record_attempts(
    session: Session,
    attempts: Iterable[Attempt],
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random | None = None,
) -> Recorded:
    """Write what a round's POSTs got, each delivery's new state, and its subscription's
    health (disabling one failing for the whole retry window)."""
    rng = rng or random.Random()
    done = sorted(attempts, key=lambda a: a.at)
    recorded = Recorded()
    if not done:
        return recorded
    endpoints: dict[int, _Endpoint] = {}
    changes: list[dict[str, Any]] = []
    for attempt in done:
        change = _outcome(attempt, policy, rng)
        changes.append(change)
        endpoint = endpoints.setdefault(attempt.delivery.subscription_id, _Endpoint())
        if change["b_status"] == DeliveryStatus.DELIVERED:
            recorded.delivered += 1
            endpoint.last_success, endpoint.failing_since = attempt.at, None
        else:
            if change["b_status"] == DeliveryStatus.PENDING:
                recorded.retrying += 1
            else:
                recorded.failed += 1
            endpoint.failing_since = endpoint.failing_since or attempt.at
    _write_outcomes(session, changes)
    _note_health(session, endpoints)
    failing = [s for s, e in endpoints.items() if e.failing_since is not None]
    if failing:
        recorded.disabled = disable_failing(session, policy, now, among=failing)
    return recorded


_RECORD_OUTCOME = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("b_id"), IS_PENDING)
    .values(
        status=bindparam("b_status"),
        attempts=DELIVERIES.c.attempts + 1,
        next_attempt_at=bindparam("b_next"),
        last_attempt_at=bindparam("b_at"),
        response_status=bindparam("b_response_status"),
        response_excerpt=bindparam("b_excerpt"),
        latency_ms=bindparam("b_latency_ms"),
        error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered_at"),
    )
)


def _write_outcomes(session: Session, changes: list[dict[str, Any]]) -> None:
    """The attempts' log rows and their deliveries' new states."""
    if _is_postgresql(session):
        # One statement each, the rows as arrays: executemany costs a round of the pipeline
        # per row, several times what the rows themselves do.
        columns = {name: [c[name] for c in changes] for name in changes[0]}
        session.execute(_INSERT_ATTEMPTS_POSTGRESQL, columns)
        session.execute(_RECORD_OUTCOMES_POSTGRESQL, columns)
        return
    session.execute(
        ATTEMPTS.insert(),
        [
            {
                "delivery_id": c["b_id"],
                "at": c["b_at"],
                "response_status": c["b_response_status"],
                "response_excerpt": c["b_excerpt"],
                "latency_ms": c["b_latency_ms"],
                "error": c["b_error"],
            }
            for c in changes
        ],
    )
    session.execute(_RECORD_OUTCOME, changes)


_INSERT_ATTEMPTS_POSTGRESQL = text(
    """
    INSERT INTO webhook_attempts
        (delivery_id, at, response_status, response_excerpt, latency_ms, error)
    SELECT * FROM unnest(
        CAST(:b_id AS bigint[]), CAST(:b_at AS timestamptz[]),
        CAST(:b_response_status AS integer[]), CAST(:b_excerpt AS text[]),
        CAST(:b_latency_ms AS integer[]), CAST(:b_error AS text[]))
    """
)
_RECORD_OUTCOMES_POSTGRESQL = text(
    """
    UPDATE webhook_deliveries AS d SET
        status = v.status, attempts = d.attempts + 1, next_attempt_at = v.next_at,
        last_attempt_at = v.at, response_status = v.code, response_excerpt = v.excerpt,
        latency_ms = v.latency, error = v.error, delivered_at = v.delivered_at
    FROM unnest(
        CAST(:b_id AS bigint[]), CAST(:b_status AS text[]), CAST(:b_next AS timestamptz[]),
        CAST(:b_at AS timestamptz[]), CAST(:b_response_status AS integer[]),
        CAST(:b_excerpt AS text[]), CAST(:b_latency_ms AS integer[]),
        CAST(:b_error AS text[]), CAST(:b_delivered_at AS timestamptz[])
    ) AS v (id, status, next_at, at, code, excerpt, latency, error, delivered_at)
    WHERE d.id = v.id AND d.status = 'pending'
    """
)


def _outcome(attempt: Attempt, policy: RetryPolicy, rng: random.Random) -> dict[str, Any]:
    """The delivery's new columns after `attempt`."""
    delivery = attempt.delivery
    error = attempt.error
    if attempt.status is not None:
        error = describe_answer(attempt.status)
    status = DeliveryStatus.DELIVERED if error is None else DeliveryStatus.FAILED
    next_attempt_at = None
    if error is not None and is_retried(attempt):
        made = delivery.attempts + 1
        wait = policy.delay(made, rng)
        if attempt.retry_after is not None:
            wait = min(timedelta(seconds=max(attempt.retry_after, 0.0)), MAX_RETRY_DELAY)
        give_up_at = delivery.created_at + policy.window
        if attempt.at >= give_up_at:
            error = f"{error}; retried for {duration(policy.window)}, given up"
        else:
            status = DeliveryStatus.PENDING
            next_attempt_at = min(attempt.at + wait, give_up_at)
    return {
        "b_id": delivery.id,
        "b_status": status,
        "b_next": next_attempt_at,
        "b_at": attempt.at,
        "b_response_status": attempt.status,
        "b_excerpt": _excerpt(attempt.excerpt),
        "b_latency_ms": attempt.latency_ms,
        "b_error": error,
        "b_delivered_at": attempt.at if status == DeliveryStatus.DELIVERED else None,
    }


def _excerpt(text: str | None) -> str | None:
    # PostgreSQL text holds no NUL character.
    return None if text is None else text[:EXCERPT_CHARS].replace("\x00", "\ufffd")


def _note_health(session: Session, endpoints: dict[int, _Endpoint]) -> None:
    succeeded = [
        {"b_id": s, "b_success": e.last_success, "b_since": e.failing_since}
        for s, e in endpoints.items()
        if e.last_success is not None
    ]
    if succeeded:
        session.execute(
            update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id == bindparam("b_id"))
            .values(
                last_success_at=bindparam("b_success"),
                failing_since=bindparam("b_since"),
            ),
            succeeded,
        )
    failing_only = [
        {"b_id": s, "b_since": e.failing_since}
        for s, e in endpoints.items()
        if e.last_success is None and e.failing_since is not None
    ]
    if failing_only:
        session.execute(
            update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id == bindparam("b_id"), SUBSCRIPTIONS.c.failing_since.is_(None))
            .values(failing_since=bindparam("b_since")),
            failing_only,
        )


def failing_too_long(session: Session, policy: RetryPolicy, now: datetime) -> list[int]:
    """The active subscriptions whose endpoint has failed for the whole retry window (a read;
    also those with no delivery left to retry)."""
    return list(
        session.scalars(
            select(SUBSCRIPTIONS.c.id).where(
                SUBSCRIPTIONS.c.status == SubscriptionStatus.ACTIVE,
                SUBSCRIPTIONS.c.failing_since <= now - policy.window,
            )
        )
    )


def disable_failing(
    session: Session, policy: RetryPolicy, now: datetime, among: Collection[int] | None = None
) -> list[int]:
    """Disable the active subscriptions (of `among`, or all) whose endpoint has failed for the
    whole retry window with no success since: their pending deliveries fail, and the audit
    log says why. The ids disabled."""
    query = select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.failing_since).where(
        SUBSCRIPTIONS.c.status == SubscriptionStatus.ACTIVE,
        SUBSCRIPTIONS.c.failing_since <= now - policy.window,
    )
    if among is not None:
        query = query.where(SUBSCRIPTIONS.c.id.in_(list(among)))
    disabled = []
    for subscription_id, since in session.execute(query).all():
        last_error = session.scalar(
            select(DELIVERIES.c.error)
            .where(DELIVERIES.c.subscription_id == subscription_id, DELIVERIES.c.error.is_not(None))
            .order_by(DELIVERIES.c.last_attempt_at.desc())
            .limit(1)
        )
        reason = (
            f"Disabled by textcast: every delivery failed for {duration(policy.window)} "
            f"(since {timestamp(since)})"
            + (f"; the last error: {last_error}" if last_error else "")
            + ". Fix the endpoint, then enable the subscription again."
        )
        changed = _count(
            session.execute(
                update(SUBSCRIPTIONS)
                .where(
                    SUBSCRIPTIONS.c.id == subscription_id,
                    SUBSCRIPTIONS.c.status == SubscriptionStatus.ACTIVE,
                )
                .values(
                    status=SubscriptionStatus.DISABLED,
                    disabled_reason=reason,
                    disabled_at=now,
                    updated_at=now,
                )
            )
        )
        if not changed:
            continue
        failed = _fail(session, DELIVERIES.c.subscription_id == subscription_id, now)
        audit.record(
            session,
            ACTOR,
            DISABLED_ACTION,
            f"webhook:{subscription_id}",
            reason=reason,
            failing_since=timestamp(since),
            deliveries_failed=failed,
        )
        disabled.append(subscription_id)
    return disabled


def _fail(session: Session, which: ColumnElement[bool], now: datetime) -> int:
    """Pending deliveries failed because their subscription is not active."""
    return _count(
        session.execute(
            update(DELIVERIES)
            .where(which, IS_PENDING)
            .values(
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                error=SUBSCRIPTION_DISABLED,
            )
        )
    )


def purgeable(session: Session, now: datetime, keep: timedelta = KEEP) -> int | None:
    """The last event old enough to be forgotten, when there is one (a read)."""
    last: int | None = session.scalar(
        select(EVENTS.c.id)
        .where(EVENTS.c.created_at < now - keep)
        .order_by(EVENTS.c.created_at.desc())
        .limit(1)
    )
    return last


def purge(session: Session, now: datetime, keep: timedelta = KEEP, chunk: int = PURGE_CHUNK) -> int:
    """Forget up to `chunk` finished deliveries older than `keep` (with their attempts), then
    the events of that age no delivery refers to any more. How many rows went; the caller
    commits, and calls again while it is `chunk` or more."""
    last_event = purgeable(session, now, keep)
    if last_event is None:
        return 0
    cutoff = now - keep
    # By event: `event_id` is indexed, and an old event's deliveries are (but for replays,
    # which `created_at` keeps) as old as it.
    old = list(
        session.scalars(
            select(DELIVERIES.c.id)
            .where(
                DELIVERIES.c.event_id <= last_event,
                DELIVERIES.c.status.in_([DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]),
                DELIVERIES.c.created_at < cutoff,
            )
            .limit(chunk)
        )
    )
    gone = 0
    if old:
        session.execute(delete(ATTEMPTS).where(_among(ATTEMPTS.c.delivery_id, old, session)))
        gone += _count(
            session.execute(delete(DELIVERIES).where(_among(DELIVERIES.c.id, old, session)))
        )
    orphans = list(
        session.scalars(
            select(EVENTS.c.id)
            .where(
                EVENTS.c.id <= last_event,
                EVENTS.c.created_at < cutoff,
                ~exists().where(DELIVERIES.c.event_id == EVENTS.c.id),
            )
            .limit(chunk)
        )
    )
    if orphans:
        gone += _count(session.execute(delete(EVENTS).where(_among(EVENTS.c.id, orphans, session))))
    return gone


def duration(span: timedelta) -> str:
    """A retry window in words: "72 hours", "1.5 hours", "90 seconds"."""
    seconds = span.total_seconds()
    for unit, size in (("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{round(seconds / size, 1):g} {unit}"
    return f"{round(seconds, 1):g} seconds"


def _among(column: Any, ids: list[int], session: Session) -> ColumnElement[bool]:
    """`column IN ids`, as one array parameter on PostgreSQL (not one parameter per id)."""
    if _is_postgresql(session):
        return cast(ColumnElement[bool], column == func.any(bindparam("ids", ids)))
    return cast(ColumnElement[bool], column.in_(ids))


def _count(result: Result[Any]) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
