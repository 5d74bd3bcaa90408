"""Where a number is: zones and country from the numbering plan, a US number's state from its
area code, and what a contact's stored zone, country or state change."""

import pytest

from textcast.domain.phones.zones import RecipientZone, recipient_zone


def test_the_stored_time_zone_wins() -> None:
    where = recipient_zone("+13055550123", "US", "America/Chicago")
    assert where == RecipientZone(("America/Chicago",), "US", "FL")
    assert where.zone == "America/Chicago"


def test_an_invalid_stored_time_zone_falls_back_to_the_number() -> None:
    where = recipient_zone("+14155550123", "US", "Mars/Olympus_Mons")
    assert where.zones == ("America/Los_Angeles",)


@pytest.mark.parametrize(
    ("phone", "zone", "country"),
    [
        ("+12125550123", "America/New_York", "US"),
        ("+33612345678", "Europe/Paris", "FR"),
        ("+819012345678", "Asia/Tokyo", "JP"),
        ("+14165550123", "America/Toronto", "CA"),
    ],
)
def test_the_number_gives_the_zone_and_country_when_they_are_not_stored(
    phone: str, zone: str, country: str
) -> None:
    where = recipient_zone(phone, None, None)
    assert (where.zones, where.country) == ((zone,), country)


def test_a_number_that_leaves_several_zones_open_keeps_them_all() -> None:
    # Idaho's area code spans Mountain and Pacific time; Spanish mobiles include the Canaries.
    assert recipient_zone("+12082001234", "US", None).zones == (
        "America/Boise",
        "America/Los_Angeles",
    )
    assert recipient_zone("+34612345678", None, None).zones == ("Atlantic/Canary", "Europe/Madrid")
    australia = recipient_zone("+61412345678", None, None)
    assert {"Australia/Perth", "Australia/Sydney"} <= set(australia.zones)
    assert australia.zone is None


def test_a_number_that_tells_nothing_gets_every_zone_of_its_country() -> None:
    where = recipient_zone("+15555550123", "US", None)
    assert {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
    } <= set(where.zones)
    assert not any(zone.startswith(("Europe/", "Asia/")) for zone in where.zones)
    assert where.us_state is None


def test_zones_of_a_shared_calling_code_stay_within_the_country() -> None:
    # phonenumbers gives a Jamaican mobile every zone of +1, from Guam to Newfoundland.
    assert recipient_zone("+18762101234", None, None) == RecipientZone(
        ("America/Jamaica",), "JM", None
    )


@pytest.mark.parametrize(
    ("phone", "state"),
    [
        ("+13055550123", "FL"),  # geocoder: "Florida"
        ("+14055550123", "OK"),  # "Oklahoma"
        ("+12125550123", "NY"),  # "New York, NY"
        ("+14155550123", "CA"),  # "San Francisco, CA"
        ("+12025550100", "DC"),  # "Washington D.C."
        ("+12065550100", "WA"),  # "Washington State"
    ],
)
def test_a_us_numbers_state_comes_from_its_area_code(phone: str, state: str) -> None:
    assert recipient_zone(phone, "US", None).us_state == state


def test_a_stored_state_wins_unless_it_is_not_a_state() -> None:
    assert recipient_zone("+13055550123", "US", None, "ny").us_state == "NY"
    assert recipient_zone("+13055550123", "US", None, "XX").us_state == "FL"
    assert recipient_zone("+33612345678", "FR", None, "FL").us_state is None
    assert recipient_zone("+14165550123", "CA", None).us_state is None
