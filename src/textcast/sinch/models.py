"""Sinch's JSON as typed models: what we send, and what the API and its callbacks send back.

Response models keep unknown fields (`model_extra`) because Sinch adds fields without notice, and
keep statuses and codes as plain `str`/`int` because Sinch adds those too. Phone numbers Sinch
reports about recipients and MO senders come back without `+`; they are normalised to E.164 with
`+` here, so nothing past this package has to know.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_MSISDN_DIGITS = 15  # E.164


def _as_utc(value: datetime) -> datetime:
    # Sinch always sends UTC; a timestamp without an offset is read as UTC, never as local time.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _with_plus(value: str) -> str:
    digits = value.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("not an MSISDN")
    if len(digits) > MAX_MSISDN_DIGITS:
        raise ValueError(f"longer than {MAX_MSISDN_DIGITS} digits, so not a phone number")
    return f"+{digits}"


def describe_invalid(exc: ValidationError) -> tuple[str, str]:
    """The first failing field and rule, never the value: values can be phone numbers."""
    first = exc.errors()[0]
    return ".".join(str(part) for part in first["loc"]) or "(body)", first["msg"]


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
E164 = Annotated[str, AfterValidator(_with_plus)]
# Any code Sinch may add, within the 32-bit integer it is stored as: a larger one could not be
# stored, and would fail the callbacks stored beside it.
StatusCode = Annotated[int, Field(ge=-(2**31), lt=2**31)]


class DeliveryReportMode(StrEnum):
    NONE = "none"
    SUMMARY = "summary"
    FULL = "full"
    PER_RECIPIENT = "per_recipient"
    PER_RECIPIENT_FINAL = "per_recipient_final"


class BatchRequest(BaseModel):
    """The body of POST /batches (and dry_run) for a text batch."""

    # Forbid unknown fields here: a misspelt option would otherwise be sent silently as nothing.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    to: list[str] = Field(min_length=1, max_length=1000)
    body: str
    from_: str | None = Field(default=None, alias="from")
    delivery_report: DeliveryReportMode | None = None
    callback_url: str | None = None
    client_reference: str | None = None
    parameters: dict[str, dict[str, str]] | None = None
    send_at: Annotated[AwareDatetime, AfterValidator(_as_utc)] | None = None
    expire_at: Annotated[AwareDatetime, AfterValidator(_as_utc)] | None = None
    feedback_enabled: bool | None = None
    flash_message: bool | None = None
    truncate_concat: bool | None = None
    max_number_of_message_parts: int | None = Field(default=None, ge=1)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SinchModel(BaseModel):
    # A number where we expect a string (an `operator_id` of 311071) is read, not refused.
    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


class Batch(SinchModel):
    id: str
    to: tuple[str, ...] = ()
    """As Sinch echoes them: numbers without `+`, or group ids."""
    from_: str | None = Field(default=None, alias="from")
    canceled: bool = False
    body: str | None = None
    type: str | None = None
    created_at: UtcDatetime | None = None
    modified_at: UtcDatetime | None = None
    delivery_report: str | None = None
    send_at: UtcDatetime | None = None
    expire_at: UtcDatetime | None = None
    callback_url: str | None = None
    client_reference: str | None = None
    feedback_enabled: bool | None = None
    flash_message: bool | None = None
    parameters: dict[str, dict[str, str]] | None = None
    truncate_concat: bool | None = None
    max_number_of_message_parts: int | None = None


class BatchPage(SinchModel):
    count: int
    page: int
    page_size: int
    """How many batches this page holds, not how many were asked for."""
    batches: tuple[Batch, ...] = ()


class DryRunRecipient(SinchModel):
    recipient: str
    number_of_parts: int
    body: str
    encoding: str
    """`text` (GSM-7) or `unicode` (UCS-2)."""


class DryRunResult(SinchModel):
    number_of_recipients: int
    number_of_messages: int
    """Message parts across all recipients."""
    per_recipient: tuple[DryRunRecipient, ...] = ()


class StatusCount(SinchModel):
    code: StatusCode
    status: str
    count: int
    recipients: tuple[E164, ...] = ()
    """Only in `full` reports."""


class BatchReport(SinchModel):
    """A `delivery_report_sms`: per-status counts for a batch (GET or summary/full callback)."""

    type: str
    batch_id: str
    total_message_count: int | None = None
    statuses: tuple[StatusCount, ...] = ()
    client_reference: str | None = None


class RecipientReport(SinchModel):
    """A `recipient_delivery_report_sms`: one recipient's status (GET, list or callback)."""

    type: str
    batch_id: str
    recipient: E164
    code: StatusCode
    status: str
    at: UtcDatetime
    """When Sinch created this report."""
    operator_status_at: UtcDatetime | None = None
    """From the operator's delivery receipt, often rounded to the minute."""
    client_reference: str | None = None
    applied_originator: str | None = None
    encoding: str | None = None
    number_of_message_parts: int | None = None
    operator: str | None = None


class RecipientReportPage(SinchModel):
    count: int
    page: int
    page_size: int
    delivery_reports: tuple[RecipientReport, ...] = ()


class InboundMessage(SinchModel):
    """An MO message (`mo_text`, or `mo_binary` whose body is Base64 and `udh` hex)."""

    type: str
    # Bounded as stored (Sinch's ids are 26 characters): a longer value could not be stored,
    # and would fail the callbacks stored beside it.
    id: str = Field(max_length=64)
    from_: E164 = Field(alias="from")
    to: str = Field(max_length=32)
    """Our number or short code, as Sinch gives it."""
    body: str
    received_at: UtcDatetime
    sent_at: UtcDatetime | None = None
    operator_id: str | None = None
    client_reference: str | None = None
    udh: str | None = None


class InboundPage(SinchModel):
    count: int
    page: int
    page_size: int
    inbounds: tuple[InboundMessage, ...] = ()
