"""All tables on one screen. Status values are `vocabulary`'s StrEnums; timestamps are aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from textcast.vocabulary import (
    BATCHES_ON_THEIR_WAY as BATCHES_ON_THEIR_WAY,
)
from textcast.vocabulary import (
    AbFallback as AbFallback,
)
from textcast.vocabulary import (
    AbMetric as AbMetric,
)
from textcast.vocabulary import (
    AbState as AbState,
)
from textcast.vocabulary import (
    BatchState as BatchState,
)
from textcast.vocabulary import (
    CampaignKind as CampaignKind,
)
from textcast.vocabulary import (
    CampaignStatus as CampaignStatus,
)
from textcast.vocabulary import (
    ConsentKind as ConsentKind,
)
from textcast.vocabulary import (
    ConsentPurpose as ConsentPurpose,
)
from textcast.vocabulary import (
    ContactStatus as ContactStatus,
)
from textcast.vocabulary import (
    ConversationState as ConversationState,
)
from textcast.vocabulary import (
    DeliveryStatus as DeliveryStatus,
)
from textcast.vocabulary import (
    EventType as EventType,
)
from textcast.vocabulary import (
    FlowStatus as FlowStatus,
)
from textcast.vocabulary import (
    ImportStatus as ImportStatus,
)
from textcast.vocabulary import (
    MessageStatus as MessageStatus,
)
from textcast.vocabulary import (
    Role as Role,
)
from textcast.vocabulary import (
    RunStatus as RunStatus,
)
from textcast.vocabulary import (
    SignupChannel as SignupChannel,
)
from textcast.vocabulary import (
    SignupStatus as SignupStatus,
)
from textcast.vocabulary import (
    SkipReason as SkipReason,
)
from textcast.vocabulary import (
    SubscriptionStatus as SubscriptionStatus,
)
from textcast.vocabulary import (
    WebhookKind as WebhookKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python on every engine (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; textcast stores aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Free key/value pairs for personalisation (extra CSV columns land here)."""
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ContactStatus] = mapped_column(
        String(16), default=ContactStatus.SUBSCRIBED, index=True
    )
    """Marketing consent: `subscribed` is confirmed consent, the only status campaigns reach."""
    transactional_consent: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    """Messages the person asked for (an order's shipping): withdrawn by STOP with the rest."""
    failure_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Permanent delivery failures in a row (list hygiene); a delivery or a text from the
    number starts it over."""
    failed_message_ids: Mapped[list[int] | None] = mapped_column(JSON)
    """The messages of the current streak, the evidence when it makes the number invalid."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListMember(Base):
    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Segment(Base):
    """A saved filter over contacts, evaluated when a campaign is launched."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """Append-only: who agreed or refused, when, how, with what evidence."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ConsentKind] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    """`import:<id>`, `keyword`, `api`, `cli`…"""
    evidence: Mapped[str | None] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(String(32))
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    purpose: Mapped[ConsentPurpose] = mapped_column(
        String(16), default=ConsentPurpose.MARKETING, server_default="marketing"
    )
    signup_id: Mapped[int | None] = mapped_column(ForeignKey("signups.id", ondelete="SET NULL"))
    """The sign-up (form or keyword) whose evidence this event rests on."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignupForm(Base):
    """A sign-up form of a list: hosted at `/join/{slug}`, embeddable on the operator's site."""

    __tablename__ = "signup_forms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    """The heading of the hosted page."""
    description: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Besides the phone (always asked, always required): `[{"name": "first_name",
    "required": false}, {"name": "store", "label": "Favourite store", "required": true}]`.
    `first_name`, `last_name`, `email` and `birthday` are known; any other name is a custom
    attribute of the contact."""
    disclosure: Mapped[str] = mapped_column(Text)
    """The consent text shown next to the button, verbatim in every sign-up's evidence."""
    disclosure_version: Mapped[int] = mapped_column(Integer, default=1)
    """Goes up by one whenever the disclosure's text changes."""
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    """ISO codes whose numbers may sign up; checked before any text is sent."""
    confirmation_text: Mapped[str] = mapped_column(Text)
    welcome_text: Mapped[str | None] = mapped_column(Text)
    """None: no welcome text."""
    thank_you_text: Mapped[str | None] = mapped_column(Text)
    redirect_url: Mapped[str | None] = mapped_column(Text)
    """Where the browser goes after a sign-up instead of the thank-you page; its origin must
    be one of `allowed_origins`."""
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    """`https://shop.example.com`: the sites that may embed the form (CORS, redirects)."""
    language: Mapped[str] = mapped_column(String(8), default="en")
    """Of the page's own words (labels, errors); the disclosure is the operator's text."""
    confirmations_per_hour: Mapped[int] = mapped_column(Integer, default=100)
    """Confirmation texts this form may cause per rolling hour; an audit alert when it trips."""
    views: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    """Submissions refused as abuse: honeypot, rate limits, caps, countries not allowed."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None]
    """Archived forms answer 404 and accept nothing; their sign-ups stay as evidence."""


class ListKeyword(Base):
    """A word people text to join a list (`VIP`), stored as `keywords.normalise` leaves it."""

    __tablename__ = "list_keywords"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    word: Mapped[str] = mapped_column(String(32), unique=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    confirmation_text: Mapped[str] = mapped_column(Text)
    welcome_text: Mapped[str | None] = mapped_column(Text)
    already_subscribed_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signup(Base):
    """One request to join a list, by form or keyword, with its evidence kept verbatim.

    Nothing else changes until it is confirmed: the contact is created or subscribed only
    then (at once for a single opt-in)."""

    __tablename__ = "signups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[SignupChannel] = mapped_column(String(16))
    status: Mapped[SignupStatus] = mapped_column(String(16), default=SignupStatus.PENDING)
    phone: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("signup_forms.id", ondelete="SET NULL"))
    keyword_id: Mapped[int | None] = mapped_column(
        ForeignKey("list_keywords.id", ondelete="SET NULL")
    )
    double_opt_in: Mapped[bool] = mapped_column(Boolean)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What was submitted, as submitted (the phone as typed included)."""
    disclosure: Mapped[str | None] = mapped_column(Text)
    """The exact consent text shown (a form's), or the keyword message (a keyword's)."""
    disclosure_version: Mapped[int | None] = mapped_column(Integer)
    page_url: Mapped[str | None] = mapped_column(Text)
    """The form's own URL."""
    referer: Mapped[str | None] = mapped_column(Text)
    """The page that showed the form (Referer), e.g. the operator's site embedding it."""
    origin: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(8))
    keyword_inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    """The text that carried the keyword."""
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    """A pending sign-up not confirmed by then expires."""
    confirmation_campaign_id: Mapped[int | None] = mapped_column(BigId)
    """The one-recipient campaign carrying "Reply Y to confirm"."""
    confirmation_held: Mapped[str | None] = mapped_column(String(300))
    """Why no confirmation text was sent (one per number per 24 hours, a cap, the quota)."""
    confirmed_at: Mapped[datetime | None]
    confirmation_inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    """The "Y" that confirmed it."""
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    welcome_text: Mapped[str | None] = mapped_column(Text)
    """The welcome text the form or keyword had when the sign-up came; sent on confirmation."""
    welcome_campaign_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_signups_phone_submitted_at", "phone", "submitted_at"),
        Index("ix_signups_form_id_submitted_at", "form_id", "submitted_at"),
        Index(
            "ix_signups_pending",
            "expires_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class ContactInvalidation(Base):
    """List hygiene: a number made `invalid` after permanent failures in a row, and why."""

    __tablename__ = "contact_invalidations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(BigId, index=True)
    """The campaign whose failed message tipped it over."""
    reason: Mapped[str] = mapped_column(Text)
    message_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    restored_at: Mapped[datetime | None]
    restored_by: Mapped[str | None] = mapped_column(String(300))


class Suppression(Base):
    """An opted-out number as a keyed hash: it outlives erasure without keeping the number."""

    __tablename__ = "suppressions"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportJob(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[ImportStatus] = mapped_column(String(16), default=ImportStatus.PENDING)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    default_region: Mapped[str] = mapped_column(String(2))
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    kept_opted_out: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ImportRejection(Base):
    __tablename__ = "import_rejections"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(String(200))


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[CampaignStatus] = mapped_column(String(16), default=CampaignStatus.DRAFT)
    kind: Mapped[CampaignKind] = mapped_column(String(16), default=CampaignKind.MARKETING)
    encoding: Mapped[str] = mapped_column(String(8))
    parts: Mapped[int] = mapped_column(Integer)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """`{"lists": [ids], "segments": [ids]}`, resolved at launch, besides raw numbers."""
    smart_encoding: Mapped[bool] = mapped_column(Boolean, default=False)
    """Replace characters that force UCS-2 (curly quotes, dashes...) with GSM-7 ones at send."""
    short_links: Mapped[bool] = mapped_column(Boolean, default=False)
    """URLs in the body became per-recipient short links at launch."""
    send_at: Mapped[datetime | None]
    """Absolute start; null: at launch."""
    local_send_time: Mapped[str | None] = mapped_column(String(5))
    """`HH:MM` in each recipient's own time zone, instead of one instant for everybody."""
    expires_at: Mapped[datetime | None]
    """Messages still held by quiet hours at this time are skipped instead."""
    budget: Mapped[float | None] = mapped_column(Float)
    """Spending cap in the price table's currency: launch refused above, paused on reaching."""
    estimated_cost: Mapped[float | None] = mapped_column(Float)
    spent: Mapped[float] = mapped_column(Float, default=0.0)
    """Estimated cost of the parts handed to Sinch so far."""
    status_reason: Mapped[str | None] = mapped_column(Text)
    """Why it is paused, cancelled or failed."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    launched_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    """An A/B test's campaign holds no messages of its own: its variants' test cells and the
    rest of its audience are campaigns of their own under it (`experiments`)."""
    variant: Mapped[str | None] = mapped_column(String(1))
    """Under an A/B test: the label of the variant this campaign sends (the rest's, once the
    winner is chosen)."""

    __table_args__ = (
        # The launches of the last 24 hours (DAILY_RECIPIENT_QUOTA) and the keyword replies of
        # the last hour (KEYWORD_REPLIES_PER_HOUR) are counted at every launch and reply.
        Index("ix_campaigns_launched_at", "launched_at"),
    )


class CampaignVariant(Base):
    """One of an A/B test's 2-5 texts, or 2-3 send times, as written in the draft."""

    __tablename__ = "campaign_variants"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(1), primary_key=True)
    """A, B, C...: their order."""
    body: Mapped[str | None] = mapped_column(Text)
    """Null: the campaign's own text (a send-time test)."""
    local_send_time: Mapped[str | None] = mapped_column(String(5))
    """`HH:MM` in each recipient's time zone (a send-time test); null: the campaign's."""
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    """Once launched: the campaign that sends this variant to its share of the test pool."""


class AbTest(Base):
    """A campaign's A/B test: how the pool is drawn, how the winner is chosen, and where the
    decision stands (a durable step: taken once, in one transaction with the rest's launch)."""

    __tablename__ = "ab_tests"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    pool_percent: Mapped[int] = mapped_column(Integer, default=20)
    metric: Mapped[AbMetric] = mapped_column(String(16), default=AbMetric.CLICKS)
    event_name: Mapped[str | None] = mapped_column(String(100))
    window_hours: Mapped[int] = mapped_column(Integer, default=24)
    """Replies and events count within this long after each text was sent."""
    decide_after_minutes: Mapped[int | None] = mapped_column(Integer)
    """After the test pool has been handed over; null: the operator picks."""
    fallback: Mapped[AbFallback] = mapped_column(String(16), default=AbFallback.FIRST)
    min_sample: Mapped[int] = mapped_column(Integer, default=100)
    """Texts sent per variant below which its figures are "not enough data yet"."""
    confidence: Mapped[float] = mapped_column(Float, default=0.95)
    """The probability of being the best a winner needs."""
    seed: Mapped[str] = mapped_column(String(32))
    """Draws the test pool: the same audience and seed give the same split."""
    state: Mapped[AbState] = mapped_column(String(16), default=AbState.DRAFT)
    pool_sent_at: Mapped[datetime | None]
    """When the last test cell was handed over: the decision time counts from it."""
    decide_at: Mapped[datetime | None]
    winner: Mapped[str | None] = mapped_column(String(1))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    """"automatic", "fallback", or the user who picked."""
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The figures the decision saw, per variant, and why it chose as it did."""
    rest_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    """The campaign of the audience outside the pool; a draft until the winner is chosen."""
    rest_error: Mapped[str | None] = mapped_column(Text)
    """Why the rest could not be sent at the decision (the quota, the budget): tried again."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimCursor(Base):
    """Where the dispatcher's next claim of a campaign starts: every `queued` message of the
    campaign has a greater id (lowered whenever one is queued again, `outbox.claims.requeued`).

    A row of its own, not a column of `campaigns`: claims take turns on it without waiting
    for whatever else updates the campaign meanwhile (its spend, a pause).
    """

    __tablename__ = "claim_cursors"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_through: Mapped[int] = mapped_column(BigId, default=0)


class CampaignRecipient(Base):
    """The audience as given (raw numbers); launch turns it into messages."""

    __tablename__ = "campaign_recipients"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(String(16), primary_key=True)


class Batch(Base):
    __tablename__ = "batches"

    # Our id is the client_reference sent to Sinch, so a batch can always be found again.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    state: Mapped[BatchState] = mapped_column(String(16), default=BatchState.SUBMITTING)
    provider_batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipient_count: Mapped[int] = mapped_column(Integer)
    parts: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    first_message_id: Mapped[int | None] = mapped_column(BigId)
    last_message_id: Mapped[int | None] = mapped_column(BigId)
    """The id range its messages were claimed from: with `campaign_id`, how they are found."""

    __table_args__ = (
        Index("ix_batches_state", "state"),
        Index("ix_batches_campaign_state", "campaign_id", "state"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Neither campaign_id nor batch_id is a foreign key: the checks cost a lookup per row at
    # launch and at every claim. Launch and the outbox, the only writers, set them in the
    # transaction that reads or creates the row they refer to (migration 0005).
    campaign_id: Mapped[int] = mapped_column(BigId)
    phone: Mapped[str] = mapped_column(String(16))
    status: Mapped[MessageStatus] = mapped_column(String(16), default=MessageStatus.QUEUED)
    parts: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(String(40))
    status_code: Mapped[int | None] = mapped_column(Integer)
    """Sinch's delivery-report code (0 Delivered, 4xx Sinch, others SMPP/operator)."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why it failed, or why it was skipped (`opted_out`, `quiet_hours_expired`, ...)."""
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """This recipient's values for the body's placeholders (Sinch `parameters`)."""
    not_before: Mapped[datetime | None]
    """While `deferred`: when it may go."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    """When Sinch accepted it."""
    operator_status_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_messages_campaign_phone"),
        # No index reads `status` or `batch_id`: every change of status is then a heap-only
        # (HOT) update on PostgreSQL, no index entry written (migration 0005). The claim walks
        # this one from `ClaimCursor.claimed_through`; reports find rows by (campaign_id, phone).
        Index("ix_messages_campaign_id", "campaign_id", "id"),
        # The dispatcher's wake-up of held messages whose time has come.
        Index(
            "ix_messages_deferred",
            "campaign_id",
            "not_before",
            sqlite_where=text("not_before IS NOT NULL"),
            postgresql_where=text("not_before IS NOT NULL"),
        ),
        # Room for a claim and an acceptance in the same page (migration 0006).
        {"postgresql_with": {"fillfactor": 25}},
    )


class WebhookEvent(Base):
    """The raw inbox: stored before the 2xx, applied in the same transaction when possible."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[WebhookKind] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    inapplicable: Mapped[str | None] = mapped_column(String(200))
    """Why the event can never be applied (e.g. a STOP from a number no one can text): kept
    for an operator to see, and never retried."""

    __table_args__ = (
        Index(
            "ix_webhook_events_unprocessed",
            "id",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
    )


class WebhookNonce(Base):
    __tablename__ = "webhook_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    from_phone: Mapped[str] = mapped_column(String(16), index=True)
    to: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    keyword: Mapped[str | None] = mapped_column(String(16))
    """`opt_out`, `opt_in` or `help` when the message was one; `confirm`, `signup` or
    `already_member` for a sign-up's reply or a list's keyword (`inbox.keywords.Keyword`);
    null for a reply."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Link(Base):
    """A URL of a campaign's body, shortened per recipient: `{SHORT_LINK_BASE}/l/{code}`."""

    __tablename__ = "links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(BigId)
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    """Every request of `/l/{code}` (within the rate limit), bots and reloads included."""
    unique_clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Visits: a client counts once per `links.VISIT_WINDOW` (what analytics show)."""
    first_click_at: Mapped[datetime | None]
    last_click_at: Mapped[datetime | None]


class LinkVisit(Base):
    """Who opened a short link lately, as a keyed hash of address and user agent, to count a
    client once per window; forgotten when the window has passed."""

    __tablename__ = "link_visits"

    code: Mapped[str] = mapped_column(
        String(16), ForeignKey("links.code", ondelete="CASCADE"), primary_key=True
    )
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Lower-cased."""
    password_hash: Mapped[str] = mapped_column(String(200))
    """Argon2id, in the PHC string format (parameters and salt included)."""
    role: Mapped[Role] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    display_time_zone: Mapped[str | None] = mapped_column(String(64))
    """The IANA zone the dashboard shows times in for this user; None: their browser's."""


class UserSession(Base):
    """A dashboard sign-in. The cookie carries the token; only its SHA-256 is kept here."""

    __tablename__ = "sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiKey(Base):
    """`tc_{prefix}_{secret}`: the prefix is shown in lists, the whole key only at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the whole key, hex."""
    scopes: Mapped[str] = mapped_column(String(64))
    """Space-separated: read, send, admin."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when: append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(300))
    """`alice@example.com`, `alice@example.com (key tc_ab12cd34)`, `cli`, or the email tried."""
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class SettingOverride(Base):
    """A setting an admin changed in the dashboard (or with `textcast settings set`): it
    overrides the environment's value on every node, until it is reset."""

    __tablename__ = "setting_overrides"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The environment variable's name, e.g. `SEND_RATE`."""
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    """The value as JSON, validated and normalised (`30.0`, `{"FR": "08:00-20:00"}`)."""
    changed_by: Mapped[str] = mapped_column(String(300))
    """The audit log's actor: `alice@example.com`, `cli`..."""
    changed_at: Mapped[datetime]


class SettingsRevision(Base):
    """One row counting the changes to `setting_overrides`: each process reads it every few
    seconds, and rebuilds what depends on the settings when it has moved."""

    __tablename__ = "settings_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime | None]


# -- automations ---------------------------------------------------------------------------


class Flow(Base):
    """An automated flow: a trigger, steps and rules, published as versions (`FlowVersion`).

    `trigger_type` and `trigger_key` repeat the current version's trigger so that a sign-up,
    a keyword or an event finds the flows it starts with one index probe.
    """

    __tablename__ = "flows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[FlowStatus] = mapped_column(String(16), default=FlowStatus.DRAFT)
    trigger_type: Mapped[str] = mapped_column(String(16))
    trigger_key: Mapped[str | None] = mapped_column(String(100))
    """The list id, keyword, event name, date attribute or segment id the trigger names."""
    goal_event: Mapped[str | None] = mapped_column(String(100))
    version_id: Mapped[int | None] = mapped_column(BigId)
    """The version new runs start on (the last published)."""
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Edits not published yet, when the flow has been published before."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    scanned_at: Mapped[datetime | None]
    """Date and segment triggers: when their contacts were last looked through."""

    __table_args__ = (Index("ix_flows_trigger", "trigger_type", "trigger_key"),)


class FlowVersion(Base):
    """A published definition: trigger, rules and steps (`flows.definitions`). Never changed:
    runs keep the version they started on."""

    __tablename__ = "flow_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("flow_id", "number", name="uq_flow_versions_number"),)


class FlowRun(Base):
    """One contact's way through one version of a flow."""

    __tablename__ = "flow_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigId)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))
    entry: Mapped[int] = mapped_column(Integer)
    """1 for the contact's first run of this flow, 2 for the next...: its messages go in the
    step's campaign of that generation (a campaign texts a number once)."""
    occurrence: Mapped[str | None] = mapped_column(String(32))
    """A date trigger's date (one run per birthday), a segment entry's day."""
    status: Mapped[RunStatus] = mapped_column(String(16), default=RunStatus.ACTIVE)
    position: Mapped[str | None] = mapped_column(String(40))
    """The id of the step it does next (when `wake_at` comes); None once ended."""
    wake_at: Mapped[datetime | None]
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    """Resting in the wait step at `position`: when `wake_at` comes, the wait is over and
    the run goes on after it (otherwise the step at `position` is done then)."""
    waiting_for: Mapped[str | None] = mapped_column(String(100))
    """The event a "wait until" step waits for (with `wake_at` its timeout)."""
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The trigger event's properties (`event`), and what earlier steps left for later ones."""
    event_id: Mapped[int | None] = mapped_column(BigId)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        # Contact first: it is also how a STOP, an event or a contact's page finds the runs
        # of a contact (one index fewer to write at every move of a run).
        UniqueConstraint("contact_id", "flow_id", "entry", name="uq_flow_runs_entry"),
        # The engine's claim of due runs: only active ones are in it.
        Index(
            "ix_flow_runs_due",
            "wake_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_flow_runs_flow_status", "flow_id", "status", "position"),
    )


class FlowRunStep(Base):
    """A run's history: each step it reached, and what came of it. The per-step figures."""

    __tablename__ = "flow_run_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("flow_runs.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(BigId)
    step_id: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(24))
    """`entered`, `sent`, `skipped`, `yes`/`no` (a branch), `updated`, `exited`..."""
    message_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_flow_run_steps_run", "run_id", "id"),
        Index("ix_flow_run_steps_flow_step", "flow_id", "step_id", "outcome"),
    )


class FlowStepCampaign(Base):
    """The campaign carrying one send step's texts for one run generation on one UTC day.

    Rotated daily so that its `launched_at` and `recipient_count` count towards the rolling
    DAILY_RECIPIENT_QUOTA as a campaign's do.
    """

    __tablename__ = "flow_step_campaigns"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigId)
    step_id: Mapped[str] = mapped_column(String(40))
    generation: Mapped[int] = mapped_column(Integer)
    day: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        UniqueConstraint(
            "version_id", "step_id", "generation", "day", name="uq_flow_step_campaigns_key"
        ),
        Index("ix_flow_step_campaigns_flow_step", "flow_id", "step_id"),
    )


