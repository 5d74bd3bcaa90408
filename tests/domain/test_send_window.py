import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from textcast.domain.campaigns.send_window import (
    NoSendWindow,
    Rules,
    Verdicts,
    Window,
    is_allowed,
    local_time_to_utc,
    next_allowed,
    parse_window,
)
from textcast.domain.phones.zones import RecipientZone, recipient_zone

RULES = Rules.from_table("08:00-21:00", {})
MINUTE = timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def june(day: int, hour: int) -> datetime:
    return utc(2026, 6, day, hour)


def wall(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given as the zone's wall clock reads it."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# -- windows and rules ---------------------------------------------------------------------------


def test_parse_window_reads_opening_and_closing_times() -> None:
    assert parse_window("08:00-21:00") == Window(time(8), time(21))
    assert parse_window(" 9:30 - 17:45 ") == Window(time(9, 30), time(17, 45))
    assert str(parse_window("08:00-20:00")) == "08:00-20:00"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "must look like 08:00-21:00"),
        ("8-21", "must look like 08:00-21:00"),
        ("08:00", "must look like 08:00-21:00"),
        ("08:00-21:00-22:00", "must look like 08:00-21:00"),
        ("8h-20h", "must look like 08:00-21:00"),
        ("24:00-25:00", "24:00 is not a time of day"),
        ("08:60-21:00", "08:60 is not a time of day"),
        ("21:00-08:00", "must open before it closes (a window cannot span midnight)"),
        ("08:00-08:00", "must open before it closes"),
    ],
)
def test_parse_window_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as caught:
        parse_window(text)
    assert repr(text) in str(caught.value)


def test_legal_limits_narrow_the_default_by_state() -> None:
    assert RULES.window_for("US", "NY") == parse_window("08:00-21:00")
    assert RULES.window_for("US", "FL") == parse_window("08:00-20:00")
    assert RULES.window_for("US", "OK") == parse_window("08:00-20:00")
    assert RULES.window_for("FR", None) == parse_window("08:00-21:00")
    assert RULES.window_for(None, None) == parse_window("08:00-21:00")


def test_a_us_recipient_of_unknown_state_gets_the_narrowest_state_window() -> None:
    assert RULES.window_for("US", None) == parse_window("08:00-20:00")


def test_a_narrower_default_narrows_every_country() -> None:
    rules = Rules.from_table("09:00-18:00", {})
    assert rules.window_for("US", "NY") == parse_window("09:00-18:00")
    assert rules.window_for("US", "FL") == parse_window("09:00-18:00")
    assert rules.window_for("JP", None) == parse_window("09:00-18:00")


def test_an_override_replaces_the_default_and_the_legal_limit_of_its_key() -> None:
    rules = Rules.from_table(
        "08:00-21:00", {"fr": "08:00-20:00", "DE": "07:00-22:00", "US-FL": "08:00-21:00"}
    )
    assert rules.window_for("FR", None) == parse_window("08:00-20:00")
    assert rules.window_for("DE", None) == parse_window("07:00-22:00")
    assert rules.window_for("US", "FL") == parse_window("08:00-21:00")
    assert rules.window_for("US", "OK") == parse_window("08:00-20:00")
    assert rules.window_for("IT", None) == parse_window("08:00-21:00")


