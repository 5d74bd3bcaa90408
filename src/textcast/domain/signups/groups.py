"""Many sign-ups in one transaction, as if `start_signup` took them one after the other: the
group commit of a busy public form.

A double opt-in sign-up with a plain confirmation text (a form's usual case) is read and
written together with its neighbours, a few statements for the whole run of them: each
statement costs a round of the GIL on a busy server, far more than SQLite's own work. Any
other sign-up (single opt-in: it subscribes, and may send a welcome text) goes through
`start_signup` itself in a savepoint, between runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.campaigns import quotas
from textcast.domain.errors import DomainError
from textcast.domain.signups.launches import launch_texts, plain_body
from textcast.domain.signups.signups import (
    ALREADY_SUBSCRIBED,
    CONFIRMATION_PERIOD,
    ONE_PER_DAY,
    CapReached,
    SignupPolicy,
    SignupRequest,
    cap_reached,
    new_signup,
    quota_reached,
    record_cap_alert,
    start_signup,
    texts_sent_last_hour,
)
from textcast.models import (
    CampaignKind,
    Contact,
    ContactStatus,
    ListMember,
    Signup,
    SignupStatus,
    utcnow,
)

Started = Signup | DomainError
"""A sign-up stored, or why it was refused (nothing of it stored)."""


def start_signups(
    session: Session,
    policy: SignupPolicy,
    requests: Sequence[SignupRequest],
    now: datetime | None = None,
) -> list[Started]:
    """Each request's outcome, in order. A form's cap that refuses one records its alert here
    (once an hour), committed with the others."""
    now = now or utcnow()
    outcomes: list[Started] = []
    run: list[SignupRequest] = []
    for request in requests:
        if request.double_opt_in and plain_body(request.confirmation_text, policy.sender):
            run.append(request)
            continue
        outcomes += _start_run(session, policy, run, now)
        run = []
        try:
            with session.begin_nested():
                outcomes.append(start_signup(session, policy, request, now))
        except CapReached as exc:
            record_cap_alert(session, exc, now)
            outcomes.append(exc)
        except DomainError as exc:
            outcomes.append(exc)
    outcomes += _start_run(session, policy, run, now)
    return outcomes


def _start_run(
    session: Session, policy: SignupPolicy, run: list[SignupRequest], now: datetime
) -> list[Started]:
    """Double opt-in sign-ups with plain texts: `start_signup`'s rules, read once for all."""
    if not run:
        return []
    phones = sorted({request.phone for request in run})
    hold_opt_out_lock(session, shared=False)
    members = _subscribed_memberships(session, phones)
    recent = set(
        session.scalars(
            select(Signup.phone)
            .where(
                Signup.phone.in_(phones),
                Signup.submitted_at > now - CONFIRMATION_PERIOD,
                Signup.confirmation_campaign_id.is_not(None),
            )
            .distinct()
        )
    )
    room: dict[int, int] = {}
    quota_used = (
        quotas.recipients_launched_since(session, now - quotas.QUOTA_WINDOW)
        if policy.daily_quota
        else 0
    )
    outcomes: list[Started] = []
    asking: list[tuple[Signup, str]] = []
    """The sign-ups whose confirmation text goes now, with that text."""
    for request in run:
        signup = new_signup(request, now)
        if (request.phone, request.list_id) in members:
            signup.status = SignupStatus.CANCELLED
            signup.contact_id = members[(request.phone, request.list_id)]
            signup.confirmation_held = ALREADY_SUBSCRIBED
            outcomes.append(signup)
            continue
        signup.double_opt_in = True
        signup.expires_at = now + policy.confirmation_window
        if request.phone in recent:
            signup.confirmation_held = ONE_PER_DAY
            outcomes.append(signup)
            continue
        cap = request.confirmations_per_hour
        if request.form_id is not None and cap:
            if request.form_id not in room:
                room[request.form_id] = cap - texts_sent_last_hour(
                    session, request.form_id, cap, now
                )
            if room[request.form_id] <= 0:
                refused = cap_reached(request.form_id, cap)
                record_cap_alert(session, refused, now)
                outcomes.append(refused)
                continue
            room[request.form_id] -= 1
        if policy.daily_quota and quota_used + 1 > policy.daily_quota:
            outcomes.append(quota_reached(quota_used, policy.daily_quota))
            continue
        quota_used += 1
        recent.add(request.phone)
        asking.append((signup, request.confirmation_text))
        outcomes.append(signup)
    texts = []
    for signup, text in asking:
        info = plain_body(text, policy.sender)
        assert info is not None  # the run takes plain texts only
        texts.append((signup.phone, text, info))
    ids = launch_texts(
        session, policy.sender, CampaignKind.CONFIRMATION, "Sign-up confirmation", texts
    )
    for (signup, _), campaign_id in zip(asking, ids, strict=True):
        signup.confirmation_campaign_id = campaign_id
    session.add_all([outcome for outcome in outcomes if isinstance(outcome, Signup)])
    session.flush()
    return outcomes


def _subscribed_memberships(session: Session, phones: list[str]) -> dict[tuple[str, int], int]:
    """(phone, list) -> contact id, for the numbers' subscribed contacts and their lists."""
    rows = session.execute(
        select(Contact.phone, ListMember.list_id, Contact.id)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .where(Contact.phone.in_(phones), Contact.status == ContactStatus.SUBSCRIBED)
    )
    return {(phone, list_id): contact_id for phone, list_id, contact_id in rows}
