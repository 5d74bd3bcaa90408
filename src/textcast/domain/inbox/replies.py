"""What an inbound message does: STOP, START and HELP act and answer; a confirmation reply (Y)
confirms the number's pending sign-up; a list's keyword (VIP) starts one, or reminds a member
that they are subscribed; anything else is a reply.

In that order: a STOP always wins (and cancels the number's pending sign-ups); a Y confirms
only while a sign-up waits for it, otherwise a word that is also an opt-in keyword (YES) keeps
meaning START, and a bare Y is just a reply.

Answers go out through the dispatcher as one-recipient `reply` campaigns, which skip the
opt-out check (a STOP's confirmation goes to a number that just opted out) and are sent before
marketing batches.

Anyone can send us a keyword, so answers are capped against SMS pumping (docs/sending-protocol.md,
"SMS pumping defences"): each kind once per number per period, all of them together per hour,
and within the daily recipient quota that campaigns use. A capped keyword is still applied (a
STOP is always honoured); only its answer is held back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textcast.domain import flows, stream
from textcast.domain.accounts import audit
from textcast.domain.audience import consent, hygiene
from textcast.domain.audience.opt_out_lock import hold_opt_out_lock
from textcast.domain.campaigns import drafts, quotas
from textcast.domain.campaigns.launch import launch_campaign
from textcast.domain.content.words import normalise
from textcast.domain.errors import InvalidInput, TooManyRequests
from textcast.domain.inbox import inbound, threads
from textcast.domain.inbox.keywords import Keyword, KeywordRules
from textcast.domain.inbox.storage import InapplicableEvent
from textcast.domain.phones.numbers import InvalidPhone, country_of, mask_phone, read_phone
from textcast.domain.signups import keywords as list_keywords
from textcast.domain.signups import signups
from textcast.domain.signups.signups import SignupPolicy, SignupRequest
from textcast.models import (
    AuditEntry,
    Campaign,
    CampaignKind,
    CampaignRecipient,
    Contact,
    ContactStatus,
    EventType,
    InboundMessage,
    ListKeyword,
    Message,
    Signup,
    SignupChannel,
    utcnow,
)
from textcast.vocabulary import MARKETING_KINDS, reply_campaign_names

log = logging.getLogger("textcast.replies")

ATTRIBUTION_WINDOW = timedelta(hours=72)
REPLY_CAP_WINDOW = timedelta(hours=1)
REPLIES_HELD = "keyword_replies_held"
KEYWORDS_ACTOR = audit.Actor("inbound keywords")


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    rules: KeywordRules
    texts: dict[Keyword, str]
    """The answer to each keyword, placeholders already filled."""
    period: timedelta
    """Each kind of answer goes to a number at most once per period."""
    sender: str | None = None
    per_hour: int = 0
    """Answers to all numbers together per rolling hour (KEYWORD_REPLIES_PER_HOUR); 0: no cap."""
    daily_quota: int = 0
    """DAILY_RECIPIENT_QUOTA: answers count toward it and are held back once it is reached."""
    confirm_words: frozenset[str] = frozenset()
    """CONFIRM_KEYWORDS, normalised: a reply of one confirms the number's pending sign-up."""
    signup_country: str | None = None
    """DEFAULT_REGION: a list's keyword starts a sign-up from this country's numbers only
    (a text to a number abroad is where SMS pumping pays); None: from any country."""


def handle_inbound(
    session: Session,
    secret: bytes,
    policy: ReplyPolicy,
    message: InboundMessage,
    signup_policy: SignupPolicy | None = None,
) -> Keyword | None:
    """Act on a stored inbound message: keyword, or a reply linked to contact and campaign.

    Without a `signup_policy`, confirmation replies and lists' keywords are not looked for."""
    keyword = policy.rules.classify(message.body)
    contact = session.scalars(select(Contact).where(Contact.phone == message.from_phone)).first()
    if keyword is not None and contact is None:
        _check_textable(message.from_phone, keyword)
    if keyword is Keyword.OPT_OUT:
        contact = contact or _new_contact(session, message.from_phone, ContactStatus.UNSUBSCRIBED)
        evidence = consent.Evidence("keyword", message.body[:200], _word(message), message.id)
        consent.opt_out(session, secret, contact, evidence)
        signups.cancel_pending(session, message.from_phone)
        flows.end_runs(session, contact_ids=[contact.id], now=message.received_at)
    elif signup_policy is not None and (
        joined := _act_on_signup(session, policy, signup_policy, message, keyword)
    ):
        keyword = joined
        contact = (
            contact
            or session.scalars(select(Contact).where(Contact.phone == message.from_phone)).first()
        )
    elif keyword is Keyword.OPT_IN:
        contact = contact or _new_contact(session, message.from_phone, ContactStatus.SUBSCRIBED)
        evidence = consent.Evidence("keyword", message.body[:200], _word(message), message.id)
        consent.opt_in(session, secret, contact, evidence)
    elif keyword is None and contact is not None and contact.status == ContactStatus.SUBSCRIBED:
        # A flow's keyword starts it for a subscribed contact (a new number joins by a
        # list's keyword, which asks for consent first).
        flows.on_keyword(session, flows.Entrant(contact.id, contact.phone), message.body)
    if contact is not None:
        message.contact_id = contact.id
        hygiene.clear_streak(contact)  # a number that texts us can be reached
    message.campaign_id = _answered_campaign(session, message)
    if keyword is not None:
        message.keyword = keyword.value
        if keyword in policy.texts:
            _answer(session, policy, message.from_phone, keyword, policy.texts[keyword])
    threads.note_inbound(session, message, keyword)
    _announce(session, message)
    return keyword


