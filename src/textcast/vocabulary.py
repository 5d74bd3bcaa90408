"""The words the tables, the rules and the adapters share: statuses, kinds, reasons and roles.

Plain enums, free of SQLAlchemy, at the bottom of the layers: `models` stores them, and the
provider adapter (`sinch.events`) says what a callback means in them without importing a table.
"""

from __future__ import annotations

from enum import StrEnum


class CampaignKind(StrEnum):
    MARKETING = "marketing"
    REPLY = "reply"
    """An answer to a keyword (STOP confirmation, HELP text): sent even to opted-out numbers."""
    TEST = "test"
    """A marketing text sent to one number for a look before the real send."""
    CONFIRMATION = "confirmation"
    """"Reply Y to confirm": answers a person's own sign-up at once, whatever the hour, even
    to a number that opted out before (it asks; it does not subscribe)."""
    WELCOME = "welcome"
    """The first text after a confirmed sign-up: like marketing, held by quiet hours."""
    FLOW = "flow"
    """The texts of one send step of an automated flow: marketing, appended to as runs reach
    the step (one campaign per step, run generation and day, `flows.sending`)."""
    CONVERSATION = "conversation"
    """An agent's answer in a conversation: not marketing (no quiet hours, no consent needed
    beyond the person having written), never to a number that opted out, ahead of marketing."""


CHECKS_OPT_OUTS = frozenset(
    {
        CampaignKind.MARKETING,
        CampaignKind.TEST,
        CampaignKind.WELCOME,
        CampaignKind.FLOW,
        CampaignKind.CONVERSATION,
    }
)
"""The kinds whose messages are dropped for a number that opted out, up to the last moment.
A keyword reply (a STOP's confirmation) and a sign-up's confirmation request are not."""
KEEPS_QUIET_HOURS = frozenset({CampaignKind.MARKETING, CampaignKind.WELCOME, CampaignKind.FLOW})
"""The kinds held back until the recipient's send window opens."""
SYSTEM_KINDS = frozenset({CampaignKind.REPLY, CampaignKind.CONFIRMATION, CampaignKind.WELCOME})
"""One-recipient campaigns textcast launches by itself, ahead of marketing batches."""
PRIORITY_KINDS = SYSTEM_KINDS | {CampaignKind.CONVERSATION}
"""Claimed before marketing batches in every round of the dispatcher: answers to what a person
just did (a keyword, a sign-up, a question to an agent)."""
MARKETING_KINDS = frozenset({CampaignKind.MARKETING, CampaignKind.FLOW})
"""Marketing proper, campaigns and flows alike: evaluated recipient by recipient the same way,
and counted together against FREQUENCY_CAP."""


REPLY_CAMPAIGN_NAMES: dict[str, str] = {
    "opt_out": "Automatic replies: STOP",
    "opt_in": "Automatic replies: START",
    "help": "Automatic replies: HELP",
    "already_member": "Automatic replies: already subscribed",
}
"""The name of the campaigns that answer each keyword (by `Keyword` value)."""
_OLD_REPLY_PREFIX = "Reply: "
"""Before they had readable names, those campaigns were "Reply: opt_out" and so on."""


def reply_campaign_names(keyword: str) -> tuple[str, str]:
    """The name of the campaigns answering `keyword` and the name they had before."""
    return REPLY_CAMPAIGN_NAMES[keyword], _OLD_REPLY_PREFIX + keyword


def campaign_display_name(name: str, kind: str) -> str:
    """A campaign's name as pages show it: an old keyword-reply name in today's words."""
    if kind == CampaignKind.REPLY and name.startswith(_OLD_REPLY_PREFIX):
        return REPLY_CAMPAIGN_NAMES.get(name.removeprefix(_OLD_REPLY_PREFIX), name)
    return name


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    """Waiting in our outbox."""
    DEFERRED = "deferred"
    """Held until `not_before`: the recipient's send window, or their local send time."""
    SUBMITTING = "submitting"
    """Attached to a batch whose POST is in flight, being retried, or awaiting reconciliation."""
    ACCEPTED = "accepted"
    """Sinch answered 201 or reconciliation found the batch; Sinch's `Queued` keeps it here."""
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    REJECTED = "rejected"
    ABORTED = "aborted"
    CANCELLED = "cancelled"
    DELETED = "deleted"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    """Never sent, for a `SkipReason` kept in `error`."""


