"""Campaign use cases: create, edit, delete, launch, plan, pause, resume, budget, cancel,
duplicate, test.

Each opens its own transaction, asks the campaigns context to act and writes the audit entry
in that same transaction, so a refused act (a `Conflict`, bad input) leaves neither a change nor
an entry. The web API and the command line pass who acts (`Actor.of(principal)`, `audit.CLI`)
and present what comes back. Waking the dispatcher, and cancelling batches at the provider,
stay with the caller: they belong to the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textcast.db import Database
from textcast.domain import campaigns
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.models import Campaign, utcnow


def create(
    database: Database, actor: Actor, draft: campaigns.CampaignDraft, default_region: str
) -> Campaign:
    """A new draft; nothing is sent."""
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, default_region)
        audit.record(session, actor, "campaign.create", _target(campaign.id))
    return campaign


def edit(
    database: Database,
    actor: Actor,
    campaign_id: int,
    changes: Mapping[str, Any],
    default_region: str,
) -> campaigns.Edited:
    """Change a draft, or a scheduled campaign before its start (it becomes a draft again:
    its messages go, and it is planned and sent again). The entry names the fields changed."""
    with database.write() as session:
        edited = campaigns.edit_campaign(session, campaign_id, changes, default_region)
        detail: dict[str, Any] = {"fields": edited.changed}
        if edited.unscheduled:
            detail["unscheduled"] = True
        audit.record(session, actor, "campaign.update", _target(campaign_id), **detail)
    return edited


def delete(database: Database, actor: Actor, campaign_id: int) -> campaigns.Deleted:
    """Delete a draft, or a scheduled campaign before its start, with all that belongs to it;
    the entry keeps its name and status."""
    with database.write() as session:
        deleted = campaigns.delete_campaign(session, campaign_id)
        audit.record(
            session,
            actor,
            "campaign.delete",
            _target(campaign_id),
            name=deleted.name,
            status=str(deleted.status),
        )
    return deleted


def create_and_launch(
    database: Database,
    actor: Actor,
    draft: campaigns.CampaignDraft,
    default_region: str,
    policy: campaigns.Policy,
) -> Campaign:
    """Create and launch in one transaction: a refused launch leaves no draft behind."""
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, default_region)
        campaigns.launch_campaign(session, campaign.id, policy)
        target = _target(campaign.id)
        audit.record(session, actor, "campaign.create", target)
        audit.record(session, actor, "campaign.send", target, recipients=campaign.recipient_count)
    return campaign


def launch(
    database: Database, actor: Actor, campaign_id: int, policy: campaigns.Policy
) -> Campaign:
    """One message per recipient, then sending starts (or waits for `send_at`)."""
    with database.write() as session:
        campaign = campaigns.launch_campaign(session, campaign_id, policy)
        audit.record(
            session,
            actor,
            "campaign.send",
            _target(campaign_id),
            recipients=campaign.recipient_count,
        )
    return campaign


def plan(database: Database, campaign_id: int, policy: campaigns.Policy) -> campaigns.Plan:
    """What a launch would do now; nothing is written, so nothing is audited."""
    with database.read() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        return campaigns.plan(session, campaign, policy, utcnow())


def pause(database: Database, actor: Actor, campaign_id: int) -> Campaign:
    with database.write() as session:
        campaign = campaigns.pause_campaign(session, campaign_id)
        audit.record(session, actor, "campaign.pause", _target(campaign_id))
    return campaign


def resume(database: Database, actor: Actor, campaign_id: int) -> Campaign:
    with database.write() as session:
        campaign = campaigns.resume_campaign(session, campaign_id)
        audit.record(session, actor, "campaign.resume", _target(campaign_id))
    return campaign


def set_budget(database: Database, actor: Actor, campaign_id: int, budget: float) -> Campaign:
    with database.write() as session:
        campaign = campaigns.set_budget(session, campaign_id, budget)
        audit.record(session, actor, "campaign.budget", _target(campaign_id), budget=budget)
    return campaign


def cancel(database: Database, actor: Actor, campaign_id: int) -> tuple[Campaign, list[str]]:
    """The campaign, cancelled, and the provider batch ids its caller still has to cancel at
    the provider (through the runtime), once this transaction is committed."""
    with database.write() as session:
        campaign, provider_ids = campaigns.cancel_campaign(session, campaign_id)
        audit.record(session, actor, "campaign.cancel", _target(campaign_id))
    return campaign, provider_ids


def duplicate(database: Database, actor: Actor, campaign_id: int) -> Campaign:
    """A new draft with the same body, audience and options; audited as a creation."""
    with database.write() as session:
        copy = campaigns.duplicate_campaign(session, campaign_id)
        audit.record(session, actor, "campaign.create", _target(copy.id), duplicate_of=campaign_id)
    return copy


def send_test(
    database: Database,
    actor: Actor,
    campaign_id: int,
    phone: str,
    default_region: str,
    policy: campaigns.Policy,
) -> Campaign:
    """The campaign's text to one number now, as its own `test` campaign (which is returned);
    the entry names the campaign tested."""
    with database.write() as session:
        test = campaigns.test_send(session, campaign_id, phone, default_region, policy)
        audit.record(session, actor, "campaign.test", _target(campaign_id))
    return test


def _target(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"
