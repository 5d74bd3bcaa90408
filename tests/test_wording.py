"""Plurals, money, moments and validation errors, as people read them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field, ValidationError

from textcast.wording import (
    PYDANTIC_PHRASES,
    moment,
    money,
    money_amount,
    plural,
    time_zone,
    validation_in_words,
)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 recipients"), (1, "1 recipient"), (2, "2 recipients"), (12_345, "12,345 recipients")],
)
def test_plural(count: int, expected: str) -> None:
    assert plural(count, "recipient") == expected


def test_plural_with_its_own_form() -> None:
    assert plural(1, "reply", "replies") == "1 reply"
    assert plural(3, "reply", "replies") == "3 replies"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1234.5, "USD", "1,234.50 USD"),
        (1234.5, "EUR", "1,234.50 EUR"),
        (1234.5, "JPY", "1,234 JPY"),  # rounds half to even, as Python does
        (1234.5678, "KWD", "1,234.568 KWD"),
        (Decimal("2.5"), "BHD", "2.500 BHD"),
        (0, "usd", "0.00 usd"),
    ],
)
def test_money_has_its_currencys_decimals(amount: float, currency: str, expected: str) -> None:
    assert money(amount, currency) == expected


def test_a_price_below_one_unit_keeps_its_fractions_of_a_cent() -> None:
    assert money_amount(0.0075, "USD", fine=True) == "0.0075"
    assert money_amount(0.5, "USD", fine=True) == "0.50"
    assert money_amount(0.25, "JPY", fine=True) == "0.25"
    assert money_amount(0.0075, "USD") == "0.01"
    assert money_amount(12.3456, "USD", fine=True) == "12.35"


def test_a_moment_names_its_time_zone() -> None:
    winter = datetime(2026, 12, 7, 13, 5, 9, tzinfo=UTC)
    assert moment(winter) == "2026-12-07 13:05 UTC"
    assert moment(winter, time_zone("Europe/Paris")) == "2026-12-07 14:05 CET"
    assert moment(winter, time_zone("America/New_York"), seconds=True) == "2026-12-07 08:05:09 EST"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert moment(summer, time_zone("Europe/Paris")) == "2026-07-01 14:00 CEST"
    assert moment(winter.replace(tzinfo=None)) == "2026-12-07 13:05 UTC"  # naive: UTC


def test_an_unknown_zone_is_utc() -> None:
    assert time_zone("Mars/Olympus") is UTC
    assert time_zone(None) is UTC


class _Form(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    size: int = Field(ge=1, le=10)
    kind: str = Field(pattern="^[a-z]+$")
    parts: list[int] = Field(min_length=2, max_length=3)


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "toolong"}, "name", "must be at most 5 characters"),
        ({"size": 0}, "size", "must be 1 or more"),
        ({"size": 11}, "size", "must be 10 or less"),
        ({"size": "many"}, "size", "must be a whole number, such as 500"),
        ({"kind": "A1"}, "kind", "is not in the expected form"),
        ({"parts": [1]}, "parts", "must have at least 2 items"),
        ({"parts": [1, 2, 3, 4]}, "parts", "must have at most 3 items"),
        ({}, "name", "is required"),
    ],
)
def test_validation_errors_in_words(data: dict[str, object], field: str, expected: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _Form.model_validate(data)
    said = {str(e["loc"][0]): validation_in_words(e) for e in refused.value.errors()}
    assert said[field] == expected
    for words in said.values():
        assert not words.startswith(PYDANTIC_PHRASES)
