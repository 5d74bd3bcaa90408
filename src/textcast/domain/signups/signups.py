"""A request to join a list, by form or keyword: stored with its evidence, then confirmed.

Double opt-in (the default): the sign-up waits, and a "Reply Y to confirm" text goes out at
once as a one-recipient `confirmation` campaign; the person's "Y" (`confirm_latest`)
subscribes the contact, adds it to the list and queues the welcome text (a `welcome`
campaign, which keeps quiet hours). Single opt-in subscribes at once, except for a number
that once said STOP: only that person's own "Y" can take an opt-out back, so it is always
asked.

A sign-up form is the most abused surface of an SMS tool (SMS pumping), so the texts a
sign-up can cause are capped here, in the database, across processes: one confirmation text
per number per 24 hours, a form's `confirmations_per_hour`, and the daily recipient quota.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from textcast.domain import flows
from textcast.domain.accounts import audit
from textcast.domain.audience import consent, lists, suppressions
from textcast.domain.audience.contacts import time_zone_of
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.campaigns import quotas
from textcast.domain.errors import TooManyRequests
from textcast.domain.phones.numbers import country_of, mask_phone
from textcast.domain.signups import launches
from textcast.models import (
    AuditEntry,
    CampaignKind,
    ConsentPurpose,
    Contact,
    ContactStatus,
    InboundMessage,
    ListKeyword,
    ListMember,
    Signup,
    SignupChannel,
    SignupForm,
    SignupStatus,
    utcnow,
)

log = logging.getLogger("textcast.signups")

CONFIRMATION_PERIOD = timedelta(hours=24)
"""A number gets at most one confirmation text per period, whatever asked for it."""
CAP_WINDOW = timedelta(hours=1)
CAP_REACHED = "signup.cap_reached"
"""The audit action written when a form's hourly cap starts holding texts back."""
SIGNUPS_ACTOR = audit.Actor("sign-ups")
CONTACT_COLUMNS = ("first_name", "last_name")
"""Submitted fields that are contact columns; every other one is an attribute."""

ALREADY_SUBSCRIBED = "already subscribed to this list"
ONE_PER_DAY = "a confirmation text went to this number less than 24 hours ago"


class CapReached(TooManyRequests):
    """A form's hourly cap on confirmation texts holds this sign-up back."""

    def __init__(self, message: str, retry_after: float, target: str) -> None:
        super().__init__(message, retry_after)
        self.target = target


@dataclass(frozen=True, slots=True)
class SignupPolicy:
    secret: bytes
    """Keys the suppression hashes."""
    sender: str | None
    confirmation_window: timedelta
    """CONFIRMATION_HOURS: a pending sign-up expires after it."""
    daily_quota: int
    """DAILY_RECIPIENT_QUOTA: confirmation and welcome texts count toward it; 0: none."""


@dataclass(frozen=True, slots=True)
class SignupRequest:
    """What was asked, and the evidence of how: stored verbatim in the sign-up."""

    channel: SignupChannel
    phone: str
    """E.164, already checked against the form's or keyword's countries."""
    list_id: int
    double_opt_in: bool
    confirmation_text: str
    welcome_text: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    form_id: int | None = None
    keyword_id: int | None = None
    confirmations_per_hour: int = 0
    """The form's cap on confirmation texts per rolling hour; 0: none."""
    disclosure: str | None = None
    disclosure_version: int | None = None
    page_url: str | None = None
    referer: str | None = None
    origin: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    language: str | None = None
    keyword_inbound_id: int | None = None


def start_signup(
    session: Session, policy: SignupPolicy, request: SignupRequest, now: datetime | None = None
) -> Signup:
    """Store the sign-up and send what it calls for: the confirmation text, or (single opt-in)
    the subscription and the welcome text.

    Raises `TooManyRequests` with nothing stored when no text may go now (the daily quota, or
    the form's hourly cap): the person is told to try later. Any other held-back text leaves
    the reason in `confirmation_held`. For the form's cap it is `CapReached`, whose alert the
    caller records with `record_cap_alert` in a transaction of its own (this one is refused).
    """
    now = now or utcnow()
    signup = new_signup(request, now)
    contact = session.scalars(select(Contact).where(Contact.phone == request.phone)).first()
    if contact is not None and _subscribed_member(session, contact, request.list_id):
        signup.status = SignupStatus.CANCELLED
        signup.contact_id = contact.id
        signup.confirmation_held = ALREADY_SUBSCRIBED
        session.add(signup)
        session.flush()
        return signup
    opted_out = bool(suppressions.suppressed_among(session, policy.secret, [request.phone])) or (
        contact is not None and contact.status == ContactStatus.UNSUBSCRIBED
    )
    if request.double_opt_in or opted_out:
        signup.double_opt_in = True
        _ask_for_confirmation(session, policy, request, signup, now)
        return signup
    _check_quota(session, policy, now, 1 if request.welcome_text else 0)
    session.add(signup)
    session.flush()
    subscribe(session, policy, signup, now)
    return signup


