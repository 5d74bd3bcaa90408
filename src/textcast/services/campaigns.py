"""Campaign use cases: create, edit, delete, launch, plan, pause, resume, budget, cancel,
duplicate, test.

Each opens its own transaction, asks the campaigns context to act and writes the audit entry
in that same transaction, so a refused act (a `Conflict`, bad input) leaves neither a change nor
an entry. The web API and the command line pass who acts (`Actor.of(principal)`, `audit.CLI`)
and present what comes back. Waking the dispatcher, and cancelling batches at the provider,
stay with the caller: they belong to the runtime.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import campaigns, experiments
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.models import AbTest, Campaign, CampaignStatus, utcnow


def create(
    database: Database,
    actor: Actor,
    draft: campaigns.CampaignDraft,
    default_region: str,
    test: experiments.AbTestDraft | None = None,
) -> Campaign:
    """A new draft (an A/B test when `test` is given); nothing is sent."""
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, default_region)
        if test is not None:
            experiments.set_test(session, campaign.id, test)
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
        unlaunched = _unlaunch_test(session, campaign_id)
        edited = campaigns.edit_campaign(session, campaign_id, changes, default_region)
        if unlaunched:
            edited = dataclasses.replace(edited, unscheduled=True)
        if "body" in changes:
            experiments.follow_first_variant(session, edited.campaign)
        detail: dict[str, Any] = {"fields": edited.changed}
        if edited.unscheduled:
            detail["unscheduled"] = True
        audit.record(session, actor, "campaign.update", _target(campaign_id), **detail)
    return edited


def delete(database: Database, actor: Actor, campaign_id: int) -> campaigns.Deleted:
    """Delete a draft, or a scheduled campaign before its start, with all that belongs to it;
    the entry keeps its name and status."""
    with database.write() as session:
        _unlaunch_test(session, campaign_id)
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
    test: experiments.AbTestDraft | None = None,
) -> Campaign:
    """Create and launch in one transaction: a refused launch leaves no draft behind."""
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, default_region)
        if test is not None:
            experiments.set_test(session, campaign.id, test)
        _launch(session, campaign.id, policy)
        target = _target(campaign.id)
        audit.record(session, actor, "campaign.create", target)
        audit.record(session, actor, "campaign.send", target, recipients=campaign.recipient_count)
    return campaign


def launch(
    database: Database, actor: Actor, campaign_id: int, policy: campaigns.Policy
) -> Campaign:
    """One message per recipient, then sending starts (or waits for `send_at`); for an A/B
    test, the pool drawn and each variant's share launched."""
    with database.write() as session:
        campaign = _launch(session, campaign_id, policy)
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


def plan_with_variants(
    database: Database, campaign_id: int, policy: campaigns.Policy
) -> tuple[campaigns.Plan, experiments.AbTestPlan | None]:
    """The plan, and for a draft A/B test each variant's share of the pool and cost, read
    together; nothing is written."""
    with database.read() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        now = utcnow()
        found = campaigns.plan(session, campaign, policy, now)
        return found, experiments.plan_test(session, campaign, policy, now)


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
        experiments.note_cancelled(session, campaign_id)
        audit.record(session, actor, "campaign.cancel", _target(campaign_id))
    return campaign, provider_ids


def duplicate(database: Database, actor: Actor, campaign_id: int) -> Campaign:
    """A new draft with the same body, audience and options; audited as a creation."""
    with database.write() as session:
        copy = campaigns.duplicate_campaign(session, campaign_id)
        experiments.copy_test(session, campaign_id, copy.id)
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


def set_test(
    database: Database, actor: Actor, campaign_id: int, test: experiments.AbTestDraft
) -> AbTest:
    """Make a draft an A/B test, or change its test."""
    with database.write() as session:
        found = experiments.set_test(session, campaign_id, test)
        audit.record(
            session,
            actor,
            "campaign.test_set",
            _target(campaign_id),
            variants=len(test.bodies or test.send_times),
            metric=str(test.metric),
        )
    return found


def remove_test(database: Database, actor: Actor, campaign_id: int) -> None:
    """The draft is an ordinary campaign again, with variant A's text."""
    with database.write() as session:
        experiments.remove_test(session, campaign_id)
        audit.record(session, actor, "campaign.test_removed", _target(campaign_id))


def ab_results(database: Database, campaign_id: int) -> experiments.AbResults | None:
    with database.read() as session:
        return experiments.results_of(session, campaign_id, utcnow())


def pick_winner(
    database: Database,
    actor: Actor,
    campaign_id: int,
    policy: campaigns.Policy,
    variant: str | None = None,
) -> AbTest:
    """Choose the winner now: `variant`, or by the figures and the fallback when None; the
    rest of the audience gets it at once (or the refusal is kept and shown)."""
    with database.write() as session:
        test = experiments.decide(
            session, campaign_id, policy, now=utcnow(), pick=variant, picked_by=actor.label
        )
        audit.record(
            session,
            actor,
            "campaign.test_decided",
            _target(campaign_id),
            winner=test.winner,
            picked=variant is not None,
        )
    return test


def _launch(session: Session, campaign_id: int, policy: campaigns.Policy) -> Campaign:
    campaigns.refuse_part_of_test(campaigns.get_campaign(session, campaign_id), "sent")
    if experiments.ab_test_of(session, campaign_id) is not None:
        return experiments.launch_test(session, campaign_id, policy)
    return campaigns.launch_campaign(session, campaign_id, policy)


def _unlaunch_test(session: Session, campaign_id: int) -> bool:
    """A scheduled A/B test about to change or go is taken back to a draft first (its
    campaign's own edit or deletion then checks it has not started). Whether it was."""
    campaign = campaigns.get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.SCHEDULED or not campaigns.editable(campaign, utcnow()):
        return False
    if experiments.ab_test_of(session, campaign_id) is None:
        return False
    experiments.unlaunch_test(session, campaign_id)
    return True


def _target(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"
