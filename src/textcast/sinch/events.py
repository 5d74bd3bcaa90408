"""Sinch callback bodies turned into the inbox's events (the engine never sees Sinch JSON)."""

from __future__ import annotations

import hashlib
import json

from textcast.domain.inbox.events import InboundSms, IncomingEvent, StatusReport
from textcast.sinch.callbacks import CallbackParseError, parse_delivery_event, parse_inbound
from textcast.sinch.models import BatchReport
from textcast.sinch.statuses import code_meaning
from textcast.vocabulary import MessageStatus, WebhookKind

# Sinch's callbacks nest three levels deep (a batch report's statuses and their recipients);
# a body nested much deeper is not one of them, and past about a thousand levels would exhaust
# the parser's recursion.
MAX_NESTING = 32
MAX_DEDUPE_KEY = 200  # webhook_events.dedupe_key

# Sinch's `Queued` means it holds the message: for us that is still `accepted`.
_STATUSES = {
    "queued": MessageStatus.ACCEPTED,
    "dispatched": MessageStatus.DISPATCHED,
    "delivered": MessageStatus.DELIVERED,
    "failed": MessageStatus.FAILED,
    "expired": MessageStatus.EXPIRED,
    "rejected": MessageStatus.REJECTED,
    "aborted": MessageStatus.ABORTED,
    "cancelled": MessageStatus.CANCELLED,
    "canceled": MessageStatus.CANCELLED,
    "deleted": MessageStatus.DELETED,
    "unknown": MessageStatus.UNKNOWN,
}


def message_status(sinch_status: str) -> MessageStatus | None:
    return _STATUSES.get(sinch_status.casefold())


def _json(raw: bytes) -> tuple[object, str]:
    """The parsed body, and its text (kept in the inbox): decoded once, as UTF-8."""
    too_deep = CallbackParseError("(body)", f"nested deeper than {MAX_NESTING} levels")
    try:
        text = raw.decode()
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CallbackParseError("(body)", f"not valid JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise too_deep from None
    # Counting brackets is nearly free: only a body with more of them than the limit (which
    # no ordinary callback has) is walked.
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _deeper_than(data, MAX_NESTING):
        raise too_deep
    return data, text


def _deeper_than(data: object, limit: int) -> bool:
    """Walked level by level, without recursion."""
    level = [data]
    for _ in range(limit):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
        ]
        if not level:
            return False
    return any(isinstance(value, dict | list) for value in level)


def delivery_event(raw: bytes, nonce: str | None = None) -> IncomingEvent:
    data, payload = _json(raw)
    report = parse_delivery_event(data)
    if isinstance(report, BatchReport):
        return IncomingEvent(
            kind=WebhookKind.DELIVERY_REPORT,
            dedupe_key="bdr:" + hashlib.sha256(raw).hexdigest(),
            payload=payload,
            reports=_batch_reports(report),
            nonce=nonce,
        )
    at = report.at.isoformat()
    key = f"rdr:{report.batch_id}:{report.recipient}:{report.status}:{report.code}:{at}"
    if len(key) > MAX_DEDUPE_KEY:
        # An odd batch id, status or code: hashed, as unique and storable. The number stays in
        # clear, where erasing it finds it (a hash of it could be reversed by trying numbers).
        rest = f"{report.batch_id}:{report.status}:{report.code}:{at}"
        key = f"rdr#{hashlib.sha256(rest.encode()).hexdigest()}:{report.recipient}"
    return IncomingEvent(
        kind=WebhookKind.DELIVERY_REPORT,
        dedupe_key=key,
        payload=payload,
        reports=(
            StatusReport(
                phone=report.recipient,
                status=message_status(report.status),
                code=report.code,
                batch_ref=report.client_reference,
                provider_batch_id=report.batch_id,
                operator_status_at=report.operator_status_at,
                meaning=code_meaning(report.code),
            ),
        ),
        nonce=nonce,
    )


def _batch_reports(report: BatchReport) -> tuple[StatusReport, ...]:
    """A `full` report names its recipients; a `summary` has only counts and changes nothing."""
    return tuple(
        StatusReport(
            phone=recipient,
            status=message_status(entry.status),
            code=entry.code,
            batch_ref=report.client_reference,
            provider_batch_id=report.batch_id,
            meaning=code_meaning(entry.code),
        )
        for entry in report.statuses
        for recipient in entry.recipients
    )


def inbound_event(raw: bytes, nonce: str | None = None) -> IncomingEvent:
    data, payload = _json(raw)
    message = parse_inbound(data)
    return IncomingEvent(
        kind=WebhookKind.INBOUND,
        dedupe_key=f"mo:{message.id}",
        payload=payload,
        inbound=InboundSms(
            provider_id=message.id,
            from_phone=message.from_,
            to=message.to,
            body=message.body,
            received_at=message.received_at,
        ),
        nonce=nonce,
    )


def stored_event(kind: str, payload: str) -> IncomingEvent:
    """Rebuild an event from the inbox, to apply it again later."""
    raw = payload.encode()
    return inbound_event(raw) if kind == WebhookKind.INBOUND else delivery_event(raw)
