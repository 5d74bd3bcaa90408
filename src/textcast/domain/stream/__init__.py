"""The outbound event stream: what happened, written in the transaction that made it happen.

Every change the outside world may want to hear of (a delivery, an opt-out, a reply...) calls
`record` or `record_many` inside its own transaction. An event is kept, with one pending
delivery per active webhook subscription that wants its type, or not at all when none does:
a crash therefore never loses an event that was committed, nor invents one that was not.
The webhook senders (`domain.webhooks`, `sending.webhook_sender`) take it from there.

Public API: `record`, `record_many`, `envelope`, `wanted` and `subscribers` (whether and who
listens, read once per transaction), and `CATALOGUE` (what each type's `data` holds, with an
example: the API reference documents the stream from it).
"""

from textcast.domain.stream.catalogue import CATALOGUE, EventSpec
from textcast.domain.stream.recording import (
    envelope,
    record,
    record_many,
    subscribers,
    timestamp,
    wanted,
)

__all__ = [
    "CATALOGUE",
    "EventSpec",
    "envelope",
    "record",
    "record_many",
    "subscribers",
    "timestamp",
    "wanted",
]
