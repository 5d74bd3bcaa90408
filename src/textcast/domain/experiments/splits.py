"""The test pool: a share of the audience drawn at random but reproducibly, stratified by
country, and dealt out to the variants.

Each number gets a key from a hash of the test's seed and the number, so the same audience
and seed give the same pool whatever order the database returns them in. Every country gives
its share of the pool (largest remainders, so the shares add up to the pool exactly), and the
pool is dealt to the variants in turn across countries: the variants' sizes differ by one at
most, overall and in each country, so neither the price of a country's texts nor its quiet
hours can favour one variant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

NO_COUNTRY = ""


@dataclass(frozen=True, slots=True)
class Split:
    cells: list[list[str]]
    """Each variant's numbers, in the variants' order."""
    rest: list[str]
    """The audience outside the pool, which gets the winner."""


def draw_pool(
    members: Iterable[tuple[str, str | None]], variants: int, pool_percent: int, seed: str
) -> Split:
    """`members`: each number once, with its country (None when unknown)."""
    by_country: dict[str, list[tuple[bytes, str]]] = {}
    for phone, country in members:
        by_country.setdefault(country or NO_COUNTRY, []).append((_key(seed, phone), phone))
    sizes = _shares({c: len(found) for c, found in by_country.items()}, pool_percent)
    cells: list[list[str]] = [[] for _ in range(variants)]
    rest: list[str] = []
    dealt = 0
    for country in sorted(by_country):
        ranked = sorted(by_country[country])
        for _, phone in ranked[: sizes[country]]:
            cells[dealt % variants].append(phone)
            dealt += 1
        rest.extend(phone for _, phone in ranked[sizes[country] :])
    return Split(cells, rest)


def pool_size(audience: int, pool_percent: int) -> int:
    """How many of `audience` the pool takes: the share rounded half up."""
    return (audience * pool_percent * 2 + 100) // 200


def _shares(counts: dict[str, int], pool_percent: int) -> dict[str, int]:
    """Each country's part of the pool, in proportion, adding up to the whole pool."""
    total = pool_size(sum(counts.values()), pool_percent)
    exact = {c: n * pool_percent / 100 for c, n in counts.items()}
    sizes = {c: int(share) for c, share in exact.items()}
    # The seats left go to the largest remainders (then the larger countries, then by name).
    order = sorted(counts, key=lambda c: (-(exact[c] - sizes[c]), -counts[c], c))
    for country in order[: max(0, total - sum(sizes.values()))]:
        sizes[country] += 1
    return sizes


def _key(seed: str, phone: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{phone}".encode(), digest_size=8).digest()
