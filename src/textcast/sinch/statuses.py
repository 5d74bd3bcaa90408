"""Sinch's delivery statuses and codes (docs/sinch.md, "Statuses and codes"), for status
precedence and analytics."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class DeliveryStatus(StrEnum):
    QUEUED = "Queued"
    DISPATCHED = "Dispatched"
    ABORTED = "Aborted"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"
    DELETED = "Deleted"
    DELIVERED = "Delivered"
    FAILED = "Failed"
    EXPIRED = "Expired"
    UNKNOWN = "Unknown"


_FINAL_FOLDED = frozenset(
    status.casefold()
    for status in DeliveryStatus
    if status not in (DeliveryStatus.QUEUED, DeliveryStatus.DISPATCHED)
)


def is_final_status(status: str) -> bool:
    # A status Sinch invents later counts as not final: the message then waits for one we know
    # instead of being closed on a guess. Case is ignored because Sinch's own SDKs disagree on it.
    return status.casefold() in _FINAL_FOLDED


class StatusCode(NamedTuple):
    name: str
    status: DeliveryStatus | None
    """The status Sinch reports with this code; None where the docs leave it open."""
    description: str


# Codes other than these (non-zero SMPP errors, future Sinch codes) are valid and must be kept.
STATUS_CODES: Mapping[int, StatusCode] = MappingProxyType(
    {
        0: StatusCode("Delivered", DeliveryStatus.DELIVERED, "No error: delivered to the handset"),
        400: StatusCode("Queued", DeliveryStatus.QUEUED, "In Sinch's queue, waiting for the rate"),
        401: StatusCode("Dispatched", DeliveryStatus.DISPATCHED, "Accepted by the SMSC"),
        402: StatusCode(
            "Message unroutable",
            DeliveryStatus.ABORTED,
            "The SMSC rejected the message; a retry will fail the same way",
        ),
        403: StatusCode("Internal error", DeliveryStatus.ABORTED, "Internal error at Sinch"),
        404: StatusCode(
            "Temporary delivery failure",
            DeliveryStatus.ABORTED,
            "Temporary failure; sending again may succeed",
        ),
        405: StatusCode(
            "Unmatched parameter",
            DeliveryStatus.ABORTED,
            "A ${parameter} had no value and no default for this recipient",
        ),
        406: StatusCode(
            "Internal expiry", DeliveryStatus.ABORTED, "Expired before reaching the SMSC"
        ),
        407: StatusCode("Cancelled", DeliveryStatus.CANCELLED, "Cancelled by the user"),
        408: StatusCode("Internal reject", DeliveryStatus.ABORTED, "Rejected inside Sinch"),
        410: StatusCode(
            "Unmatched default originator",
            DeliveryStatus.ABORTED,
            "No sender given and no default originator configured",
        ),
        411: StatusCode(
            "Exceeded parts limit",
            DeliveryStatus.ABORTED,
            "The message needed more parts than max_number_of_message_parts",
        ),
        412: StatusCode(
            "Unprovisioned region",
            DeliveryStatus.ABORTED,
            "The account is not provisioned for the destination's region",
        ),
        413: StatusCode(
            "Blocked", DeliveryStatus.ABORTED, "The account is blocked, possibly out of credit"
        ),
        414: StatusCode("Bad media URL", None, "MMS only: the media URL could not be used"),
        415: StatusCode("Rejected by MMSC", None, "MMS only: the MMSC, gateway or network refused"),
        416: StatusCode("Not supported by MMSC", None, "MMS only: the MMSC cannot handle it"),
        417: StatusCode("Destination unreachable", None, "MMS only: the handset is unreachable"),
        418: StatusCode(
            "Content not recognised", None, "MMS only: the handset does not recognise the content"
        ),
    }
)


def code_meaning(code: int) -> str:
    """A code in words, as one phrase: "Message unroutable: the SMSC rejected the message..."."""
    entry = describe_code(code)
    said = entry.description
    if len(said) > 1 and said[1].islower():  # "The SMSC..." but not "SMPP..."
        said = said[0].lower() + said[1:]
    return f"{entry.name}: {said}"


def describe_code(code: int) -> StatusCode:
    """The table's entry, or a generic one: Sinch's codes grow, and below 400 are the SMSC's."""
    if (known := STATUS_CODES.get(code)) is not None:
        return known
    if 0 < code < 400:
        return StatusCode(
            f"Operator error {code}", None, "An SMPP or operator error reported by the SMSC"
        )
    return StatusCode(f"Code {code}", None, "Not in Sinch's documented codes")