def confirm_latest(
    session: Session, policy: SignupPolicy, message: InboundMessage, now: datetime | None = None
) -> Signup | None:
    """The number's latest pending sign-up, confirmed by this text; None when it has none."""
    now = now or utcnow()
    signup = session.scalars(
        select(Signup)
        .where(
            Signup.phone == message.from_phone,
            Signup.status == SignupStatus.PENDING,
            Signup.expires_at > now,
        )
        .order_by(Signup.submitted_at.desc(), Signup.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if signup is None:
        return None
    signup.confirmation_inbound_id = message.id
    subscribe(session, policy, signup, now)
    return signup


def subscribe(session: Session, policy: SignupPolicy, signup: Signup, now: datetime) -> Contact:
    """The sign-up's contact, created or updated from its fields, subscribed with the sign-up
    as evidence and added to its list; then the welcome text, if any, within the quota."""
    contact = _contact_for(session, signup)
    evidence = consent.Evidence(
        source=_source(session, signup),
        text=signup.disclosure,
        keyword=None,
        inbound_message_id=signup.confirmation_inbound_id or signup.keyword_inbound_id,
        signup_id=signup.id,
        purpose=ConsentPurpose.MARKETING,
    )
    consent.opt_in(session, policy.secret, contact, evidence)
    if signup.list_id is not None:
        lists.add_members(session, signup.list_id, [contact.id])
    signup.status = SignupStatus.CONFIRMED
    signup.confirmed_at = now
    signup.contact_id = contact.id
    lists_joined = [] if signup.list_id is None else [signup.list_id]
    flows.on_subscribed(session, flows.Entrant(contact.id, contact.phone), lists_joined, now)
    welcome = signup.welcome_text
    if welcome:
        try:
            _check_quota(session, policy, now, 1)
        except TooManyRequests as exc:
            log.warning("no welcome text to %s: %s", mask_phone(signup.phone), exc)
        else:
            signup.welcome_campaign_id = launches.send_one(
                session, policy.sender, CampaignKind.WELCOME, "Welcome text", welcome, signup.phone
            )
    return contact


def expire_due(session: Session, now: datetime | None = None) -> int:
    """Pending sign-ups past their time become `expired`; how many."""
    result = session.execute(
        update(Signup)
        .where(Signup.status == SignupStatus.PENDING, Signup.expires_at <= (now or utcnow()))
        .values(status=SignupStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def cancel_pending(session: Session, phone: str) -> int:
    """A STOP cancels the number's pending sign-ups (a later "Y" confirms nothing); how many."""
    result = session.execute(
        update(Signup)
        .where(Signup.phone == phone, Signup.status == SignupStatus.PENDING)
        .values(status=SignupStatus.CANCELLED, confirmation_held="the number sent STOP")
        .execution_options(synchronize_session=False)
    )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def new_signup(request: SignupRequest, now: datetime) -> Signup:
    return Signup(
        channel=request.channel,
        status=SignupStatus.PENDING,
        phone=request.phone,
        list_id=request.list_id,
        form_id=request.form_id,
        keyword_id=request.keyword_id,
        double_opt_in=request.double_opt_in,
        fields=dict(request.fields),
        disclosure=request.disclosure,
        disclosure_version=request.disclosure_version,
        page_url=request.page_url,
        referer=request.referer,
        origin=request.origin,
        ip=request.ip,
        user_agent=request.user_agent,
        language=request.language,
        keyword_inbound_id=request.keyword_inbound_id,
        welcome_text=request.welcome_text,
        submitted_at=now,
    )


def _ask_for_confirmation(
    session: Session, policy: SignupPolicy, request: SignupRequest, signup: Signup, now: datetime
) -> None:
    signup.expires_at = now + policy.confirmation_window
    # Counting and adding take turns across processes, so the caps hold exactly (the lock the
    # keyword replies and opt-outs take; SQLite's single writer takes turns by itself).
    hold_opt_out_lock(session, shared=False)
    if _confirmed_recently(session, request.phone, now):
        signup.confirmation_held = ONE_PER_DAY
        session.add(signup)
        session.flush()
        return
    if request.form_id is not None and request.confirmations_per_hour:
        _check_form_cap(session, request.form_id, request.confirmations_per_hour, now)
    _check_quota(session, policy, now, 1)
    # The text first, so the sign-up is written once, already naming it.
    signup.confirmation_campaign_id = launches.send_one(
        session,
        policy.sender,
        CampaignKind.CONFIRMATION,
        "Sign-up confirmation",
        request.confirmation_text,
        request.phone,
    )
    session.add(signup)
    session.flush()


def _confirmed_recently(session: Session, phone: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(Signup.id)
            .where(
                Signup.phone == phone,
                Signup.submitted_at > now - CONFIRMATION_PERIOD,
                Signup.confirmation_campaign_id.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def _check_form_cap(session: Session, form_id: int, cap: int, now: datetime) -> None:
    if texts_sent_last_hour(session, form_id, cap, now) >= cap:
        raise cap_reached(form_id, cap)


def texts_sent_last_hour(session: Session, form_id: int, cap: int, now: datetime) -> int:
    """The form's confirmation texts in the last hour, counted up to `cap` at most: a busy
    form's hour of sign-ups is not read again each time."""
    recent = (
        select(Signup.id)
        .where(
            Signup.form_id == form_id,
            Signup.submitted_at > now - CAP_WINDOW,
            Signup.confirmation_campaign_id.is_not(None),
        )
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(recent)) or 0


def cap_reached(form_id: int, cap: int) -> CapReached:
    reason = f"confirmation texts in the last hour reached this form's cap of {cap} per hour"
    return CapReached(reason, CAP_WINDOW.total_seconds(), f"form:{form_id}")


def record_cap_alert(session: Session, exc: CapReached, now: datetime | None = None) -> bool:
    """One audit entry when a cap starts holding texts back, not one per refused sign-up;
    True when this one wrote it."""
    now = now or utcnow()
    recent = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.action == CAP_REACHED,
            AuditEntry.target == exc.target,
            AuditEntry.at > now - CAP_WINDOW,
        )
        .limit(1)
    )
    if recent is not None:
        return False
    audit.record(session, SIGNUPS_ACTOR, CAP_REACHED, exc.target, reason=str(exc))
    log.warning("sign-up cap reached for %s: %s", exc.target, exc)
    return True


def _check_quota(session: Session, policy: SignupPolicy, now: datetime, texts: int) -> None:
    if not policy.daily_quota or not texts:
        return
    used = quotas.recipients_launched_since(session, now - quotas.QUOTA_WINDOW)
    if used + texts > policy.daily_quota:
        raise quota_reached(used, policy.daily_quota)


def quota_reached(used: int, quota: int) -> TooManyRequests:
    return TooManyRequests(
        f"{used} recipients in the last 24 hours reached the quota of "
        f"{quota} (DAILY_RECIPIENT_QUOTA)",
        3600.0,
    )


def _subscribed_member(session: Session, contact: Contact, list_id: int) -> bool:
    if contact.status != ContactStatus.SUBSCRIBED:
        return False
    return (
        session.scalar(
            select(ListMember.contact_id).where(
                ListMember.list_id == list_id, ListMember.contact_id == contact.id
            )
        )
        is not None
    )


def _contact_for(session: Session, signup: Signup) -> Contact:
    values = {k: v for k, v in signup.fields.items() if v not in (None, "") and k != "phone"}
    contact = session.scalars(select(Contact).where(Contact.phone == signup.phone)).first()
    if contact is None:
        contact = Contact(
            phone=signup.phone,
            country=country_of(signup.phone),
            time_zone=time_zone_of(signup.phone),
            attributes={},
            status=ContactStatus.SUBSCRIBED,
        )
        session.add(contact)
    for name in CONTACT_COLUMNS:
        if name in values:
            setattr(contact, name, str(values.pop(name))[:200])
    if values:
        contact.attributes = {**(contact.attributes or {}), **values}
    contact.transactional_consent = True
    session.flush()
    return contact


def _source(session: Session, signup: Signup) -> str:
    """`form:<slug>` or `keyword:<WORD>`: where the consent was given, readable in the ledger."""
    if signup.form_id is not None:
        slug = session.scalar(select(SignupForm.slug).where(SignupForm.id == signup.form_id))
        return f"form:{slug}" if slug else "form"
    if signup.keyword_id is not None:
        word = session.scalar(select(ListKeyword.word).where(ListKeyword.id == signup.keyword_id))
        return f"keyword:{word}" if word else "keyword"
    return signup.channel.value if isinstance(signup.channel, SignupChannel) else signup.channel
