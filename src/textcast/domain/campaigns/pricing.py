"""What a message part costs, by destination country: an estimate for plans and budgets.

One rule says which country a message is priced as (`priced_country`), for the plan, the
launch's estimate, a budget and the spend alike.

The built-in table is an ESTIMATE of typical list prices per SMS part (in USD), for ordering of
magnitude only: Sinch's real prices depend on your contract. Set `PRICES` (JSON, per country)
to your own, and `PRICE_CURRENCY` to theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers

ESTIMATED_PRICES_USD: dict[str, float] = {
    "US": 0.0079,
    "CA": 0.0075,
    "GB": 0.040,
    "IE": 0.065,
    "FR": 0.070,
    "DE": 0.080,
    "ES": 0.075,
    "IT": 0.075,
    "NL": 0.085,
    "BE": 0.080,
    "SE": 0.045,
    "NO": 0.055,
    "DK": 0.045,
    "PL": 0.035,
    "PT": 0.035,
    "CH": 0.060,
    "AU": 0.045,
    "NZ": 0.090,
    "BR": 0.030,
    "MX": 0.025,
    "IN": 0.0035,
    "JP": 0.070,
    "SG": 0.040,
    "ZA": 0.020,
}


@dataclass(frozen=True, slots=True)
class PriceTable:
    prices: dict[str, float] = field(default_factory=dict)
    default: float = 0.05
    currency: str = "USD"
    estimate: bool = True
    """True while any price comes from the built-in table."""

    @classmethod
    def of(cls, overrides: dict[str, float], default: float, currency: str) -> PriceTable:
        prices = dict(ESTIMATED_PRICES_USD)
        prices.update(overrides)
        estimate = not set(ESTIMATED_PRICES_USD) <= set(overrides)
        return cls(prices, default, currency, estimate)

    def part_price(self, country: str | None) -> float:
        if country is None:
            return self.default
        return self.prices.get(country, self.default)


PRICED_PREFIX_CHARS = 4
"""All of a number the calling-code rule reads: "+" and up to 3 digits. SQL that groups
numbers for pricing groups them by this prefix."""


def priced_country(phone: str, contact_country: str | None) -> str | None:
    """The country a text to `phone` is priced as: its contact's country where known (a
    Canadian number shares +1 with the US), else the main country of its calling code."""
    return contact_country or _calling_code_country(phone)


@lru_cache(maxsize=4096)
def _country_of_prefix(prefix: str) -> str | None:
    for length in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(prefix[:length]))
        if regions:
            return regions[0] if regions[0] != "001" else None
    return None


def _calling_code_country(phone: str) -> str | None:
    """The main country of an E.164 number's calling code (+1 gives US, +44 GB).

    It reads the calling code, not the whole number, so it is fast enough for a
    100,000-recipient plan.
    """
    if not phone.startswith("+") or len(phone) < PRICED_PREFIX_CHARS:
        return None
    return _country_of_prefix(phone[1:PRICED_PREFIX_CHARS])
