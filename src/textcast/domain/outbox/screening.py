"""Screening: what of a round of claims may leave now. Opt-outs are skipped, recipients outside
their send window wait (deferred, woken when it opens) and a budget pauses its campaign when the
next messages would exceed it; a campaign paused or cancelled since the claims gets them back.

Every function here runs in its own short transaction, committed by the caller.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ForUpdateParameter

from textcast.db import commit_without_waiting_for_disk, is_among
from textcast.domain.audience import suppressions
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.campaigns import send_window
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import priced_country
from textcast.domain.campaigns.queue import deferred_of
from textcast.domain.outbox.claims import (
    BATCHES,
    CAMPAIGNS,
    MESSAGES,
    Claim,
    Claimed,
    ClaimedBatch,
    give_back,
    moved,
    requeued,
    text_of,
)
from textcast.models import (
    BatchState,
    Campaign,
    CampaignStatus,
    Contact,
    Message,
    MessageStatus,
    SkipReason,
    utcnow,
)
from textcast.vocabulary import CHECKS_OPT_OUTS, KEEPS_QUIET_HOURS

PAUSED_FOR_BUDGET = "budget reached"
Places = dict[str, tuple[str | None, str | None]]
"""Contacts' (country, time zone) by number."""
_NOWHERE: tuple[str | None, str | None] = (None, None)