def test_a_country_override_leaves_its_states_limits_in_force() -> None:
    rules = Rules.from_table("08:00-21:00", {"US": "07:00-22:00"})
    assert rules.window_for("US", "NY") == parse_window("07:00-22:00")
    assert rules.window_for("US", "FL") == parse_window("08:00-20:00")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"Florida": "08:00-20:00"}, "send window override 'Florida': the key must be a country"),
        ({"FR": "8h-20h"}, "send window override 'FR': send window '8h-20h' must look like"),
        (
            {"US": "05:00-07:00"},
            "send window for US-FL: 05:00-07:00, 08:00-20:00 have no hour in common",
        ),
    ],
)
def test_a_bad_override_is_refused_with_its_key(overrides: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        Rules.from_table("08:00-21:00", overrides)


# -- judging instants ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "country", "state", "opens", "closes", "reopens"),
    [
        ("America/New_York", "US", "NY", june(15, 12), june(16, 1), june(16, 12)),
        ("America/Los_Angeles", "US", "CA", june(15, 15), june(16, 4), june(16, 15)),
        ("Europe/Paris", "FR", None, june(15, 6), june(15, 19), june(16, 6)),
        ("Asia/Tokyo", "JP", None, june(14, 23), june(15, 12), june(15, 23)),
        ("Australia/Sydney", "AU", None, june(14, 22), june(15, 11), june(15, 22)),
    ],
)
def test_the_window_is_8_to_21_on_the_recipients_clock(
    zone: str,
    country: str,
    state: str | None,
    opens: datetime,
    closes: datetime,
    reopens: datetime,
) -> None:
    assert opens.astimezone(ZoneInfo(zone)).time() == time(8)
    assert closes.astimezone(ZoneInfo(zone)).time() == time(21)
    where = RecipientZone((zone,), country, state)
    assert not is_allowed(where, opens - MINUTE, RULES)
    assert next_allowed(where, opens - MINUTE, RULES) == opens
    assert is_allowed(where, opens, RULES)
    assert next_allowed(where, opens, RULES) == opens
    assert is_allowed(where, closes - MINUTE, RULES)
    assert next_allowed(where, closes - MINUTE, RULES) == closes - MINUTE
    assert not is_allowed(where, closes, RULES)
    assert next_allowed(where, closes, RULES) == reopens


def test_answers_are_in_utc_whatever_zone_the_question_is_in() -> None:
    paris = RecipientZone(("Europe/Paris",), "FR", None)
    answer = next_allowed(paris, wall("Asia/Tokyo", 2026, 6, 15, 13, 0), RULES)
    assert answer == utc(2026, 6, 15, 6)
    assert answer.tzinfo is UTC


def test_naive_instants_are_refused() -> None:
    paris = RecipientZone(("Europe/Paris",), "FR", None)
    with pytest.raises(ValueError, match="no time zone"):
        is_allowed(paris, datetime(2026, 6, 15, 12), RULES)


def test_florida_closes_at_20_where_new_york_closes_at_21() -> None:
    miami = recipient_zone("+13055550123", "US", "America/New_York")
    manhattan = recipient_zone("+12125550123", "US", "America/New_York")
    assert is_allowed(miami, wall("America/New_York", 2026, 6, 15, 19, 59), RULES)
    evening = wall("America/New_York", 2026, 6, 15, 20, 0)
    assert is_allowed(manhattan, evening, RULES)
    assert not is_allowed(miami, evening, RULES)
    assert next_allowed(miami, evening, RULES) == wall("America/New_York", 2026, 6, 16, 8)


def test_oklahoma_closes_at_20_central_time() -> None:
    tulsa = recipient_zone("+19185550123", "US", None)
    assert (tulsa.zones, tulsa.us_state) == (("America/Chicago",), "OK")
    assert not is_allowed(tulsa, wall("America/Chicago", 2026, 6, 15, 20, 0), RULES)
    assert is_allowed(tulsa, wall("America/Chicago", 2026, 6, 15, 19, 59), RULES)


def test_several_possible_zones_share_only_the_hours_open_in_all() -> None:
    where = RecipientZone(("America/New_York", "Pacific/Honolulu"), "US", "NY")
    # 08:00 in Honolulu is 14:00 in New York; 21:00 in New York is 15:00 in Honolulu.
    assert next_allowed(where, utc(2026, 7, 1, 12), RULES) == utc(2026, 7, 1, 18)
    assert is_allowed(where, utc(2026, 7, 2, 0, 59), RULES)
    assert not is_allowed(where, utc(2026, 7, 2, 1), RULES)
    assert next_allowed(where, utc(2026, 7, 2, 1), RULES) == utc(2026, 7, 2, 18)


