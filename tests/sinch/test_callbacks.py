import json
from datetime import UTC, datetime
from typing import Any

import pytest

from textcast.sinch.callbacks import (
    CallbackParseError,
    SignatureError,
    SignatureFailure,
    compute_signature,
    parse_delivery_event,
    parse_inbound,
    verify_signature,
)
from textcast.sinch.models import BatchReport, RecipientReport

# Sinch's own test vector (docs/sinch.md, "HMAC signatures"): these exact bytes were signed.
SECRET = "SMSWebhooksSecret"
NONCE = "01JHFFHWYY7HSS4FWTMDTQEK8V"
TIMESTAMP = "1736760161"
BODY = (
    b'{"at":"2025-01-13T09:22:40.914Z","batch_id":"01JHFFHQ0P99JPPNQPJDV7JTBP",'
    b'"client_reference":"a client reference","code":0,'
    b'"operator_status_at":"2025-01-13T09:22:00Z","recipient":"33662162466",'
    b'"status":"Delivered","type":"recipient_delivery_report_sms"}'
)
SIGNATURE = "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0="
SIGNED_AT = float(TIMESTAMP)


HEADER_NAMES = {
    "signature": "X-Sinch-Webhook-Signature",
    "algorithm": "X-Sinch-Webhook-Signature-Algorithm",
    "nonce": "X-Sinch-Webhook-Signature-Nonce",
    "timestamp": "X-Sinch-Webhook-Signature-Timestamp",
}


def signed_headers(**changes: str | None) -> dict[str, str]:
    """The vector's headers as Sinch spells them; a change to None drops the header."""
    values: dict[str, str | None] = {
        "signature": SIGNATURE,
        "algorithm": "HmacSHA256",
        "nonce": NONCE,
        "timestamp": TIMESTAMP,
        **changes,
    }
    return {HEADER_NAMES[key]: value for key, value in values.items() if value is not None}


def failure_of(headers: dict[str, str], body: bytes = BODY, now: float = SIGNED_AT) -> str:
    with pytest.raises(SignatureError) as raised:
        verify_signature(SECRET, body, headers, now=now)
    return raised.value.failure


def test_signature_matches_sinch_test_vector() -> None:
    assert compute_signature(SECRET, BODY, NONCE, TIMESTAMP) == SIGNATURE


def test_accepts_a_signed_callback_and_returns_its_nonce() -> None:
    check = verify_signature(SECRET, BODY, signed_headers(), now=SIGNED_AT + 10)
    assert (check.nonce, check.timestamp) == (NONCE, 1736760161)


def test_header_names_are_matched_in_any_case() -> None:
    lowered = {name.lower(): value for name, value in signed_headers().items()}
    assert verify_signature(SECRET, BODY, lowered, now=SIGNED_AT).nonce == NONCE


@pytest.mark.parametrize("algorithm", [None, "hmacsha256", "HMACSHA256"])
def test_algorithm_header_may_be_absent_or_any_case(algorithm: str | None) -> None:
    headers = signed_headers(algorithm=algorithm)
    assert verify_signature(SECRET, BODY, headers, now=SIGNED_AT).nonce == NONCE


def test_refuses_another_algorithm() -> None:
    assert (
        failure_of(signed_headers(algorithm="HmacSHA1")) == SignatureFailure.UNSUPPORTED_ALGORITHM
    )


@pytest.mark.parametrize("missing", ["signature", "nonce", "timestamp"])
def test_refuses_a_callback_missing_a_signature_header(missing: str) -> None:
    with pytest.raises(SignatureError, match=missing) as raised:
        verify_signature(SECRET, BODY, signed_headers(**{missing: None}), now=SIGNED_AT)
    assert raised.value.failure == SignatureFailure.MISSING_HEADERS


def test_refuses_an_altered_body() -> None:
    altered = BODY.replace(b"Delivered", b"Failed")
    assert failure_of(signed_headers(), body=altered) == SignatureFailure.BAD_SIGNATURE


def test_refuses_a_replayed_signature_with_another_nonce() -> None:
    headers = signed_headers(nonce="01JHFFHWYY7HSS4FWTMDTQEK8W")
    assert failure_of(headers) == SignatureFailure.BAD_SIGNATURE


def test_refuses_a_timestamp_that_is_not_a_number() -> None:
    assert failure_of(signed_headers(timestamp="yesterday")) == SignatureFailure.MALFORMED_TIMESTAMP


def test_accepts_a_callback_exactly_five_minutes_old() -> None:
    assert verify_signature(SECRET, BODY, signed_headers(), now=SIGNED_AT + 300).nonce == NONCE


def test_refuses_a_callback_older_than_five_minutes() -> None:
    assert failure_of(signed_headers(), now=SIGNED_AT + 301) == SignatureFailure.STALE_TIMESTAMP


def test_refuses_a_callback_signed_more_than_five_minutes_ahead() -> None:
    assert failure_of(signed_headers(), now=SIGNED_AT - 301) == SignatureFailure.FUTURE_TIMESTAMP


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        compute_signature("", BODY, NONCE, TIMESTAMP)


