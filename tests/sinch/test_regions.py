import pytest

from textcast.sinch.regions import base_url_for_region


@pytest.mark.parametrize("region", ["us", "eu", "au", "br", "ca"])
def test_each_region_has_its_own_host(region: str) -> None:
    assert base_url_for_region(region) == f"https://{region}.sms.api.sinch.com"


def test_region_names_ignore_case_and_spaces() -> None:
    assert base_url_for_region(" EU ") == "https://eu.sms.api.sinch.com"


def test_unknown_region_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="us, eu, au, br, ca"):
        base_url_for_region("uk")