def screen_claims(
    session: Session,
    claims: list[Claim],
    secret: bytes,
    *,
    post_now: bool = False,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> list[ClaimedBatch]:
    """Apply opt-outs, send windows and budget to claims of one campaign (in claim order);
    the batches someone is left in.

    Numbers suppressed since launch (a STOP mid-campaign) are skipped; `secret` keys the
    suppression hashes. With a `policy`, marketing messages outside their recipient's send
    window are deferred to its next opening (skipped past the campaign's expiry), and a
    campaign with a budget is paused when the next messages would exceed it. `post_now` (no
    token wait ahead) makes this the batches' last opt-out check too, as `prepare_post`
    would, and leaves them `posting`, saving a transaction. A campaign paused or cancelled
    since the claims gets their messages back. Screened together, the claims share one
    lookup of opt-outs and one of contacts.
    """
    if not claims:
        return []
    first = claims[0]
    if any(claim.campaign_id != first.campaign_id for claim in claims):
        raise ValueError("claims of one campaign at a time")
    if post_now:
        hold_opt_out_lock(session, shared=True)
    else:
        commit_without_waiting_for_disk(session)  # `prepare_post` commits before the POST
    now = now or utcnow()
    # The campaign's status holds until commit: a pause or cancel (which lock it for update)
    # waits for this screening, which waits for neither claims nor other screenings. Those
    # against a budget take turns instead: each reads what the previous one spent.
    budgeted = first.budgeted and policy is not None
    lock: ForUpdateParameter = True if budgeted else {"read": True, "key_share": True}
    campaign = session.get_one(Campaign, first.campaign_id, with_for_update=lock)
    if campaign.status != CampaignStatus.SENDING or (
        campaign.budget is not None and not budgeted and policy is not None
    ):
        # Paused, cancelled, or given a budget since the claims.
        for claim in claims:
            give_back(
                session,
                claim.batch_id,
                campaign.id,
                (claim.rows[0].id, claim.rows[-1].id),
                cancelled=campaign.status == CampaignStatus.CANCELLED,
                now=now,
            )
        return []
    keeps_quiet_hours = campaign.kind in KEEPS_QUIET_HOURS
    checks_opt_outs = campaign.kind in CHECKS_OPT_OUTS
    rows = [row for claim in claims for row in claim.rows]
    places: Places | None = None  # looked up once, only when needed
    if checks_opt_outs:
        rows = _skip_suppressed(session, secret, rows, now)
    if policy is not None and keeps_quiet_hours and rows:
        places = _places(session, [row.phone for row in rows])
        rows = _hold_outside_window(session, campaign, rows, places, policy, now)
        if campaign.budget is not None and rows:
            # In id order: the claims the budget still pays for, then maybe part of one.
            rows = _within_budget(session, campaign, rows, places, policy, now)
    # Usually nobody was held back: each claim's rows are then its batch's as they are.
    kept = None if len(rows) == sum(len(c.rows) for c in claims) else {row.id for row in rows}
    screened: list[ClaimedBatch] = []
    emptied: list[str] = []
    for claim in claims:
        mine = claim.rows if kept is None else [row for row in claim.rows if row.id in kept]
        batch = _screened(campaign, claim, mine, post_now)
        if batch is None:
            emptied.append(claim.batch_id)  # everybody went elsewhere
        else:
            screened.append(batch)
    if emptied:
        session.execute(delete(BATCHES).where(BATCHES.c.id.in_(emptied)))
    if screened:
        session.execute(
            update(BATCHES)
            .where(BATCHES.c.id == bindparam("b_id"))
            .values(
                state=BatchState.POSTING if post_now else BatchState.SUBMITTING,
                recipient_count=bindparam("b_count"),
                parts=bindparam("b_parts"),
                first_message_id=bindparam("b_first"),
                last_message_id=bindparam("b_last"),
            ),
            [
                {
                    "b_id": batch.id,
                    "b_count": len(batch.recipients),
                    "b_parts": batch.parts,
                    "b_first": batch.first_message_id,
                    "b_last": batch.last_message_id,
                }
                for batch in screened
            ],
        )
    if policy is not None and campaign.budget is None and rows:
        # What a budget tracks as it claims, every other campaign adds up here (one atomic
        # increment: parallel screenings never lose each other's share). Last, as it holds
        # the campaign's row until commit.
        if places is None:
            places = _places(session, [row.phone for row in rows])
        session.execute(
            update(CAMPAIGNS)
            .where(CAMPAIGNS.c.id == campaign.id)
            .values(spent=CAMPAIGNS.c.spent + _cost(rows, places, policy))
        )
    return screened


def _screened(
    campaign: Campaign, claim: Claim, rows: list[Claimed], posting: bool
) -> ClaimedBatch | None:
    if not rows:
        return None
    body, parameters = text_of(campaign, rows)
    return ClaimedBatch(
        id=claim.batch_id,
        campaign_id=campaign.id,
        body=body,
        sender=campaign.sender,
        recipients=sorted(row.phone for row in rows),
        parts=sum(row.parts for row in rows),
        created_at=claim.created_at,
        parameters=parameters,
        attempts=1,
        checks_opt_outs=campaign.kind in CHECKS_OPT_OUTS,
        posting=posting,
        first_message_id=rows[0].id,
        last_message_id=rows[-1].id,
    )


def _skip_suppressed(
    session: Session, secret: bytes, claimed: list[Claimed], now: datetime
) -> list[Claimed]:
    opted_out = suppressions.suppressed_among(session, secret, (row.phone for row in claimed))
    if not opted_out:
        return claimed
    skipped = [row.id for row in claimed if row.phone in opted_out]
    session.execute(
        update(Message)
        .where(Message.id.in_(skipped))
        .values(
            status=MessageStatus.SKIPPED, batch_id=None, error=SkipReason.OPTED_OUT, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return [row for row in claimed if row.phone not in opted_out]


def _places(session: Session, phones: list[str]) -> Places:
    """Country and time zone of the contacts among `phones` (numbers alone have neither)."""
    among = is_among(Contact.phone, phones, "phones", session.get_bind().dialect.name)
    rows = session.execute(select(Contact.phone, Contact.country, Contact.time_zone).where(among))
    return {phone: (country, zone) for phone, country, zone in rows}


def _hold_outside_window(
    session: Session,
    campaign: Campaign,
    rows: list[Claimed],
    places: Places,
    policy: Policy,
    now: datetime,
) -> list[Claimed]:
    kept: list[Claimed] = []
    held: list[dict[str, Any]] = []
    verdicts = send_window.Verdicts(now, policy.rules)
    for row in rows:
        country, zone_name = places.get(row.phone, _NOWHERE)
        allowed = verdicts.allowed(row.phone, country, zone_name)
        if allowed is None:
            held.append(moved(row.id, MessageStatus.SKIPPED, now, error=SkipReason.NO_WINDOW))
        elif allowed <= now:
            kept.append(row)
        elif campaign.expires_at is not None and allowed >= campaign.expires_at:
            held.append(moved(row.id, MessageStatus.SKIPPED, now, error=SkipReason.OUTSIDE_WINDOW))
        else:
            held.append(moved(row.id, MessageStatus.DEFERRED, now, not_before=allowed))
    if held:
        session.execute(update(Message), held)
    return kept


def _cost(rows: list[Claimed], places: Places, policy: Policy) -> float:
    parts_by_country: Counter[str | None] = Counter()
    for row in rows:
        parts_by_country[_priced_as(row.phone, places)] += row.parts
    return sum(n * policy.prices.part_price(country) for country, n in parts_by_country.items())


def _row_cost(row: Claimed, places: Places, policy: Policy) -> float:
    return row.parts * policy.prices.part_price(_priced_as(row.phone, places))


def _priced_as(phone: str, places: Places) -> str | None:
    return priced_country(phone, places.get(phone, _NOWHERE)[0])


def _within_budget(
    session: Session,
    campaign: Campaign,
    rows: list[Claimed],
    places: Places,
    policy: Policy,
    now: datetime,
) -> list[Claimed]:
    """The rows the budget still pays for; at the limit the campaign pauses, the rest wait."""
    assert campaign.budget is not None
    left = campaign.budget - campaign.spent
    kept: list[Claimed] = []
    spent = 0.0
    for row in rows:
        cost = _row_cost(row, places, policy)
        if spent + cost > left + 1e-9:
            break
        kept.append(row)
        spent += cost
    if len(kept) < len(rows):
        requeued_rows = rows[len(kept) :]
        session.execute(
            update(Message), [moved(row.id, MessageStatus.QUEUED, now) for row in requeued_rows]
        )
        requeued(session, campaign.id, requeued_rows[0].id)
        campaign.status = CampaignStatus.PAUSED
        campaign.status_reason = (
            f"{PAUSED_FOR_BUDGET}: {campaign.spent + spent:.2f} of {campaign.budget:.2f} "
            f"{policy.prices.currency} spent"
        )
    campaign.spent += spent
    return kept


def wake_deferred(session: Session, now: datetime) -> int:
    """Deferred messages of sending campaigns whose time has come queue again; those whose
    campaign expired meanwhile are skipped.

    The campaigns holding deferred messages come from the partial index that holds nothing
    else, then each campaign's rows are reached through it by `campaign_id`: a plan walking
    the whole table, once a second, never gets the chance.
    """
    holding = (
        select(Message.campaign_id)
        .where(Message.not_before.is_not(None), Message.status == MessageStatus.DEFERRED)
        .distinct()
    )
    count = 0
    for campaign_id, status, expires_at in session.execute(
        select(Campaign.id, Campaign.status, Campaign.expires_at).where(Campaign.id.in_(holding))
    ):
        deferred = deferred_of(campaign_id)
        if expires_at is not None and expires_at <= now:
            session.execute(
                update(MESSAGES)
                .where(*deferred)
                .values(
                    status=MessageStatus.SKIPPED,
                    error=SkipReason.OUTSIDE_WINDOW,
                    not_before=None,
                    updated_at=now,
                )
            )
        elif status == CampaignStatus.SENDING:
            woken = session.scalars(
                update(MESSAGES)
                .where(*deferred, Message.not_before <= now)
                .values(status=MessageStatus.QUEUED, not_before=None, updated_at=now)
                .returning(MESSAGES.c.id)
            ).all()
            if woken:
                requeued(session, campaign_id, min(woken))
                count += len(woken)
    return count
