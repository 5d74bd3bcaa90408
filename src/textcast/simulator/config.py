"""What a simulated Sinch account looks like: plan, callbacks, pacing, outcomes and faults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

FINAL_STATUSES = frozenset(
    {"Aborted", "Cancelled", "Rejected", "Deleted", "Delivered", "Failed", "Expired", "Unknown"}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One possible final result of a dispatched message and its share of all results.

    `operator` marks results that come from an operator's delivery receipt; only those carry
    `operator_status_at` in reports, as on the real API.
    """

    status: str
    code: int
    share: float
    operator: bool = True

    def __post_init__(self) -> None:
        if self.status not in FINAL_STATUSES:
            raise ValueError(f"outcome status must be a final status, not {self.status!r}")
        if not (self.share >= 0 and math.isfinite(self.share)):
            raise ValueError("outcome share must be a finite number >= 0")


# Failed codes are SMPP errors an operator may report (0x0B invalid destination address,
# 0x45 submit failed); Expired uses SMPP message state 3 (EXPIRED). Sinch passes such operator
# codes through unchanged, so clients must treat them as opaque.
DEFAULT_OUTCOMES: tuple[Outcome, ...] = (
    Outcome("Delivered", 0, 0.95),
    Outcome("Failed", 11, 0.015),
    Outcome("Failed", 69, 0.015),
    Outcome("Expired", 3, 0.02),
)

ALL_DELIVERED: tuple[Outcome, ...] = (Outcome("Delivered", 0, 1.0),)


@dataclass(frozen=True, slots=True)
class Faults:
    """Misbehaviour injected into the xms API, drawn independently for each targeted request.

    The probabilities are exclusive slices of one draw, so their sum must stay <= 1.
    `reset_after_processing` is the share of connection resets that happen after the batch was
    accepted (the client cannot tell which). `latency` is seconds added to every API response:
    a fixed value or a `(low, high)` uniform range.
    """

    error_5xx: float = 0.0
    error_429: float = 0.0
    accept_then_timeout: float = 0.0
    connection_reset: float = 0.0
    reset_after_processing: float = 0.5
    retry_after: float = 1.0
    hang_seconds: float = 120.0
    latency: float | tuple[float, float] = 0.0
    apply_to_reads: bool = False

    def __post_init__(self) -> None:
        shares = (self.error_5xx, self.error_429, self.accept_then_timeout, self.connection_reset)
        if any(not 0 <= p <= 1 for p in (*shares, self.reset_after_processing)):
            raise ValueError("fault probabilities must be between 0 and 1")
        if sum(shares) > 1 + 1e-9:
            raise ValueError("fault probabilities must add up to at most 1")
        low, high = self.latency_range
        if not 0 <= low <= high:
            raise ValueError("latency must be >= 0 and given as a value or a (low, high) pair")
        if self.retry_after < 0 or self.hang_seconds < 0:
            raise ValueError("retry_after and hang_seconds must be >= 0")

    @property
    def latency_range(self) -> tuple[float, float]:
        if isinstance(self.latency, tuple):
            return (float(self.latency[0]), float(self.latency[1]))
        return (float(self.latency), float(self.latency))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("latency"), list):
            values["latency"] = tuple(values["latency"])
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(str(error)) from error

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.latency, tuple):
            result["latency"] = list(self.latency)
        return result


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything the simulator needs; every field has a default that works offline.

    Delays are seconds of (real) simulated time: `queued_delay` from acceptance to the Queued
    report, `dispatch_delay` the least time a recipient spends in the plan queue, `final_delay`
    from dispatch to the final report. `time_scale` compresses only the callback retry schedule
    (retry k at 5·2^(k-1) s * time_scale after the first failure). `callback_basic_auth` is the
    (user, password) sent as HTTP basic auth with every callback, as an account manager can set
    up at Sinch. `allowed_callback_urls`, when set, are the only `callback_url`s a batch may
    name (others get a 400), so that a caller cannot make the simulator post (and sign) callbacks
    to an address of their choice; None allows any, as Sinch does.
    """

    service_plan_id: str = "simulated"
    api_token: str = "simulated-token"  # noqa: S105 - a well-known fake for local runs
    default_callback_url: str | None = None
    inbound_callback_url: str | None = None
    allowed_callback_urls: frozenset[str] | None = None
    webhook_secret: str | None = None
    callback_basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    rate: float = 0.0
    outcomes: tuple[Outcome, ...] = DEFAULT_OUTCOMES
    number_outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    """Chosen numbers' fate (`+` optional): every message to one of them ends with its
    outcome instead of a draw (its `share` is not used), e.g. `Outcome("Deleted", 0, 1)` for
    a dead number, `Outcome("Aborted", 404, 1)` for one failing for now."""
    queued_delay: float = 0.05
    dispatch_delay: float = 0.05
    final_delay: float = 0.3
    time_scale: float = 1.0
    callback_concurrency: int = 16
    callback_timeout: float = 5.0
    callback_retries: int = 15
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.outcomes or sum(o.share for o in self.outcomes) <= 0:
            raise ValueError("at least one outcome must have a positive share")
        if len(self.outcomes) > 200:
            raise ValueError("at most 200 outcomes are supported")
        if len({(o.status, o.code, o.operator) for o in self.number_outcomes.values()}) > 40:
            raise ValueError("number_outcomes may use at most 40 different outcomes")
        if self.rate < 0 or not math.isfinite(self.rate):
            raise ValueError("rate must be a finite number >= 0 (0 = unlimited)")
        delays = (self.queued_delay, self.dispatch_delay, self.final_delay, self.time_scale)
        if any(d < 0 for d in delays):
            raise ValueError("delays and time_scale must be >= 0")
        if self.callback_concurrency < 1 or self.callback_timeout <= 0:
            raise ValueError("callback_concurrency must be >= 1 and callback_timeout > 0")
        if not 0 <= self.callback_retries <= 15:
            raise ValueError("callback_retries must be between 0 and 15")
        if self.callback_basic_auth is not None and ":" in self.callback_basic_auth[0]:
            raise ValueError("callback_basic_auth: the user must not contain ':'")
