"""Phone numbers: parse anything a person types, keep E.164, mask for logs.

`read_phone` is the one parser. Common spellings (digits with spaces, dashes, dots, brackets or
slashes, with or without `+`/`00`) take a fast path that applies phonenumbers' own metadata
(country codes, national prefixes, possible lengths, number-type patterns, time-zone prefixes)
the way `phonenumbers.parse` + `number_type` do, at a fraction of the cost; anything else, and
every number the fast path does not accept, goes through phonenumbers itself, which also words
the reason for a refusal. tests/domain/test_phones.py checks both paths agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberFormat,
    PhoneNumberType,
)
from phonenumbers import timezone as number_time_zones

from textcast.domain.errors import MAX_LISTED_PROBLEMS, FieldProblem

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short{for_region}",
    NumberParseException.TOO_SHORT_NSN: "is too short{for_region}",
    NumberParseException.TOO_LONG: "is too long{for_region}",
}
_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "is too short{for_region}",
    phonenumbers.ValidationResult.TOO_LONG: "is too long{for_region}",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
}
_NOT_MOBILE_CAPABLE = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.TOLL_FREE,
}
_UNKNOWN_ZONE = "Etc/Unknown"


class InvalidPhone(ValueError):
    """Why a text is not a number we can send to, as what follows the number in a sentence
    (`is too short for a US number`). `str()` drops a leading "is" and never repeats the
    number, which may reach a log; `quoting` names it, for the person who typed it."""

    def __init__(self, predicate: str) -> None:
        super().__init__(predicate.removeprefix("is "))
        self.predicate = predicate

    def quoting(self, raw: object) -> str:
        """`'555-12' is too short for a US number`."""
        if not isinstance(raw, str):
            return f"{raw!r} {self.predicate}"[:80]
        shown = raw.strip()
        shown = shown[:QUOTED_CHARS] + "..." if len(shown) > QUOTED_CHARS else shown
        return f"'{shown}' {self.predicate}"


QUOTED_CHARS = 40
"""Characters of a refused number quoted back."""


def for_region(region: str | None) -> str:
    """` for a US number`; nothing for a region unknown or not a country (`001`)."""
    return f" for a {region} number" if region and region.isalpha() and region != "ZZ" else ""


class PhoneInfo(NamedTuple):
    e164: str
    country: str | None
    """ISO 3166 alpha-2 region of the number (None for non-geographic codes such as +882)."""
    time_zone: str | None
    """The IANA zone when the numbering plan names exactly one for the number."""


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 (`+33612345678`) for a number written in any common way."""
    return read_phone(raw, default_region, with_time_zone=False).e164


def read_phone(raw: str, default_region: str, *, with_time_zone: bool = True) -> PhoneInfo:
    """The number in E.164 with its country and time zone; InvalidPhone says why not."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    fast = _read_fast(text, default_region)
    if fast is not None:
        country_code, national, plan, kind = fast
        zone = _zone(country_code, national, kind) if with_time_zone else None
        return PhoneInfo(f"+{country_code}{national}", plan.country, zone)
    return _read_slow(text, default_region, with_time_zone)


def _read_slow(text: str, default_region: str, with_time_zone: bool) -> PhoneInfo:
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "is not a phone number")
        region = None if text.startswith("+") else default_region
        raise InvalidPhone(reason.format(for_region=for_region(region))) from None
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible == phonenumbers.ValidationResult.IS_POSSIBLE:
            country = for_region(region).removeprefix(" for a ") or "number"
            raise InvalidPhone(f"is not a valid {country}")
        reason = _LENGTH_REASONS.get(possible, "is not a possible length{for_region}")
        raise InvalidPhone(reason.format(for_region=for_region(region)))
    if phonenumbers.number_type(number) in _NOT_MOBILE_CAPABLE:
        raise InvalidPhone("is not a mobile number (landline, toll-free or premium)")
    zone = None
    if with_time_zone:
        zone = _single_zone(number_time_zones.time_zones_for_number(number))
    return PhoneInfo(
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        _alpha2(phonenumbers.region_code_for_number(number)),
        zone,
    )


def country_of(e164: str) -> str | None:
    return _alpha2(phonenumbers.region_code_for_number(phonenumbers.parse(e164)))


def _alpha2(region: str | None) -> str | None:
    return region if region and region.isalpha() and region != "ZZ" else None


def _single_zone(zones: Iterable[str]) -> str | None:
    found = tuple(zones)
    return found[0] if len(found) == 1 and found[0] != _UNKNOWN_ZONE else None


# -- the fast path ------------------------------------------------------------------------------

_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH = "too short", "local only", "invalid length"
_MAX_NATIONAL_DIGITS = 17
_MIN_FAST_DIGITS = 6
"""Shorter inputs are rare and full of special cases; phonenumbers judges them."""


@dataclass(frozen=True, slots=True)
class _Desc:
    """A compiled PhoneNumberDesc: a pattern and the lengths it allows."""

    pattern: re.Pattern[str] | None
    lengths: frozenset[int]

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc | None:
        if desc is None:
            return None
        pattern = re.compile(desc.national_number_pattern) if desc.national_number_pattern else None
        return cls(pattern, frozenset(desc.possible_length))

    def matches(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.fits(national)

    def fits(self, national: str) -> bool:
        return self.pattern is not None and self.pattern.fullmatch(national) is not None

    def regex(self) -> str | None:
        """`matches` as a regular expression (a length lookahead, then the pattern), or None
        when nothing can match."""
        if self.pattern is None:
            return None
        lengths = sorted(n for n in self.lengths if n > 0)
        if self.lengths and not lengths:
            return None
        guard = "(?=(?:" + "|".join(f"\\d{{{n}}}" for n in lengths) + ")\\Z)" if lengths else ""
        return f"{guard}(?:{self.pattern.pattern})"


@dataclass(frozen=True, slots=True)
class _Plan:
    """One region's numbering plan, compiled once."""

    region: str
    country: str | None
    """`region` when it is a country (not `001`, the non-geographic codes)."""
    country_code: int
    general: _Desc
    types: re.Pattern[str] | None
    """One alternative per number type, in phonenumbers' order of precedence."""
    kinds: dict[str, int]
    """The type each alternative (named group) stands for."""
    leading_digits: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transforms_prefix: bool
    international_prefix: re.Pattern[str] | None
    lengths: tuple[int, ...]
    local_lengths: frozenset[int]

    def kind(self, national: str) -> int:
        """phonenumbers' `_number_type_helper`, in one regular expression match."""
        if not self.general.matches(national) or self.types is None:
            return PhoneNumberType.UNKNOWN
        match = self.types.fullmatch(national)
        return PhoneNumberType.UNKNOWN if match is None else self.kinds[match.lastgroup or ""]

    def length_verdict(self, national: str) -> str | None:
        """phonenumbers' `_test_number_length` for an unknown type; None when possible."""
        size = len(national)
        if size in self.local_lengths:
            return _LOCAL_ONLY
        if not self.lengths or self.lengths[0] > size:
            return _TOO_SHORT
        if size == self.lengths[0] or size > self.lengths[-1] or size in self.lengths:
            return None
        return _INVALID_LENGTH


