import pytest

from textcast.sinch.statuses import STATUS_CODES, DeliveryStatus, is_final_status


@pytest.mark.parametrize(
    "status",
    ["Delivered", "Failed", "Expired", "Rejected", "Aborted", "Cancelled", "Deleted", "Unknown"],
)
def test_final_statuses_are_final(status: str) -> None:
    assert is_final_status(status)


@pytest.mark.parametrize("status", ["Queued", "Dispatched", "SomethingNew", ""])
def test_intermediate_and_unknown_statuses_are_not_final(status: str) -> None:
    assert not is_final_status(status)


def test_status_case_is_ignored() -> None:
    assert is_final_status("DELIVERED")


def test_status_codes_say_what_they_mean() -> None:
    assert STATUS_CODES[0].status is DeliveryStatus.DELIVERED
    assert STATUS_CODES[405].name == "Unmatched parameter"
    assert STATUS_CODES[407].status is DeliveryStatus.CANCELLED
    assert STATUS_CODES[411].status is DeliveryStatus.ABORTED
    assert 409 not in STATUS_CODES