def _announce(session: Session, message: InboundMessage) -> None:
    """`reply.received`, with what acting on the message found (its sender, keyword, the
    campaign it answers)."""
    data = {
        "inbound_id": message.id,
        "contact_id": message.contact_id,
        "phone": message.from_phone,
        "to": message.to,
        "body": message.body,
        "keyword": message.keyword,
        "campaign_id": message.campaign_id,
        "received_at": stream.timestamp(message.received_at),
    }
    stream.record(session, EventType.REPLY_RECEIVED, data)


def _act_on_signup(
    session: Session,
    policy: ReplyPolicy,
    signup_policy: SignupPolicy,
    message: InboundMessage,
    classified: Keyword | None,
) -> Keyword | None:
    """A confirmation reply while a sign-up waits for it, or a list's keyword; None when the
    message is neither (`classified`: START or HELP, which no list's keyword can be)."""
    if normalise(message.body) in policy.confirm_words:
        confirmed = signups.confirm_latest(session, signup_policy, message)
        if confirmed is not None and confirmed.contact_id is not None:
            # The keyword that started it, and any text before, become the new contact's.
            inbound.link_sender(session, message.from_phone, confirmed.contact_id)
            return Keyword.CONFIRM
    if classified is not None:
        return None
    keyword = list_keywords.find_keyword(session, message.body)
    if keyword is None:
        return None
    phone = message.from_phone
    if list_keywords.subscribed_member(session, phone, keyword.list_id):
        _answer(session, policy, phone, Keyword.ALREADY_MEMBER, keyword.already_subscribed_text)
        return Keyword.ALREADY_MEMBER
    _check_textable(phone, Keyword.SIGNUP)
    held = _signup_held_back(session, policy, phone, utcnow())
    if held is not None:
        setting, reason = held
        log.warning("no sign-up text to %s: %s", mask_phone(phone), reason)
        _record_tripped_limit(session, setting, reason)
    else:
        _start_signup(session, signup_policy, keyword, message)
    return Keyword.SIGNUP


def _signup_held_back(
    session: Session, policy: ReplyPolicy, phone: str, now: datetime
) -> tuple[str, str] | None:
    """Why a list's keyword from `phone` starts nothing (nothing is stored, no text goes): a
    number from another country than DEFAULT_REGION's, or the keyword answers' hourly cap."""
    country = country_of(phone)
    if policy.signup_country and country != policy.signup_country:
        return "DEFAULT_REGION", (
            f"a list's keyword from a number of {country or 'an unknown country'}: keyword "
            f"sign-ups are taken from {policy.signup_country} numbers only (DEFAULT_REGION)"
        )
    held = _held_back(session, policy, now)
    return held if held is not None and held[0] == "KEYWORD_REPLIES_PER_HOUR" else None


def _start_signup(
    session: Session, policy: SignupPolicy, keyword: ListKeyword, message: InboundMessage
) -> None:
    """The keyword's double (or single) opt-in, with the message as its evidence. When no
    text may go (the daily quota), nothing is stored: the person can text the word again."""
    request = SignupRequest(
        channel=SignupChannel.KEYWORD,
        phone=message.from_phone,
        list_id=keyword.list_id,
        double_opt_in=keyword.double_opt_in,
        confirmation_text=keyword.confirmation_text,
        welcome_text=keyword.welcome_text,
        keyword_id=keyword.id,
        disclosure=message.body,
        keyword_inbound_id=message.id,
    )
    savepoint = session.begin_nested()
    try:
        signups.start_signup(session, policy, request)
    except TooManyRequests as exc:
        savepoint.rollback()
        log.warning("no sign-up text to %s: %s", mask_phone(message.from_phone), exc)
        _record_tripped_limit(session, "DAILY_RECIPIENT_QUOTA", str(exc))
    except InvalidInput:  # a known contact whose number cannot receive texts (a landline)
        savepoint.rollback()
        log.warning(
            "no sign-up text to %s: it cannot receive texts", mask_phone(message.from_phone)
        )
    else:
        savepoint.commit()


