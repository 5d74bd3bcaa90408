"""The webhook side of Sinch: checking callback signatures and reading callback bodies.

Pure functions with no web framework, so that the web layer decides what to answer (Sinch retries
5xx and 429 and drops every other 4xx for good) and where to remember nonces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from textcast.sinch.models import BatchReport, InboundMessage, RecipientReport, describe_invalid

SIGNATURE_HEADER = "x-sinch-webhook-signature"
ALGORITHM_HEADER = "x-sinch-webhook-signature-algorithm"
NONCE_HEADER = "x-sinch-webhook-signature-nonce"
TIMESTAMP_HEADER = "x-sinch-webhook-signature-timestamp"

RECIPIENT_REPORT_TYPES = frozenset(
    {"recipient_delivery_report_sms", "recipient_delivery_report_mms"}
)
BATCH_REPORT_TYPES = frozenset({"delivery_report_sms", "delivery_report_mms"})
INBOUND_TYPES = frozenset({"mo_text", "mo_binary"})
MAX_NONCE_LENGTH = 64  # as remembered (webhook_nonces.nonce); Sinch's are 26-character ULIDs

Event = TypeVar("Event", bound=BaseModel)


class SignatureFailure(StrEnum):
    MISSING_HEADERS = "missing_headers"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    MALFORMED_NONCE = "malformed_nonce"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"


class SignatureError(Exception):
    def __init__(self, failure: SignatureFailure, detail: str) -> None:
        super().__init__(f"{failure}: {detail}")
        self.failure = failure
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    nonce: str
    """Not checked for reuse here: the caller must remember it for at least the max age."""
    timestamp: int


def compute_signature(secret: str, raw_body: bytes, nonce: str, timestamp: str) -> str:
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    # The secret is used as UTF-8 bytes, not Base64-decoded (unlike Sinch's Voice signatures).
    signed = b".".join((raw_body, nonce.encode(), timestamp.encode()))
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    secret: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    max_age_seconds: float = 300,
) -> SignatureCheck:
    """Checks a callback's HMAC and freshness; raises SignatureError saying why it fails."""
    lowered = {name.lower(): value for name, value in headers.items()}
    wanted = (SIGNATURE_HEADER, NONCE_HEADER, TIMESTAMP_HEADER)
    if missing := [name for name in wanted if not lowered.get(name)]:
        raise SignatureError(SignatureFailure.MISSING_HEADERS, ", ".join(missing))
    signature, nonce, timestamp = (lowered[name] for name in wanted)
    # Sinch's Python SDK ignores this header; only a value naming another algorithm is refused.
    algorithm = lowered.get(ALGORITHM_HEADER)
    # The caller's own bytes are never repeated in a refusal: it is answered to whoever sent
    # them, and could carry anything, of any length.
    if algorithm is not None and algorithm.strip().lower() != "hmacsha256":
        raise SignatureError(
            SignatureFailure.UNSUPPORTED_ALGORITHM,
            f"only HmacSHA256 is supported in {ALGORITHM_HEADER}",
        )
    if len(nonce) > MAX_NONCE_LENGTH:
        raise SignatureError(
            SignatureFailure.MALFORMED_NONCE,
            f"{NONCE_HEADER} must be at most {MAX_NONCE_LENGTH} characters",
        )
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise SignatureError(
            SignatureFailure.MALFORMED_TIMESTAMP,
            f"{TIMESTAMP_HEADER} must be whole seconds since 1970, such as 1736760161",
        ) from None

    expected = compute_signature(secret, raw_body, nonce, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError(SignatureFailure.BAD_SIGNATURE, "the body or headers were altered")
    # Checked after the HMAC, so that a stale or future verdict is only given to authentic
    # callbacks, where it means a replay or a skewed clock.
    if now - signed_at > max_age_seconds:
        raise SignatureError(
            SignatureFailure.STALE_TIMESTAMP, f"signed {now - signed_at:.0f} s ago"
        )
    if signed_at - now > max_age_seconds:
        raise SignatureError(
            SignatureFailure.FUTURE_TIMESTAMP, f"signed {signed_at - now:.0f} s in the future"
        )
    return SignatureCheck(nonce=nonce, timestamp=signed_at)


class CallbackParseError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_delivery_event(data: object) -> RecipientReport | BatchReport:
    kind = _event_type(data)
    if kind in RECIPIENT_REPORT_TYPES:
        return _parse(RecipientReport, data)
    if kind in BATCH_REPORT_TYPES:
        return _parse(BatchReport, data)
    raise CallbackParseError("type", f"not a delivery report type: {kind!r}")


def parse_inbound(data: object) -> InboundMessage:
    kind = _event_type(data)
    if kind not in INBOUND_TYPES:
        raise CallbackParseError("type", f"not a supported inbound type: {kind!r}")
    return _parse(InboundMessage, data)


def _event_type(data: object) -> str:
    if not isinstance(data, Mapping):
        raise CallbackParseError("(body)", "expected a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise CallbackParseError("type", "missing" if kind is None else "expected a string")
    return kind


def _parse(model: type[Event], data: object) -> Event:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # `from None`: pydantic's own message quotes the values, which may be phone numbers.
        raise CallbackParseError(*describe_invalid(exc)) from None
