"""What each event type says: its meaning and its `data`, with an example.

The API reference documents the stream from this table (OpenAPI `webhooks`), and the tests
check that every recorded event's `data` has exactly the fields named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textcast.vocabulary import EventType


@dataclass(frozen=True, slots=True)
class EventSpec:
    summary: str
    fields: dict[str, str]
    """Each field of `data`, with its meaning (types in the example)."""
    example: dict[str, Any]


_MESSAGE = {
    "message_id": "Our id of the message (one recipient of one campaign, flow step or reply).",
    "campaign_id": "The campaign it belongs to.",
    "campaign_kind": "marketing, flow, conversation, reply, confirmation, welcome or test.",
    "phone": "The recipient, E.164.",
}

CATALOGUE: dict[EventType, EventSpec] = {
    EventType.MESSAGE_SENT: EventSpec(
        "Sinch accepted the message (its batch answered 201, or was found after a restart).",
        {
            **_MESSAGE,
            "parts": "SMS parts it takes (what it costs).",
            "batch_id": "Our batch id, the `client_reference` Sinch holds.",
            "sent_at": "When Sinch accepted it.",
        },
        {
            "message_id": 1042,
            "campaign_id": 17,
            "campaign_kind": "marketing",
            "phone": "+12025550143",
            "parts": 1,
            "batch_id": "tcb_01JF8Z6Q4M6X2Y3V9R1T5N7K8P",
            "sent_at": "2026-12-07T15:04:05.123Z",
        },
    ),
    EventType.MESSAGE_DELIVERED: EventSpec(
        "The handset received the message (Sinch's final delivery report: Delivered).",
        {
            **_MESSAGE,
            "code": "Sinch's status code (0 for Delivered).",
            "delivered_at": "When the operator reported it delivered.",
        },
        {
            "message_id": 1042,
            "campaign_id": 17,
            "campaign_kind": "marketing",
            "phone": "+12025550143",
            "code": 0,
            "delivered_at": "2026-12-07T15:04:09.456Z",
        },
    ),
    EventType.MESSAGE_FAILED: EventSpec(
        "The message reached a final status other than delivered: failed, expired, rejected, "
        "aborted, cancelled, deleted or unknown (Sinch's report, or Sinch refused its batch).",
        {
            **_MESSAGE,
            "status": "The final status.",
            "code": "Sinch's delivery-report code; for a batch Sinch refused, the HTTP status "
            "(400 or 403); null when retries gave up.",
            "meaning": "What the code means, in words (for a refused batch, Sinch's error).",
            "failed_at": "When the final status was reported.",
        },
        {
            "message_id": 1043,
            "campaign_id": 17,
            "campaign_kind": "marketing",
            "phone": "+12025550178",
            "status": "aborted",
            "code": 412,
            "meaning": "Unprovisioned region: the account is not provisioned for the "
            "destination's region",
            "failed_at": "2026-12-07T15:04:10.001Z",
        },
    ),
    EventType.CONTACT_SUBSCRIBED: EventSpec(
        "A number gave its consent: a confirmed sign-up (form or keyword), START, an import, "
        "the API or the dashboard.",
        {
            "contact_id": "The contact.",
            "phone": "Its number, E.164.",
            "purpose": "marketing, transactional or all (START).",
            "source": "form, keyword, import, api, cli, event...",
            "subscribed_at": "When.",
        },
        {
            "contact_id": 311,
            "phone": "+12025550143",
            "purpose": "marketing",
            "source": "form",
            "subscribed_at": "2026-12-07T14:58:00.000Z",
        },
    ),
    EventType.CONTACT_UNSUBSCRIBED: EventSpec(
        "A number withdrew its consent: STOP, the API or the dashboard.",
        {
            "contact_id": "The contact.",
            "phone": "Its number, E.164.",
            "purpose": "all (STOP, an opt-out), or transactional when only that was withdrawn.",
            "source": "keyword, api, cli, dashboard...",
            "unsubscribed_at": "When.",
        },
        {
            "contact_id": 311,
            "phone": "+12025550143",
            "purpose": "all",
            "source": "keyword",
            "unsubscribed_at": "2026-12-07T16:20:00.000Z",
        },
    ),
    EventType.REPLY_RECEIVED: EventSpec(
        "A text came in from a number (a keyword such as STOP included, with `keyword` set).",
        {
            "inbound_id": "Our id of the inbound message.",
            "contact_id": "The sender's contact, or null for an unknown number.",
            "phone": "The sender, E.164.",
            "to": "The number or short code it was sent to.",
            "body": "What they wrote.",
            "keyword": "opt_out, opt_in, help, confirm, signup, already_member, or null.",
            "campaign_id": "The campaign it answers (last texted within 72 hours), or null.",
            "received_at": "When Sinch received it.",
        },
        {
            "inbound_id": 88,
            "contact_id": 311,
            "phone": "+12025550143",
            "to": "12345",
            "body": "Is the sale online too?",
            "keyword": None,
            "campaign_id": 17,
            "received_at": "2026-12-07T15:10:00.000Z",
        },
    ),
    EventType.CAMPAIGN_STARTED: EventSpec(
        "A marketing campaign was launched: its messages are queued.",
        {
            "campaign_id": "The campaign.",
            "name": "Its name.",
            "recipients": "Messages queued.",
            "started_at": "When it was launched.",
        },
        {
            "campaign_id": 17,
            "name": "December sale",
            "recipients": 2480,
            "started_at": "2026-12-07T15:00:00.000Z",
        },
    ),
    EventType.CAMPAIGN_COMPLETED: EventSpec(
        "A marketing campaign has nothing left to send (final delivery reports may follow).",
        {
            "campaign_id": "The campaign.",
            "name": "Its name.",
            "recipients": "Its messages.",
            "completed_at": "When.",
        },
        {
            "campaign_id": 17,
            "name": "December sale",
            "recipients": 2480,
            "completed_at": "2026-12-07T15:06:30.000Z",
        },
    ),
    EventType.CAMPAIGN_TEST_DECIDED: EventSpec(
        "A campaign's A/B test chose its winner; the rest of the audience gets it next.",
        {
            "campaign_id": "The campaign under test.",
            "name": "Its name.",
            "winner": "The winning variant's label (A to E).",
            "how": "automatic (the figures), fallback (no clear winner: variant A) or picked.",
            "reason": "Why, in words.",
            "metric": "clicks, replies, delivery or event.",
            "variants": "Each variant's label, texts counted, successes, rate and chance of "
            "being the best (null below the minimum sample) when it was decided.",
            "rest_recipients": "How many of the audience outside the test pool get the winner.",
            "decided_at": "When.",
        },
        {
            "campaign_id": 17,
            "name": "December sale",
            "winner": "B",
            "how": "automatic",
            "reason": "Variant B won: 98% likely to have the best click rate (95% needed).",
            "metric": "clicks",
            "variants": [
                {"label": "A", "sent": 250, "successes": 9, "rate": 0.036, "p_best": 0.02},
                {"label": "B", "sent": 250, "successes": 21, "rate": 0.084, "p_best": 0.98},
            ],
            "rest_recipients": 2000,
            "decided_at": "2026-12-07T19:06:30.000Z",
        },
    ),
    EventType.LINK_CLICKED: EventSpec(
        "Someone opened a campaign's short link (each request within the rate limit).",
        {
            "campaign_id": "The campaign.",
            "message_id": "The message that carried the link, when known.",
            "phone": "Its recipient, when known.",
            "url": "Where the link leads.",
            "first_visit": "True for this client's first visit within the visit window.",
            "clicked_at": "When.",
        },
        {
            "campaign_id": 17,
            "message_id": 1042,
            "phone": "+12025550143",
            "url": "https://shop.example.com/sale",
            "first_visit": True,
            "clicked_at": "2026-12-07T15:12:00.000Z",
        },
    ),
    EventType.IMPORT_COMPLETED: EventSpec(
        "A CSV import finished (completed or failed).",
        {
            "import_id": "The import.",
            "status": "completed or failed.",
            "list_id": "The list it added to, or null.",
            "rows": "Rows read.",
            "imported": "Contacts created or updated.",
            "rejected": "Rows refused (see the import's report).",
            "completed_at": "When.",
        },
        {
            "import_id": 9,
            "status": "completed",
            "list_id": 3,
            "rows": 5000,
            "imported": 4987,
            "rejected": 13,
            "completed_at": "2026-12-07T14:30:12.000Z",
        },
    ),
    EventType.FLOW_RUN_STARTED: EventSpec(
        "A contact entered a flow.",
        {
            "flow_id": "The flow.",
            "run_id": "The run.",
            "contact_id": "The contact.",
            "phone": "Its number, E.164.",
            "started_at": "When.",
        },
        {
            "flow_id": 4,
            "run_id": 5120,
            "contact_id": 311,
            "phone": "+12025550143",
            "started_at": "2026-12-07T14:58:01.000Z",
        },
    ),
    EventType.FLOW_RUN_ENDED: EventSpec(
        "A contact's run of a flow ended.",
        {
            "flow_id": "The flow.",
            "run_id": "The run.",
            "contact_id": "The contact.",
            "phone": "Its number, E.164.",
            "outcome": "completed, exited, goal, stopped (STOP, or an opt-out by a user) or "
            "cancelled (the flow archived).",
            "ended_at": "When.",
        },
        {
            "flow_id": 4,
            "run_id": 5120,
            "contact_id": 311,
            "phone": "+12025550143",
            "outcome": "goal",
            "ended_at": "2026-12-09T10:00:00.000Z",
        },
    ),
    EventType.WEBHOOK_TEST: EventSpec(
        'Sent by the "send test event" button, to one subscription only.',
        {"subscription_id": "The subscription tested.", "message": "A line of text."},
        {"subscription_id": 2, "message": "A test event from textcast."},
    ),
}