def test_an_unknown_zone_in_the_us_waits_for_hawaii_and_stops_at_20_eastern() -> None:
    where = recipient_zone("+15555550123", "US", None)
    # Hawaii opens last (08:00 HST = 18:00 UTC); with the state unknown, Florida's 20:00
    # Eastern (00:00 UTC in July) closes first.
    assert next_allowed(where, utc(2026, 7, 1, 12), RULES) == utc(2026, 7, 1, 18)
    assert is_allowed(where, utc(2026, 7, 1, 23, 59), RULES)
    assert not is_allowed(where, utc(2026, 7, 2, 0), RULES)
    assert next_allowed(where, utc(2026, 7, 2, 0), RULES) == utc(2026, 7, 2, 18)


def test_zones_that_never_share_an_open_hour_allow_nothing() -> None:
    rules = Rules.from_table("09:00-17:00", {})
    where = RecipientZone(("Europe/Paris", "Pacific/Auckland"), None, None)
    assert not is_allowed(where, utc(2026, 7, 1, 8), rules)
    with pytest.raises(NoSendWindow, match="never open"):
        next_allowed(where, utc(2026, 7, 1, 8), rules)


def test_a_recipient_without_any_zone_allows_nothing() -> None:
    where = recipient_zone("+88212345678", None, None)
    assert where == RecipientZone((), None, None)
    assert not is_allowed(where, utc(2026, 7, 1, 12), RULES)
    with pytest.raises(NoSendWindow, match="no time zone"):
        next_allowed(where, utc(2026, 7, 1, 12), RULES)


def test_new_york_opens_an_hour_earlier_in_utc_after_clocks_go_forward() -> None:
    new_york = RecipientZone(("America/New_York",), "US", "NY")
    assert next_allowed(new_york, utc(2026, 3, 7, 5), RULES) == utc(2026, 3, 7, 13)  # EST
    assert next_allowed(new_york, utc(2026, 3, 8, 5), RULES) == utc(2026, 3, 8, 12)  # EDT
    assert is_allowed(new_york, utc(2026, 3, 9, 0, 59), RULES)
    assert next_allowed(new_york, utc(2026, 3, 9, 1), RULES) == utc(2026, 3, 9, 12)


def test_paris_opens_an_hour_earlier_in_utc_after_clocks_go_forward() -> None:
    paris = RecipientZone(("Europe/Paris",), "FR", None)
    assert next_allowed(paris, utc(2026, 3, 28, 0), RULES) == utc(2026, 3, 28, 7)  # CET
    assert next_allowed(paris, utc(2026, 3, 29, 0), RULES) == utc(2026, 3, 29, 6)  # CEST
    assert not is_allowed(paris, utc(2026, 3, 29, 19), RULES)


def test_new_york_opens_an_hour_later_in_utc_after_clocks_go_back() -> None:
    new_york = RecipientZone(("America/New_York",), "US", "NY")
    assert next_allowed(new_york, utc(2026, 11, 1, 2), RULES) == utc(2026, 11, 1, 13)


def test_an_opening_the_clocks_skip_comes_at_the_jump() -> None:
    rules = Rules.from_table("02:30-21:00", {})
    new_york = RecipientZone(("America/New_York",), None, None)
    # 2026-03-08 02:00 EST becomes 03:00 EDT (07:00 UTC): 02:30 never shows.
    assert next_allowed(new_york, utc(2026, 3, 8, 5), rules) == utc(2026, 3, 8, 7)
    assert not is_allowed(new_york, utc(2026, 3, 8, 6, 59), rules)


def test_an_opening_the_clocks_show_twice_comes_at_the_first() -> None:
    rules = Rules.from_table("01:30-21:00", {})
    new_york = RecipientZone(("America/New_York",), None, None)
    # 2026-11-01 shows 01:30 at 05:30 UTC (EDT), then again at 06:30 UTC (EST).
    assert next_allowed(new_york, utc(2026, 11, 1, 4), rules) == utc(2026, 11, 1, 5, 30)