UNDELIVERED = (
    MessageStatus.FAILED,
    MessageStatus.EXPIRED,
    MessageStatus.REJECTED,
    MessageStatus.ABORTED,
    MessageStatus.CANCELLED,
    MessageStatus.DELETED,
    MessageStatus.UNKNOWN,
)
"""The final statuses of a text that did not reach the handset."""
OUTCOMES = (MessageStatus.DELIVERED, *UNDELIVERED)
"""Final statuses: a delivery rate is delivered / these."""


class SkipReason(StrEnum):
    """Why a message was skipped (its `error`), or why a plan leaves a number out."""

    OPTED_OUT = "opted_out"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    """The same number more than once: the plan counts it, launch writes one message."""
    MISSING_FIELD = "missing_merge_field"
    FREQUENCY_CAP = "frequency_cap"
    OUTSIDE_WINDOW = "quiet_hours_expired"
    """Its send window opens only after the campaign expires."""
    NO_WINDOW = "no_send_window"
    """Its possible time zones never share an open hour (or none is known)."""
    CANCELLED = "cancelled"
    """The campaign was cancelled before the message left."""


UNSPECIFIED_REASON = "unspecified"
"""A skipped message without a recorded reason (older rows)."""

SKIP_REASON_WORDS: dict[str, str] = {
    SkipReason.OPTED_OUT: "Opted out of your messages",
    SkipReason.INVALID: "Not a valid mobile number",
    SkipReason.DUPLICATE: "The same number more than once",
    SkipReason.MISSING_FIELD: "A merge field had no value and no default",
    SkipReason.FREQUENCY_CAP: "Over the frequency cap for this number",
    SkipReason.OUTSIDE_WINDOW: "Its send window opens only after the campaign expires",
    SkipReason.NO_WINDOW: "Its possible time zones never share an open hour",
    SkipReason.CANCELLED: "The campaign was cancelled before it was sent",
    UNSPECIFIED_REASON: "No reason recorded",
}
"""Each skip reason in words, for every page, the plan's and the campaign's alike (the code
itself goes in a tooltip)."""


def describe_skip(reason: str) -> str:
    """A skip reason in words; a reason this table does not know, from its code."""
    return SKIP_REASON_WORDS.get(reason, reason.replace("_", " ").capitalize())


class BatchState(StrEnum):
    CLAIMED = "claimed"
    """Its messages are taken off the queue; opt-outs, send windows and budget not yet
    applied. A process stopped here leaves nothing Sinch saw: the messages are queued again."""
    SUBMITTING = "submitting"
    """Committed before the POST; a crash here is resolved by reconciliation."""
    RETRY = "retry"
    """Sinch said nothing was taken (429/5xx/refused); resubmit at `next_attempt_at`."""
    UNKNOWN = "unknown"
    """The POST left and no answer came back; reconcile before anything is resent."""
    POSTING = "posting"
    """Passed the last opt-out check; the POST is about to leave or in flight."""
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    """Every recipient opted out before the batch could leave."""


BATCHES_ON_THEIR_WAY = (
    BatchState.CLAIMED,
    BatchState.SUBMITTING,
    BatchState.RETRY,
    BatchState.UNKNOWN,
    BatchState.POSTING,
)
"""A `submitting` message belongs to a batch in one of these states, and only then."""


class WebhookKind(StrEnum):
    DELIVERY_REPORT = "delivery_report"
    INBOUND = "inbound"


class ContactStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    INVALID = "invalid"


