"""The port between the sending engine and an SMS provider.

The engine only ever says "send these recipients under this reference" and asks "did you
accept the batch with this reference?". Sinch's batches API is the first adapter; the
Conversation API (one message per recipient) must fit the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundBatch:
    client_reference: str
    recipients: Sequence[str]
    """E.164 numbers with a leading `+`."""
    body: str
    """The text, possibly with `${key}` placeholders filled from `parameters`."""
    parameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """`{key: {e164_number: value, "default": value}}`, as Sinch's parameterization."""
    sender: str | None = None
    callback_url: str | None = None
    delivery_report: str = "per_recipient_final"


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_batch_id: str


class ProviderError(Exception):
    """Base of everything a provider raises."""


class ProviderRejected(ProviderError):
    """The provider refused the batch for good (Sinch 400/403): do not retry."""

    def __init__(self, code: str, text: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
        self.status = status


class ProviderUnavailable(ProviderError):
    """Nothing was accepted (429, 5xx confirmed unprocessed, connection refused): retry later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ProviderUnknownOutcome(ProviderError):
    """The request left us but no answer came back: the batch may or may not exist."""


class Provider(Protocol):
    async def submit(self, batch: OutboundBatch) -> Accepted: ...

    async def lookup(self, client_reference: str, created_after: datetime) -> Accepted | None:
        """The batch the provider holds under this reference, or None if it has none."""
        ...

    async def cancel(self, provider_batch_id: str) -> None: ...

    async def aclose(self) -> None: ...
