"""What the list commands print for scripts (`--json`): a JSON array on stdout, one object per
row, with the API's field names and values (dates in ISO 8601, UTC), so that a script reads
`textcast campaigns list --json` as it reads `GET /api/v1/campaigns`.

The command line may not import the web app, so the shapes are written out here; the CLI
tests compare them with the API's answers field by field.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from textcast.domain.audience import consent_records
from textcast.models import ApiKey, Campaign, Contact, ContactList, User, WebhookSubscription

if TYPE_CHECKING:
    from textcast.domain.flows import FlowRow
    from textcast.domain.signups.keywords import KeywordFigures


def print_json(rows: Iterable[dict[str, Any]]) -> None:
    """The rows as one indented JSON array on stdout (messages go to stderr)."""
    sys.stdout.write(to_json(list(rows), indent=2).decode() + "\n")


def campaign(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "client_reference": c.reference,
        "body": c.body,
        "sender": c.sender,
        "encoding": c.encoding,
        "parts": c.parts,
        "recipient_count": c.recipient_count,
        "kind": c.kind,
        "smart_encoding": c.smart_encoding,
        "short_links": c.short_links,
        "send_at": c.send_at,
        "local_send_time": c.local_send_time,
        "expires_at": c.expires_at,
        "budget": c.budget,
        "estimated_cost": c.estimated_cost,
        "spent": c.spent,
        "status_reason": c.status_reason,
        "parent_id": c.parent_id,
        "variant": c.variant,
        "created_at": c.created_at,
        "launched_at": c.launched_at,
        "completed_at": c.completed_at,
    }


def contact_list(found: ContactList, members: int) -> dict[str, Any]:
    return {
        "id": found.id,
        "name": found.name,
        "members": members,
        "created_at": found.created_at,
    }


def contact(c: Contact) -> dict[str, Any]:
    return {
        "id": c.id,
        "phone": c.phone,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "attributes": c.attributes,
        "country": c.country,
        "time_zone": c.time_zone,
        "status": c.status,
        "consent": consent_records.consent_state(c),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "email": u.email,
        "role": u.role,
        "disabled": u.disabled_at is not None,
        "created_at": u.created_at,
        "last_login_at": u.last_login_at,
    }


def api_key(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "user_id": k.user_id,
        "name": k.name,
        "prefix": k.prefix,
        "scopes": k.scopes.split(),
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "revoked": k.revoked_at is not None,
    }


def keyword(figures: KeywordFigures) -> dict[str, Any]:
    k = figures.keyword
    return {
        "id": k.id,
        "word": k.word,
        "list_id": k.list_id,
        "list_name": figures.list_name,
        "double_opt_in": k.double_opt_in,
        "confirmation_text": k.confirmation_text,
        "welcome_text": k.welcome_text,
        "already_subscribed_text": k.already_subscribed_text,
        "created_at": k.created_at,
        "signups": figures.signups,
        "confirmed": figures.confirmed,
        "pending": figures.pending,
        "expired": figures.expired,
    }


def flow(row: FlowRow) -> dict[str, Any]:
    f = row.flow
    return {
        "id": f.id,
        "name": f.name,
        "status": f.status,
        "trigger_type": f.trigger_type,
        "trigger_key": f.trigger_key,
        "goal_event": f.goal_event,
        "version": row.version,
        "runs": row.runs,
        "active_runs": row.active,
        "created_at": f.created_at,
        "updated_at": f.updated_at,
        "status_changed_at": f.status_changed_at,
    }


def webhook_subscription(s: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "url": s.url,
        "description": s.description,
        "event_types": list(s.event_types),
        "status": s.status,
        "disabled_reason": s.disabled_reason,
        "disabled_at": s.disabled_at,
        "failing_since": s.failing_since,
        "last_success_at": s.last_success_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }
