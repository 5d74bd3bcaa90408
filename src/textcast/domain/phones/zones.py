"""Where a phone number is: the time zones and country the numbering plan gives it, and the state a
US number's area code serves, unless the contact's stored zone, country or state say better.
Send windows judge the hour there; nothing here knows about windows.

Everything that depends only on a number or a country is cached, so placing a recipient costs a
few lookups. `warm_up` builds the tables before the first batch needs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneMetadata
from phonenumbers import timezone as number_time_zones

from textcast.domain.phones.numbers import InvalidPhone, PhoneInfo, read_phone
from textcast.domain.phones.us_area_codes import AREA_CODE_STATES, US_STATE_NAMES


@dataclass(frozen=True, slots=True)
class RecipientZone:
    """Where a recipient is, as far as we know."""

    zones: tuple[str, ...]
    """IANA zones: one when known, else every zone the recipient may be in (sorted). Empty when
    nothing is known, and then no instant is allowed."""
    country: str | None
    us_state: str | None
    """Two-letter code of a US recipient's state, when known."""

    @property
    def zone(self) -> str | None:
        """The zone, when only one is possible."""
        return self.zones[0] if len(self.zones) == 1 else None


def recipient_zone(
    phone_e164: str, country: str | None, time_zone: str | None, us_state: str | None = None
) -> RecipientZone:
    """Where to judge the hour for a contact.

    The zone is the stored `time_zone` when it is a valid IANA name; else the zones the number's
    prefix allows within its country, or the whole country when the number tells nothing. The
    state of a US number is `us_state` when it is one, else the one its area code serves.
    """
    key = place_key(phone_e164, country, time_zone, us_state)
    found = _ZONES.get(key)
    if found is None:
        if len(_ZONES) >= _ZONES_LIMIT:
            _ZONES.clear()
        found = _ZONES[key] = _recipient_zone(phone_e164, country, time_zone, us_state)
    return found


PlaceKey = tuple[str, str | None, str | None, str | None]
_ZONES: dict[PlaceKey, RecipientZone] = {}
_ZONES_LIMIT = 1 << 17


def place_key(
    phone_e164: str, country: str | None, time_zone: str | None, us_state: str | None
) -> PlaceKey:
    """What `recipient_zone` reads. A North American number's zone, country and state follow
    its first 7 digits: numbers sharing them share the answer (a batch of 1000 often has a
    handful of prefixes)."""
    number = phone_e164[:8] if phone_e164.startswith("+1") else phone_e164
    return (number, country, time_zone, us_state)


def _recipient_zone(
    phone_e164: str, country: str | None, time_zone: str | None, us_state: str | None
) -> RecipientZone:
    country = country.upper() if country else _number_country(phone_e164)
    if time_zone is not None and _is_zone(time_zone):
        zones: tuple[str, ...] = (time_zone,)
    else:
        zones = _number_zones(phone_e164, country)
    state = None
    if country == "US":
        state = us_state.upper() if us_state else None
        if state not in _US_STATE_CODES:
            state = _us_state(phone_e164)
    return RecipientZone(zones, country, state)


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _known(zones: Iterable[str]) -> tuple[str, ...]:
    """Loadable zones only: phonenumbers says Etc/Unknown, and some systems lack old names."""
    return tuple(sorted({zone for zone in zones if _is_zone(zone)}))


@lru_cache(maxsize=1 << 17)
def _number_zones(e164: str, country: str | None) -> tuple[str, ...]:
    """phonenumbers.timezone.time_zones_for_number within the country, reading the number's
    type only when that matters.

    phonenumbers answers with the longest matching prefix for a geographic number and with the
    calling code's zones for the others (most mobiles outside the Americas).
    """
    digits = e164.removeprefix("+")
    code = _calling_code(digits)
    if code is None:
        return _within((), country)
    prefix_zones = _prefix_zones(digits)
    by_prefix = _within(prefix_zones, country)
    by_code = _calling_code_zones(code, country)
    if by_prefix == by_code:
        return by_prefix
    if code == 1 and by_prefix:
        # North American numbers of every type (mobiles too) belong to an area code, and the
        # prefix (at most 7 digits in phonenumbers' table) names its zones: no need to read
        # the number's type.
        return by_prefix
    info = _read(e164)
    if info is None:
        return _within(_parsed_number_zones(e164), country)
    if info.time_zone is not None:
        return _within((info.time_zone,), country)
    if len(prefix_zones) == 1:
        # A geographic number with one zone by prefix would have had it: this one is not.
        return by_code
    return by_prefix if _is_geographic(code, digits[len(str(code)) :]) else by_code