def test_parses_a_recipient_report_with_a_plus_on_the_recipient() -> None:
    report = parse_delivery_event(json.loads(BODY))
    assert isinstance(report, RecipientReport)
    assert report.batch_id == "01JHFFHQ0P99JPPNQPJDV7JTBP"
    assert report.recipient == "+33662162466"
    assert (report.code, report.status) == (0, "Delivered")
    assert report.at == datetime(2025, 1, 13, 9, 22, 40, 914000, tzinfo=UTC)
    assert report.operator_status_at == datetime(2025, 1, 13, 9, 22, tzinfo=UTC)
    assert report.client_reference == "a client reference"


def recipient_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(BODY)
    report.update(changes)
    return {key: value for key, value in report.items() if value is not None}


def test_tolerates_codes_as_strings_unknown_statuses_and_new_fields() -> None:
    data = recipient_report(code="499", status="Vanished", operator="310260", new_field=1)
    report = parse_delivery_event(data)
    assert isinstance(report, RecipientReport)
    assert (report.code, report.status, report.operator) == (499, "Vanished", "310260")
    assert report.model_extra == {"new_field": 1}


def test_an_aborted_report_needs_no_operator_time() -> None:
    report = parse_delivery_event(
        recipient_report(code=412, status="Aborted", operator_status_at=None)
    )
    assert isinstance(report, RecipientReport)
    assert report.operator_status_at is None


def test_timestamps_without_offset_are_utc() -> None:
    report = parse_delivery_event(recipient_report(at="2025-01-13T09:22:40"))
    assert isinstance(report, RecipientReport)
    assert report.at == datetime(2025, 1, 13, 9, 22, 40, tzinfo=UTC)


def test_parses_a_batch_report_with_a_string_total() -> None:
    data = {
        "type": "delivery_report_sms",
        "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
        "total_message_count": "2",
        "statuses": [
            {"code": 0, "status": "Delivered", "count": 2, "recipients": ["12017777777", "+336"]},
        ],
        "client_reference": "client-ref",
    }
    report = parse_delivery_event(data)
    assert isinstance(report, BatchReport)
    assert report.total_message_count == 2
    (delivered,) = report.statuses
    assert (delivered.status, delivered.code, delivered.count) == ("Delivered", 0, 2)
    assert delivered.recipients == ("+12017777777", "+336")
    assert report.client_reference == "client-ref"


def test_a_summary_report_has_no_recipients() -> None:
    data = {
        "type": "delivery_report_sms",
        "batch_id": "B",
        "statuses": [{"code": 402, "status": "Aborted", "count": 1}],
    }
    report = parse_delivery_event(data)
    assert isinstance(report, BatchReport)
    assert report.statuses[0].recipients == ()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (recipient_report(batch_id=None), "batch_id"),
        (recipient_report(code="abc"), "code"),
        (recipient_report(at="not a time"), "at"),
        (recipient_report(recipient="+33 6 62"), "recipient"),
        (recipient_report(type="mt_text"), "type"),
        (recipient_report(type=None), "type"),
        (
            {"type": "delivery_report_sms", "batch_id": "B", "statuses": [{"code": 0}]},
            "statuses.0.status",
        ),
        (["not", "an", "object"], "(body)"),
    ],
)
def test_parse_errors_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(CallbackParseError) as raised:
        parse_delivery_event(data)
    assert raised.value.field == field


def test_parse_errors_do_not_repeat_the_phone_number() -> None:
    with pytest.raises(CallbackParseError) as raised:
        parse_delivery_event(recipient_report(recipient="33662162466x"))
    assert "33662162466" not in str(raised.value)


INBOUND = {
    "type": "mo_text",
    "id": "01W4FFL35P4NC4K35SMSBATCH8",
    "from": "12015555555",
    "to": "12017777777",
    "body": "STOP",
    "operator_id": "311071",
    "received_at": "2024-06-06T07:52:37.386Z",
}


def test_parses_an_inbound_text() -> None:
    message = parse_inbound(INBOUND)
    assert message.id == "01W4FFL35P4NC4K35SMSBATCH8"
    assert message.from_ == "+12015555555"
    assert message.to == "12017777777"
    assert message.body == "STOP"
    assert message.received_at == datetime(2024, 6, 6, 7, 52, 37, 386000, tzinfo=UTC)
    assert (message.sent_at, message.client_reference) == (None, None)
    assert message.operator_id == "311071"


def test_parses_an_inbound_binary_message() -> None:
    message = parse_inbound({**INBOUND, "type": "mo_binary", "body": "SGk=", "udh": "050003"})
    assert (message.type, message.body, message.udh) == ("mo_binary", "SGk=", "050003")


def test_inbound_parse_errors_name_the_field() -> None:
    with pytest.raises(CallbackParseError) as raised:
        parse_inbound({key: value for key, value in INBOUND.items() if key != "from"})
    assert raised.value.field == "from"


def test_an_mms_inbound_is_not_supported() -> None:
    with pytest.raises(CallbackParseError, match="mo_media") as raised:
        parse_inbound({**INBOUND, "type": "mo_media"})
    assert raised.value.field == "type"