@cache
def _plan(region: str) -> _Plan | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.general_desc is None:
        return None
    general = _Desc.of(metadata.general_desc)
    assert general is not None
    special = (
        (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
        (PhoneNumberType.TOLL_FREE, metadata.toll_free),
        (PhoneNumberType.SHARED_COST, metadata.shared_cost),
        (PhoneNumberType.VOIP, metadata.voip),
        (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
        (PhoneNumberType.PAGER, metadata.pager),
        (PhoneNumberType.UAN, metadata.uan),
        (PhoneNumberType.VOICEMAIL, metadata.voicemail),
    )
    return _Plan(
        region=region,
        country=_alpha2(region),
        country_code=metadata.country_code or 0,
        general=general,
        **_types(
            [(kind, _Desc.of(desc)) for kind, desc in special],
            _Desc.of(metadata.fixed_line),
            _Desc.of(metadata.mobile),
            bool(metadata.same_mobile_and_fixed_line_pattern),
        ),
        leading_digits=_compiled(metadata.leading_digits),
        national_prefix=_compiled(metadata.national_prefix_for_parsing),
        transforms_prefix=bool(metadata.national_prefix_transform_rule),
        international_prefix=_compiled(metadata.international_prefix),
        lengths=tuple(sorted(metadata.general_desc.possible_length)),
        local_lengths=frozenset(metadata.general_desc.possible_length_local_only),
    )


def _types(
    special: list[tuple[int, _Desc | None]],
    fixed_line: _Desc | None,
    mobile: _Desc | None,
    same_mobile_and_fixed_line: bool,
) -> dict[str, Any]:
    """`types` and `kinds` for a plan: a number's type is the first alternative it matches in
    full (premium, toll-free, shared cost, VoIP, personal, pager, UAN, voicemail, then fixed
    line and mobile, as `_number_type_helper` tests them)."""
    alternatives: list[str] = []
    kinds: dict[str, int] = {}

    def add(kind: int, regex: str) -> None:
        name = f"t{len(alternatives)}"
        alternatives.append(f"(?P<{name}>{regex})")
        kinds[name] = kind

    for kind, desc in special:
        if desc is not None and (regex := desc.regex()) is not None:
            add(kind, regex)
    fixed = fixed_line.regex() if fixed_line is not None else None
    mobile_regex = mobile.regex() if mobile is not None else None
    if fixed is not None and same_mobile_and_fixed_line:
        add(PhoneNumberType.FIXED_LINE_OR_MOBILE, fixed)
    elif fixed is not None:
        if mobile_regex is not None:
            add(PhoneNumberType.FIXED_LINE_OR_MOBILE, f"(?=(?:{fixed})\\Z){mobile_regex}")
        add(PhoneNumberType.FIXED_LINE, fixed)
    if mobile_regex is not None and not same_mobile_and_fixed_line:
        add(PhoneNumberType.MOBILE, mobile_regex)
    types = re.compile("|".join(alternatives)) if alternatives else None
    return {"types": types, "kinds": kinds}


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _read_fast(text: str, default_region: str) -> tuple[int, str, _Plan, int] | None:
    """(country code, national number, plan, type) of an accepted number, or None to let
    phonenumbers decide (odd spellings, refusals, and the rare special cases)."""
    candidate = _split(text, default_region)
    if candidate is None:
        return None
    country_code, national, main = candidate
    plan = _plan_of_number(country_code, national, main)
    if plan is None:
        return None
    kind = plan.kind(national)
    if kind == PhoneNumberType.UNKNOWN or kind in _NOT_MOBILE_CAPABLE:
        return None
    return country_code, national, plan, kind


def _split(text: str, default_region: str) -> tuple[int, str, _Plan] | None:
    """phonenumbers.parse for plain digit strings: country code and national number."""
    international = text.startswith("+")
    digits = text[1:] if international else text
    # Chained replaces beat str.translate (a dict lookup per character) on these short strings.
    digits = digits.replace(" ", "").replace("-", "").replace(".", "").replace("(", "")
    digits = digits.replace(")", "").replace("/", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) < _MIN_FAST_DIGITS:
        return None
    if international:
        if digits[0] == "0":
            return None
        for size in (1, 2, 3):
            country_code = int(digits[:size])
            if country_code in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        plan = _plan(COUNTRY_CODE_TO_REGION_CODE[country_code][0])
        national = digits[size:]
    else:
        plan = _plan(default_region.upper())
        if plan is None:
            return None
        # An international prefix such as 011, or the country code without its `+`: the
        # special handling belongs to phonenumbers.
        if plan.international_prefix is not None and plan.international_prefix.match(digits):
            return None
        if digits.startswith(str(plan.country_code)):
            return None
        country_code, national = plan.country_code, digits
    if plan is None or len(national) < 2:
        return None
    stripped = _strip_national_prefix(national, plan)
    if stripped is None:
        return None
    if plan.length_verdict(stripped) not in (_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH):
        national = stripped
    if len(national) > _MAX_NATIONAL_DIGITS:
        return None
    return country_code, national, plan


def _strip_national_prefix(national: str, plan: _Plan) -> str | None:
    """phonenumbers' `_maybe_strip_national_prefix_carrier_code`; None for transform rules."""
    if plan.national_prefix is None:
        return national
    match = plan.national_prefix.match(national)
    if match is None:
        return national
    groups = match.groups()
    if plan.transforms_prefix and (not groups or groups[-1] is not None):
        return None
    rest = national[match.end() :]
    if plan.general.fits(national) and not plan.general.fits(rest):
        return national
    return rest


def _plan_of_number(country_code: int, national: str, main: _Plan) -> _Plan | None:
    """phonenumbers' `region_code_for_number`: which region sharing the code owns it."""
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) == 1:
        return main if main.region == regions[0] else _plan(regions[0])
    for region in regions:
        plan = _plan(region)
        if plan is None:
            continue
        if plan.leading_digits is not None:
            if plan.leading_digits.match(national):
                return plan
        elif plan.kind(national) != PhoneNumberType.UNKNOWN:
            return plan
    return None


def _zone(country_code: int, national: str, kind: int) -> str | None:
    """phonenumbers.timezone.time_zones_for_number, reduced to a single zone or None."""
    if not phonenumbers.is_number_type_geographical(kind, country_code):
        return _country_zone(country_code)
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    digits = f"{country_code}{national}"
    for size in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(digits[:size])
        if zones is not None:
            return _single_zone(zones)
    return None


@cache
def _country_zone(country_code: int) -> str | None:
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    code = str(country_code)
    for size in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(code[: 1 + size])
        if zones is not None:
            return _single_zone(zones)
    return None


# -- lists of numbers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedNumbers:
    numbers: list[str]
    """Valid E.164 numbers, first occurrence order, duplicates collapsed."""
    problems: list[FieldProblem]
    """The first `MAX_LISTED_PROBLEMS`; `unlisted_problems` counts the others."""
    duplicates: int
    unlisted_problems: int = 0


def parse_numbers(raw_numbers: Iterable[object], field: str, default_region: str) -> ParsedNumbers:
    numbers: list[str] = []
    seen: set[str] = set()
    problems: list[FieldProblem] = []
    duplicates = unlisted = 0
    for index, raw in enumerate(raw_numbers):
        try:
            if not isinstance(raw, str):
                raise InvalidPhone("is not text")
            e164 = normalise_phone(raw, default_region)
        except InvalidPhone as exc:
            if len(problems) < MAX_LISTED_PROBLEMS:
                value = raw[:QUOTED_CHARS] if isinstance(raw, str) else None
                message = f"Line {index + 1}: {exc.quoting(raw)}"
                problems.append(FieldProblem(f"{field}[{index}]", message, value))
            else:
                unlisted += 1
            continue
        if e164 in seen:
            duplicates += 1
            continue
        seen.add(e164)
        numbers.append(e164)
    return ParsedNumbers(numbers, problems, duplicates, unlisted)


def mask_phone(number: str) -> str:
    """`+1415*****71`: country and area stay readable, the subscriber part does not."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]