@lru_cache(maxsize=1 << 17)
def _number_country(e164: str) -> str | None:
    code = _calling_code(e164.removeprefix("+"))
    if code is None:
        return None
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    if len(regions) == 1:
        return regions[0] if regions[0].isalpha() else None
    info = _read(e164)
    return info.country if info else None


@lru_cache(maxsize=1024)
def _read(e164: str) -> PhoneInfo | None:
    """The number as phones reads it (fast); None when it is not a valid mobile number."""
    try:
        return read_phone(e164, "ZZ")
    except InvalidPhone:
        return None


def _is_geographic(code: int, national: str) -> bool:
    zeros = len(national) - len(national.lstrip("0"))
    number = phonenumbers.PhoneNumber(
        country_code=code,
        national_number=int(national),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    return phonenumbers.is_number_type_geographical(phonenumbers.number_type(number), code)


def _parsed_number_zones(e164: str) -> tuple[str, ...]:
    try:
        return number_time_zones.time_zones_for_number(phonenumbers.parse(e164))
    except NumberParseException:
        return ()


def _calling_code(digits: str) -> int | None:
    if not (digits.isascii() and digits.isdigit()):
        return None
    for size in (1, 2, 3):
        if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:size])
    return None


def _prefix_zones(digits: str) -> tuple[str, ...]:
    table, longest = _time_zone_table()
    for size in range(min(len(digits), longest), 0, -1):
        zones = table.get(digits[:size])
        if zones is not None:
            return zones
    return ()


@cache
def _calling_code_zones(code: int, country: str | None) -> tuple[str, ...]:
    table, text = _time_zone_table()[0], str(code)
    return _within(table.get(text) or table.get(text[:2]) or (), country)


def warm_up() -> None:
    """Build the zone tables every calling code needs (a fifth of a second), so that the
    first batch to a country does not pay for it while a campaign is being sent."""
    for code in COUNTRY_CODE_TO_REGION_CODE:
        _zones_by_region(code)


@cache
def _time_zone_table() -> tuple[Mapping[str, tuple[str, ...]], int]:
    """phonenumbers' zones by number prefix, and its longest prefix."""
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    return TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX


@lru_cache(maxsize=4096)
def _within(zones: tuple[str, ...], country: str | None) -> tuple[str, ...]:
    """The zones that lie in the country; when none does (a calling code shared by several
    countries, a number that says nothing), every zone of the country as well."""
    if country is None:
        return _known(zones)
    national = _country_zones(country)
    inside = _known(zone for zone in zones if zone in national)
    return inside or _known([*zones, *national])


@cache
def _country_zones(country: str) -> frozenset[str]:
    """Every zone phonenumbers places some number of the country in."""
    code = phonenumbers.country_code_for_region(country)
    return _zones_by_region(code).get(country, frozenset()) if code else frozenset()


@cache
def _zones_by_region(code: int) -> Mapping[str, frozenset[str]]:
    text = str(code)
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    found: dict[str, set[str]] = {}
    for prefix, zones in _time_zone_table()[0].items():
        if not prefix.startswith(text):
            continue
        if len(regions) == 1:
            region = regions[0]
        elif prefix == text:
            continue  # the calling code as a whole: every region sharing it at once
        else:
            region = _region_of_prefix(code, prefix[len(text) :])
        found.setdefault(region, set()).update(_known(zones))
    return MappingProxyType({region: frozenset(zones) for region, zones in found.items()})


def _region_of_prefix(code: int, national: str) -> str:
    """Which of the regions sharing a calling code numbers starting with `national` belong to:
    the one whose leading digits match, else the one a number completed from it is valid in,
    else the code's main region."""
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata and metadata.leading_digits and re.match(metadata.leading_digits, national):
            return region
    main = PhoneMetadata.metadata_for_region(regions[0], None)
    lengths = sorted(main.general_desc.possible_length) if main and main.general_desc else []
    for length in (n for n in lengths if n >= len(national)):
        for filler in "25":
            number = phonenumbers.PhoneNumber(
                country_code=code, national_number=int(national.ljust(length, filler))
            )
            owner = phonenumbers.region_code_for_number(number)
            if owner is not None:
                return owner
    return regions[0]


_US_STATE_CODES = frozenset(US_STATE_NAMES.values())


def _us_state(e164: str) -> str | None:
    """The state a US number's area code serves."""
    return AREA_CODE_STATES.get(e164[2:5]) if e164.startswith("+1") else None