class ConsentKind(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


class ConsentPurpose(StrEnum):
    """What a consent event is about: marketing needs confirmed, written consent; transactional
    messages (an order's shipping, a reminder the person asked for) need only the number given
    for that purpose. A STOP withdraws both."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"
    ALL = "all"
    """A STOP or a START: every purpose at once."""


class SignupStatus(StrEnum):
    PENDING = "pending"
    """Waiting for the person's "Y" (double opt-in)."""
    CONFIRMED = "confirmed"
    """Subscribed: by the reply, or at once on a single opt-in."""
    EXPIRED = "expired"
    """No confirmation within CONFIRMATION_HOURS."""
    CANCELLED = "cancelled"
    """The number sent STOP, or a newer sign-up of the number took its place."""


class FlowStatus(StrEnum):
    DRAFT = "draft"
    """Being built: nothing enters it."""
    LIVE = "live"
    """Its trigger starts runs and its runs advance."""
    PAUSED = "paused"
    """Nothing enters and no run advances; runs keep their place until it resumes."""
    ARCHIVED = "archived"
    """Done with: its runs were ended, it stays for its figures."""


class RunStatus(StrEnum):
    ACTIVE = "active"
    """At a step, or waiting for `wake_at` (and maybe an event)."""
    COMPLETED = "completed"
    """Went past its last step."""
    EXITED = "exited"
    """Reached an exit step."""
    GOAL = "goal"
    """The flow's goal event arrived: it ended there."""
    STOPPED = "stopped"
    """The number sent STOP (or was erased): every run of it ends at once."""
    CANCELLED = "cancelled"
    """Ended by an operator (archiving the flow, or by hand)."""


RUN_ENDINGS = (
    RunStatus.COMPLETED,
    RunStatus.EXITED,
    RunStatus.GOAL,
    RunStatus.STOPPED,
    RunStatus.CANCELLED,
)


class SignupChannel(StrEnum):
    FORM = "form"
    KEYWORD = "keyword"


class ImportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Role(StrEnum):
    ADMIN = "admin"
    """Everything, including users, API keys of others and the audit log."""
    EDITOR = "editor"
    """Campaigns and contacts: create, change, send."""
    VIEWER = "viewer"
    """Read only."""


class AbMetric(StrEnum):
    """What an A/B test counts as a success of a variant's message."""

    CLICKS = "clicks"
    """The recipient opened one of its short links."""
    REPLIES = "replies"
    """The recipient texted back (keywords such as STOP are not replies)."""
    DELIVERY = "delivery"
    """Its delivery report said Delivered."""
    EVENT = "event"
    """An event of the test's name (`POST /api/v1/events`) about the contact, within the
    window after the text was sent."""


class AbState(StrEnum):
    DRAFT = "draft"
    TESTING = "testing"
    """The test pool is being sent, or its results awaited until the decision time."""
    WAITING = "waiting"
    """No variant won with enough confidence and the fallback is to wait for a manual pick."""
    DECIDED = "decided"
    """The winner is chosen; the rest of the audience gets it (`rest_campaign_id`)."""
    CANCELLED = "cancelled"


class AbFallback(StrEnum):
    """What the decision does when no variant is better with enough confidence."""

    FIRST = "variant_a"
    WAIT = "wait"


class ConversationState(StrEnum):
    OPEN = "open"
    """Someone wrote and the thread is being dealt with (or waits to be)."""
    CLOSED = "closed"
    """Dealt with; a new message from the person opens it again."""


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    """By hand, or by textcast after its endpoint failed for WEBHOOK_RETRY_HOURS."""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Due at `next_attempt_at` (or being attempted: a sender leases it until then)."""
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Given up: an answer that retrying cannot change (a 4xx other than 429), retries
    exhausted after WEBHOOK_RETRY_HOURS, or its subscription disabled."""


class EventType(StrEnum):
    """What the outbound event stream says happened (`domain.stream`)."""

    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_FAILED = "message.failed"
    CONTACT_SUBSCRIBED = "contact.subscribed"
    CONTACT_UNSUBSCRIBED = "contact.unsubscribed"
    REPLY_RECEIVED = "reply.received"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_COMPLETED = "campaign.completed"
    CAMPAIGN_TEST_DECIDED = "campaign.test_decided"
    LINK_CLICKED = "link.clicked"
    IMPORT_COMPLETED = "import.completed"
    FLOW_RUN_STARTED = "flow.run_started"
    FLOW_RUN_ENDED = "flow.run_ended"
    WEBHOOK_TEST = "webhook.test"
    """The "send test event" button's: only ever to the one subscription it was sent to."""
