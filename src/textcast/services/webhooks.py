"""Webhook subscriptions' use cases: create, change, disable, enable, delete, rotate the
secret, send a test event, replay; each in one transaction with its audit entry
(`webhook.create`, `webhook.update`, ...). No secret reaches the audit log, nor a URL's
query string (a receiver's token often rides in it).

`allow_private` is WEBHOOK_ALLOW_PRIVATE: whether URLs may name loopback, link-local and
private addresses. URLs are checked (their host resolved) before the transaction opens.
"""

from __future__ import annotations

from datetime import datetime

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.webhooks import replays, subscriptions
from textcast.domain.webhooks.replays import ReplayedSince
from textcast.domain.webhooks.subscriptions import (
    SubscriptionChange,
    SubscriptionDraft,
    WithSecret,
    shown_url,
)
from textcast.models import SubscriptionStatus, WebhookDelivery, WebhookSubscription


def _target(subscription_id: int) -> str:
    return f"webhook:{subscription_id}"


def create_subscription(
    database: Database, actor: Actor, draft: SubscriptionDraft, *, allow_private: bool
) -> WithSecret:
    checked = subscriptions.check(draft, allow_private=allow_private)
    with database.write() as session:
        made = subscriptions.create_subscription(session, checked, created_by=actor.user_id)
        s = made.subscription
        audit.record(
            session,
            actor,
            "webhook.create",
            _target(s.id),
            url=shown_url(s.url),
            event_types=s.event_types,
        )
    return made


def update_subscription(
    database: Database,
    actor: Actor,
    subscription_id: int,
    change: SubscriptionChange,
    *,
    allow_private: bool,
) -> WebhookSubscription:
    """Audited when something changed, with the new values."""
    checked = subscriptions.check(change, allow_private=allow_private)
    with database.write() as session:
        changed = subscriptions.update_subscription(session, subscription_id, checked)
        if changed:
            if "url" in changed:
                changed["url"] = shown_url(str(changed["url"]))
            audit.record(session, actor, "webhook.update", _target(subscription_id), **changed)
        return subscriptions.get_subscription(session, subscription_id)


def disable_subscription(
    database: Database, actor: Actor, subscription_id: int
) -> WebhookSubscription:
    """Its pending deliveries are given up (failed): replay them once it is enabled again."""
    with database.write() as session:
        was_active = (
            subscriptions.get_subscription(session, subscription_id).status
            == SubscriptionStatus.ACTIVE
        )
        given_up = subscriptions.disable_subscription(session, subscription_id)
        if was_active:
            audit.record(
                session,
                actor,
                "webhook.disable",
                _target(subscription_id),
                deliveries_given_up=given_up,
            )
        return subscriptions.get_subscription(session, subscription_id)


def enable_subscription(
    database: Database, actor: Actor, subscription_id: int
) -> WebhookSubscription:
    with database.write() as session:
        if subscriptions.enable_subscription(session, subscription_id):
            audit.record(session, actor, "webhook.enable", _target(subscription_id))
        return subscriptions.get_subscription(session, subscription_id)


def delete_subscription(
    database: Database, actor: Actor, subscription_id: int
) -> WebhookSubscription:
    with database.write() as session:
        gone = subscriptions.delete_subscription(session, subscription_id)
        audit.record(
            session, actor, "webhook.delete", _target(subscription_id), url=shown_url(gone.url)
        )
    return gone


def rotate_secret(database: Database, actor: Actor, subscription_id: int) -> WithSecret:
    with database.write() as session:
        rotated = subscriptions.rotate_secret(session, subscription_id)
        audit.record(session, actor, "webhook.rotate_secret", _target(subscription_id))
    return rotated


def send_test_event(database: Database, actor: Actor, subscription_id: int) -> WebhookDelivery:
    with database.write() as session:
        made = replays.send_test_event(session, subscription_id)
        audit.record(session, actor, "webhook.test", _target(subscription_id), delivery_id=made.id)
    return made


def replay_delivery(
    database: Database, actor: Actor, subscription_id: int, delivery_id: int
) -> WebhookDelivery:
    with database.write() as session:
        made = replays.replay_delivery(session, subscription_id, delivery_id)
        audit.record(
            session,
            actor,
            "webhook.replay",
            _target(subscription_id),
            delivery_id=delivery_id,
            new_delivery_id=made.id,
        )
    return made


def replay_since(
    database: Database, actor: Actor, subscription_id: int, since: datetime
) -> ReplayedSince:
    with database.write() as session:
        replayed = replays.replay_since(session, subscription_id, since)
        audit.record(
            session,
            actor,
            "webhook.replay",
            _target(subscription_id),
            since=since.isoformat(),
            deliveries=replayed.count,
            capped=replayed.capped,
        )
    return replayed