@pytest.mark.parametrize(
    "zones",
    [("America/New_York",), ("Europe/Paris",), ("America/Los_Angeles", "Europe/London")],
)
def test_is_allowed_agrees_with_next_allowed_across_clock_changes(
    zones: tuple[str, ...],
) -> None:
    where = RecipientZone(zones, None, None)
    for start in (utc(2026, 3, 7), utc(2026, 3, 28), utc(2026, 10, 24), utc(2026, 10, 31)):
        for step in range(0, 3 * 24 * 60, 7):
            at = start + step * MINUTE
            assert is_allowed(where, at, RULES) == (next_allowed(where, at, RULES) == at), at


def test_local_time_in_one_zone_is_the_next_time_its_clock_shows_it() -> None:
    new_york = RecipientZone(("America/New_York",), "US", "NY")
    assert local_time_to_utc(new_york, utc(2026, 6, 15, 0), time(10)) == utc(2026, 6, 15, 14)
    assert local_time_to_utc(new_york, utc(2026, 6, 15, 14), time(10)) == utc(2026, 6, 15, 14)
    assert local_time_to_utc(new_york, utc(2026, 6, 15, 15), time(10)) == utc(2026, 6, 16, 14)
    assert local_time_to_utc(new_york, utc(2026, 3, 7, 16), time(10)) == utc(2026, 3, 8, 14)
    tokyo = RecipientZone(("Asia/Tokyo",), "JP", None)
    assert local_time_to_utc(tokyo, utc(2026, 6, 15, 0), time(10)) == utc(2026, 6, 15, 1)


def test_local_time_with_several_zones_waits_until_it_is_that_time_in_all() -> None:
    coasts = RecipientZone(("America/Los_Angeles", "America/New_York"), "US", None)
    assert local_time_to_utc(coasts, utc(2026, 6, 15, 0), time(10)) == utc(2026, 6, 15, 17)
    # 11:00 in New York, 08:00 in Los Angeles: 10:00 comes to Los Angeles the same day.
    assert local_time_to_utc(coasts, utc(2026, 6, 15, 15), time(10)) == utc(2026, 6, 15, 17)
    assert local_time_to_utc(coasts, utc(2026, 6, 15, 18), time(10)) == utc(2026, 6, 16, 17)


# -- many recipients at once ---------------------------------------------------------------------


def test_verdicts_judge_each_recipient_by_its_own_place() -> None:
    """A batch's recipients are judged together: numbers placed alike share a verdict, and
    no verdict leaks to a number placed elsewhere."""
    at = june(1, 13)  # 09:00 in New York, 06:00 in Los Angeles
    verdicts = Verdicts(at, RULES)

    assert verdicts.allowed("+12125550100", None, None) == at  # New York (212): open
    assert verdicts.allowed("+12125550199", None, None) == at
    # Los Angeles (213) shares New York's first digits but not its clock: 08:00 there.
    assert verdicts.allowed("+12135550100", None, None) == june(1, 15)
    # A stored zone wins over the number's, and a stored country over its calling code.
    assert verdicts.allowed("+12125550100", None, "America/Los_Angeles") == june(1, 15)
    assert verdicts.allowed("+12125550100", "JP", "Asia/Tokyo") == june(1, 23)
    # Nowhere to judge the hour: never (as `next_allowed` raising NoSendWindow).
    assert verdicts.allowed("+12125550100", None, "Mars/Olympus_Mons") == at
    assert verdicts.allowed("+999123", None, None) is None
    for phone, country, zone in [
        ("+12135550100", None, None),
        ("+12125550100", "JP", "Asia/Tokyo"),
    ]:
        expected = next_allowed(recipient_zone(phone, country, zone), at, RULES)
        assert verdicts.allowed(phone, country, zone) == expected
