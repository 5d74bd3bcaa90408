"""How sure we are which variant of an A/B test does best, from each variant's counts alone.

Starting from a uniform prior (every rate from 0 to 1 equally likely, so the counts alone
decide), a variant's counts give a Beta distribution of its plausible true rates: its 95%
interval, and, integrated against the others', its chance of being the best. The integral is
computed numerically, not sampled, so the same counts always show the same figures, in about a
millisecond however many texts were sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy import special

MIN_ARMS = 2
MAX_ARMS = 5
INTERVAL = 0.95
# Each posterior is integrated between these quantiles: what lies outside (a billionth of its
# mass) cannot move a percentage, and the probabilities are normalised afterwards.
TAIL = 1e-9
# Gauss-Legendre nodes per piece of the range. Every piece lies inside the range of each
# posterior that varies there, so the integrand is smooth across it and 48 nodes agree with
# the two-variant closed form to about 1e-9.
NODES = 48
# Chances closer than this are a tie, which goes to the earlier variant: identical variants'
# chances, multiplied out in another order, can differ in the last bit.
TIE = 1e-12

Floats: TypeAlias = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Arm:
    label: str
    trials: int
    successes: int


@dataclass(frozen=True, slots=True)
class ArmResult:
    label: str
    trials: int
    successes: int
    rate: float | None
    """None before the first trial, as are the interval's bounds."""
    low: float | None
    high: float | None
    p_best: float | None
    """The chance that this variant's true rate is the highest; None unless every variant has
    `min_sample` trials."""
    enough_data: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    arms: list[ArmResult]
    enough_data: bool
    leader: str | None
    """The variant most likely to be best (a tie goes to the earlier one)."""
    winner: str | None
    """The leader once its chance of being best reaches the confidence asked for."""


def compare(arms: Sequence[Arm], *, min_sample: int, confidence: float = 0.95) -> Comparison:
    _check_arms(arms, min_sample, confidence)
    alpha = np.array([1.0 + arm.successes for arm in arms])
    beta = np.array([1.0 + arm.trials - arm.successes for arm in arms])
    lows = special.betaincinv(alpha, beta, (1 - INTERVAL) / 2)
    highs = special.betaincinv(alpha, beta, (1 + INTERVAL) / 2)
    enough_data = all(arm.trials >= min_sample for arm in arms)
    p_best = _integrate_p_best(alpha, beta) if enough_data else None
    results = [
        ArmResult(
            label=arm.label,
            trials=arm.trials,
            successes=arm.successes,
            rate=arm.successes / arm.trials if arm.trials else None,
            low=float(lows[i]) if arm.trials else None,
            high=float(highs[i]) if arm.trials else None,
            p_best=float(p_best[i]) if p_best is not None else None,
            enough_data=arm.trials >= min_sample,
        )
        for i, arm in enumerate(arms)
    ]
    if p_best is None:
        return Comparison(arms=results, enough_data=False, leader=None, winner=None)
    top = float(p_best.max())
    leader = next(arm for arm in results if arm.p_best is not None and arm.p_best >= top - TIE)
    winner = leader.label if top >= confidence else None
    return Comparison(arms=results, enough_data=True, leader=leader.label, winner=winner)


def _check_arms(arms: Sequence[Arm], min_sample: int, confidence: float) -> None:
    if not MIN_ARMS <= len(arms) <= MAX_ARMS:
        raise ValueError(f"an A/B test compares {MIN_ARMS} to {MAX_ARMS} variants, not {len(arms)}")
    if len({arm.label for arm in arms}) != len(arms):
        raise ValueError("two variants share a label")
    for arm in arms:
        if not (_is_count(arm.trials) and _is_count(arm.successes)):
            raise ValueError(f"variant {arm.label}: counts must be non-negative integers")
        if arm.successes > arm.trials:
            raise ValueError(f"variant {arm.label}: more successes than trials")
    if not _is_count(min_sample):
        raise ValueError("min_sample must be a non-negative integer")
    if not 0 < confidence <= 1:
        raise ValueError("confidence must be in (0, 1]")


def _is_count(value: object) -> bool:
    # bool is an int to Python, but True trials is a caller's mistake.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _integrate_p_best(alpha: Floats, beta: Floats) -> Floats:
    """P(i best) = ∫ pdf_i(x) · Π_{j≠i} cdf_j(x) dx for each posterior Beta(alpha_i, beta_i).

    The range is cut at every posterior's quantiles TAIL and 1 - TAIL, so a narrow posterior
    (a million trials) is a piece of its own instead of falling between the nodes of a wide
    one, and each piece gets the same Gauss-Legendre rule."""
    ends = np.unique(
        np.concatenate(
            [special.betaincinv(alpha, beta, TAIL), special.betaincinv(alpha, beta, 1 - TAIL)]
        )
    )
    nodes, weights = _legendre_rule()
    starts, stops = ends[:-1, None], ends[1:, None]
    half = (stops - starts) / 2
    x = (starts + half * (nodes + 1)).ravel()
    w = (half * weights).ravel()

    a, b = alpha[:, None], beta[:, None]
    # The density from its logarithm: Beta(50001, 950001)'s normalising constant alone would
    # underflow.
    pdf = np.exp(special.xlogy(a - 1, x) + special.xlog1py(b - 1, -x) - special.betaln(a, b))
    cdf = special.betainc(a, b, x)
    # Row i: the chance that every other variant's rate lies below x.
    others = np.stack([np.prod(np.delete(cdf, i, axis=0), axis=0) for i in range(len(alpha))])
    p: Floats = (pdf * others) @ w
    # The sum misses only the tails left out, a few billionths.
    normalised: Floats = p / p.sum()
    return normalised


@cache
def _legendre_rule() -> tuple[Floats, Floats]:
    nodes, weights = np.polynomial.legendre.leggauss(NODES)
    return nodes, weights
