from datetime import datetime

import pytest
from pydantic import ValidationError

from textcast.sinch.models import BatchRequest


def test_a_batch_request_leaves_unset_fields_off_the_wire() -> None:
    request = BatchRequest(to=["+12017777777"], body="Hi", from_="Shop")
    assert request.to_wire() == {"to": ["+12017777777"], "body": "Hi", "from": "Shop"}


def test_a_batch_request_can_be_built_from_wire_names() -> None:
    request = BatchRequest.model_validate({"to": ["+1201"], "body": "Hi", "from": "Shop"})
    assert request.from_ == "Shop"


def test_a_batch_request_holds_one_to_a_thousand_recipients() -> None:
    BatchRequest(to=["+1201"] * 1000, body="Hi")
    with pytest.raises(ValidationError):
        BatchRequest(to=["+1201"] * 1001, body="Hi")
    with pytest.raises(ValidationError):
        BatchRequest(to=[], body="Hi")


def test_a_batch_request_refuses_times_without_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        BatchRequest(to=["+1201"], body="Hi", send_at=datetime(2025, 1, 13, 10, 0))


def test_a_batch_request_refuses_a_misspelt_option() -> None:
    with pytest.raises(ValidationError, match="callbackurl"):
        BatchRequest.model_validate({"to": ["+1201"], "body": "Hi", "callbackurl": "x"})


def test_a_batch_request_refuses_an_unknown_delivery_report_mode() -> None:
    with pytest.raises(ValidationError, match="delivery_report"):
        BatchRequest.model_validate({"to": ["+1201"], "body": "Hi", "delivery_report": "all"})
