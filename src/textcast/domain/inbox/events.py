"""What a provider's callbacks become, and what storing one came to: the types at the
boundary between a provider's adapter (`sinch.events` turns Sinch's JSON into them) and the
webhook inbox (`inbox.storage` stores and applies them). A module of their own, apart from the
inbox's SQL, so that the adapter imports these and nothing else of the domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from textcast.models import MessageStatus, WebhookKind


@dataclass(frozen=True, slots=True)
class StatusReport:
    phone: str
    """E.164 with `+`."""
    status: MessageStatus | None
    """None for a status name we do not know: stored, never applied."""
    code: int
    batch_ref: str | None
    """Our batch id, when the provider echoed the `client_reference`."""
    provider_batch_id: str | None
    operator_status_at: datetime | None = None
    meaning: str | None = None
    """What the provider says its code means, in words (`message.failed` carries it)."""


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider_id: str
    from_phone: str
    to: str
    body: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    kind: WebhookKind
    dedupe_key: str
    payload: str
    reports: Sequence[StatusReport] = ()
    inbound: InboundSms | None = None
    nonce: str | None = None


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REPLAYED = "replayed"
    INAPPLICABLE = "inapplicable"
    """Stored, but it can never be applied (the reason is stored with it)."""
