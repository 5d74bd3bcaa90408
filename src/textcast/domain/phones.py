"""Phone numbers: parse anything a person types, keep E.164, mask for logs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from textcast.domain.errors import FieldProblem

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_NOT_MOBILE_CAPABLE = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.TOLL_FREE,
}


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 (`+33612345678`) for a number written in any common way."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        raise InvalidPhone(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        if phonenumbers.is_possible_number(number):
            raise InvalidPhone("not a valid number for its country")
        raise InvalidPhone("wrong length for its country")
    if phonenumbers.number_type(number) in _NOT_MOBILE_CAPABLE:
        raise InvalidPhone("not a mobile number (landline, toll-free or premium)")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def country_of(e164: str) -> str | None:
    region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    return region if region and region != "ZZ" else None


@dataclass(frozen=True, slots=True)
class ParsedNumbers:
    numbers: list[str]
    """Valid E.164 numbers, first occurrence order, duplicates collapsed."""
    problems: list[FieldProblem]
    duplicates: int


def parse_numbers(raw_numbers: Iterable[object], field: str, default_region: str) -> ParsedNumbers:
    numbers: list[str] = []
    seen: set[str] = set()
    problems: list[FieldProblem] = []
    duplicates = 0
    for index, raw in enumerate(raw_numbers):
        where = f"{field}[{index}]"
        if not isinstance(raw, str):
            problems.append(FieldProblem(where, "must be a string", None))
            continue
        try:
            e164 = normalise_phone(raw, default_region)
        except InvalidPhone as exc:
            problems.append(FieldProblem(where, str(exc), raw[:40]))
            continue
        if e164 in seen:
            duplicates += 1
            continue
        seen.add(e164)
        numbers.append(e164)
    return ParsedNumbers(numbers, problems, duplicates)


def mask_phone(number: str) -> str:
    """`+1415*****71`: country and area stay readable, the subscriber part does not."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]
