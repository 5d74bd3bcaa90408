"""Phone numbers: the one parser (E.164, country, type), masking for logs, and the geography
(time zones, US area codes) that says where a recipient is.

The modules: `numbers` (reading and masking numbers), `zones` (where a number is: its time
zones, country and US state) and `countries` (countries by name, for pickers and sentences).
The names below are the public API of the first two.
"""

from textcast.domain.phones.numbers import (
    InvalidPhone,
    ParsedNumbers,
    PhoneInfo,
    country_of,
    mask_phone,
    normalise_phone,
    parse_numbers,
    read_phone,
)
from textcast.domain.phones.zones import RecipientZone, recipient_zone, warm_up

__all__ = [
    "InvalidPhone",
    "ParsedNumbers",
    "PhoneInfo",
    "RecipientZone",
    "country_of",
    "mask_phone",
    "normalise_phone",
    "parse_numbers",
    "read_phone",
    "recipient_zone",
    "warm_up",
]