class Event(Base):
    """Something that happened outside textcast (`order_placed`), posted to the events API."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    phone: Mapped[str | None] = mapped_column(String(16))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(24))
    """`matched` (some flow listens), `unheard` (none does), `no_contact` (stored, unknown),
    `not_subscribed` (a flow would start, but the contact opted out)."""
    runs_started: Mapped[int] = mapped_column(Integer, default=0)
    runs_resumed: Mapped[int] = mapped_column(Integer, default=0)
    runs_ended: Mapped[int] = mapped_column(Integer, default=0)
    """Runs that reached their goal with it."""

    __table_args__ = (
        Index("ix_events_name_received_at", "name", "received_at"),
        Index("ix_events_contact_id", "contact_id", "occurred_at"),
    )


class FlowSegmentMember(Base):
    """Who was in a segment-triggered flow's segment at its last look: a contact found there
    who was not before has entered it."""

    __tablename__ = "flow_segment_members"

    flow_id: Mapped[int] = mapped_column(
        ForeignKey("flows.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )


# -- conversations ---------------------------------------------------------------------------


class Conversation(Base):
    """One thread per number: what was texted to it and what came back, with its state.

    By number, not by contact: an unknown sender has a thread before anyone saves them as a
    contact. The messages themselves stay where they are (`messages`, `inbound_messages`);
    this row keeps what the inbox sorts and filters by.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[ConversationState] = mapped_column(String(8), default=ConversationState.OPEN)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    """Texts from the person since someone last opened the thread."""
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    """The person's last text (not a keyword) has no agent's answer after it."""
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    """The latest text either way: the inbox's order."""
    last_inbound_at: Mapped[datetime | None]
    last_reply_at: Mapped[datetime | None]
    """The latest agent's answer."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_conversations_state_last", "state", "last_message_at"),)


class AgentReply(Base):
    """Who answered in a conversation: the answer itself is a one-recipient campaign of kind
    `conversation` (its body) and its message (its status)."""

    __tablename__ = "agent_replies"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuickReply(Base):
    """A saved answer agents insert into a reply ("Our hours are 9 to 6...")."""

    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- outbound event stream and webhooks -----------------------------------------------------


class OutboundEvent(Base):
    """Something that happened, written in the transaction that made it happen (an outbox),
    for the webhook subscriptions that want its type.

    `body` is the exact JSON every delivery posts, so a retry or a replay sends the same bytes
    under the same `webhook-id` (`public_id`).
    """

    __tablename__ = "outbound_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[EventType] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_outbound_events_created_at", "created_at"),)


class WebhookSubscription(Base):
    """An endpoint that receives the event stream, signed the Standard Webhooks way."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The `EventType` values it wants; `["*"]`: all of them."""
    secret: Mapped[str] = mapped_column(String(80))
    """`whsec_` + base64 key: shown once at creation, kept to sign every delivery."""
    status: Mapped[SubscriptionStatus] = mapped_column(
        String(16), default=SubscriptionStatus.ACTIVE
    )
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    """The first failed attempt since the last success: WEBHOOK_RETRY_HOURS after it, the
    subscription is disabled."""
    last_success_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one subscription: pending (due at `next_attempt_at`),
    delivered, or failed. A replay is a new delivery of the same event (same `webhook-id`)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    # Not a foreign key: checked at every insert, in the hot transactions that record events
    # (delivery reports). Events and their deliveries are written and purged together.
    event_id: Mapped[int] = mapped_column(BigId, index=True)
    status: Mapped[DeliveryStatus] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    """While pending: when it is due. A sender that takes it moves this ahead by its lease,
    so a sender that dies mid-attempt leaves it due again, not lost."""
    last_attempt_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(512))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    """Why the last attempt failed, in words (timeout, connection refused, HTTP 500...)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        # The senders' claim: pending deliveries only.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )


class WebhookAttempt(Base):
    """Each POST of a delivery: the delivery log's detail."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(512))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