def _answered_campaign(session: Session, message: InboundMessage) -> int | None:
    """The last marketing campaign (or flow step) that texted this number in the attribution
    window."""
    since = message.received_at - ATTRIBUTION_WINDOW
    recent = select(Campaign.id).where(
        Campaign.kind.in_(MARKETING_KINDS), Campaign.launched_at >= since - ATTRIBUTION_WINDOW
    )
    # `campaign_id IN (...)` lets the (campaign_id, phone) index find the rows without a scan.
    return session.scalar(
        select(Message.campaign_id)
        .where(
            Message.campaign_id.in_(recent.scalar_subquery()),
            Message.phone == message.from_phone,
            Message.updated_at >= since,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def _check_textable(phone: str, keyword: Keyword) -> None:
    """A keyword from a number no one can text has nothing to act on: no campaign can include
    the number (campaigns and imports refuse it), and no answer can reach it."""
    try:
        read_phone(phone, "US", with_time_zone=False)
    except InvalidPhone as exc:
        raise InapplicableEvent(
            f"{keyword.value} from a number that cannot receive texts ({exc})"
        ) from None


def _word(message: InboundMessage) -> str:
    return message.body.strip()[:32]


def _new_contact(session: Session, phone: str, status: ContactStatus) -> Contact:
    """A number we never had writes in: keep it, so its consent has a home."""
    contact = Contact(phone=phone, country=country_of(phone), attributes={}, status=status)
    session.add(contact)
    session.flush()
    return contact


def _answer(session: Session, policy: ReplyPolicy, phone: str, keyword: Keyword, text: str) -> None:
    name, old_name = reply_campaign_names(keyword.value)
    since = utcnow() - policy.period
    already = session.scalar(
        select(Campaign.id)
        .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
        .where(
            Campaign.kind == CampaignKind.REPLY,
            Campaign.name.in_((name, old_name)),
            Campaign.created_at > since,
            CampaignRecipient.phone == phone,
        )
        .limit(1)
    )
    if already is not None:
        return
    held = _held_back(session, policy, utcnow())
    if held is not None:
        setting, reason = held
        log.warning("no %s reply to %s: %s", keyword.value, mask_phone(phone), reason)
        _record_tripped_limit(session, setting, reason)
        return
    draft = drafts.CampaignDraft(name, text, [phone], policy.sender)
    try:
        reply = drafts.create_campaign(session, draft, "US", kind=CampaignKind.REPLY)
    except InvalidInput:  # a known contact whose number cannot receive texts (a landline)
        log.warning("no %s reply to %s: it cannot receive texts", keyword.value, mask_phone(phone))
        return
    launch_campaign(session, reply.id)


def _held_back(session: Session, policy: ReplyPolicy, now: datetime) -> tuple[str, str] | None:
    """The setting that holds the next answer back, and why; None when it may go."""
    if not policy.per_hour and not policy.daily_quota:
        return None
    # Writers in every process take turns to count and add an answer, so the caps hold exactly:
    # on PostgreSQL under the opt-out lock, held until the group commits (a lock of our own
    # would deadlock against a group holding that one: STOP then HELP in one group, HELP then
    # STOP in another); SQLite's single writer takes turns by itself.
    hold_opt_out_lock(session, shared=False)
    if policy.per_hour:
        replies = session.scalar(
            select(func.count())
            .select_from(Campaign)
            .where(
                Campaign.launched_at > now - REPLY_CAP_WINDOW,
                Campaign.kind == CampaignKind.REPLY,
            )
        )
        # A list keyword's confirmation text is an answer to a keyword too.
        confirmations = session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(
                Signup.channel == SignupChannel.KEYWORD,
                Signup.submitted_at > now - REPLY_CAP_WINDOW,
                Signup.confirmation_campaign_id.is_not(None),
            )
        )
        answered = (replies or 0) + (confirmations or 0)
        if answered >= policy.per_hour:
            return "KEYWORD_REPLIES_PER_HOUR", (
                f"{answered} keyword replies in the last hour reached the cap of "
                f"{policy.per_hour} (KEYWORD_REPLIES_PER_HOUR)"
            )
    if policy.daily_quota:
        used = quotas.recipients_launched_since(session, now - quotas.QUOTA_WINDOW)
        if used >= policy.daily_quota:
            return "DAILY_RECIPIENT_QUOTA", (
                f"{used} recipients in the last 24 hours reached the quota of "
                f"{policy.daily_quota} (DAILY_RECIPIENT_QUOTA)"
            )
    return None


def _record_tripped_limit(session: Session, setting: str, reason: str) -> None:
    """One audit entry when a limit starts holding answers back, not one per answer: none
    while an entry for the same limit is less than an hour old."""
    recent = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.action == REPLIES_HELD,
            AuditEntry.target == setting,
            AuditEntry.at > utcnow() - REPLY_CAP_WINDOW,
        )
        .limit(1)
    )
    if recent is None:
        audit.record(session, KEYWORDS_ACTOR, REPLIES_HELD, setting, reason=reason)
