"""Request limits: sign-in attempts per address, per account and address, and per account;
requests per caller; short links per address; sign-up form submissions per address and per
phone number.

Counters live in `RATE_LIMIT_STORAGE`: process memory by default (one node), or a shared
store such as Redis when several nodes serve the API.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, storage, strategies

from textcast.config import Settings
from textcast.domain.errors import TooManyRequests

_THROTTLED = "too many failed sign-ins; try again later"
_SIGNUPS_THROTTLED = "too many sign-ups from your address; try again later"
_NUMBER_THROTTLED = "too many sign-ups for this phone number; try again later"


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """An attempt admitted to have its password checked."""

    past_account_limit: bool
    """The account is throttled, but this address had not tried it yet in the window."""


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage)
        )
        self.login_account = parse(settings.login_limit_per_account)
        self.login_ip = parse(settings.login_limit_per_ip)
        self.api = parse(settings.api_rate_limit)
        self.link = parse(settings.link_rate_limit)
        self.signup_ip = parse(settings.signup_limit_per_ip)
        self.signup_number = parse(settings.signup_limit_per_number)
        self.once_an_hour = parse("1/hour")

    def admit_sign_in(self, email: str, ip: str) -> SignInAttempt:
        """Count a sign-in attempt before its password is checked, or refuse it.

        Counting first (each `hit` is atomic) means concurrent attempts get no more password
        checks than the limits. An address gets `login_ip` attempts in all and
        `login_account` on one account. The account's own counter (all addresses together)
        stops only addresses that already tried that account in the window: a guesser
        cannot lock the owner out, and each new address adds at most one guess.
        """
        if not self._limiter.hit(self.login_ip, "login-ip", ip):
            raise TooManyRequests(_THROTTLED, self._wait(self.login_ip, "login-ip", ip))
        pair = ("login-pair", email, ip)
        if not self._limiter.hit(self.login_account, *pair):
            raise TooManyRequests(_THROTTLED, self._wait(self.login_account, *pair))
        if self._limiter.hit(self.login_account, "login-account", email):
            return SignInAttempt(past_account_limit=False)
        # Read after our own hit: two concurrent first attempts both see 2, never both 1.
        remaining = self._limiter.get_window_stats(self.login_account, *pair).remaining
        if self.login_account.amount - remaining > 1:
            raise TooManyRequests(
                _THROTTLED, self._wait(self.login_account, "login-account", email)
            )
        return SignInAttempt(past_account_limit=True)

    def sign_in_succeeded(self, email: str, ip: str) -> None:
        """The account's counters start over; the address's own total does not."""
        self._limiter.clear(self.login_account, "login-pair", email, ip)
        self._limiter.clear(self.login_account, "login-account", email)

    def hit_api(self, caller: str) -> None:
        if not self._limiter.hit(self.api, "api", caller):
            raise TooManyRequests(
                f"rate limit of {self.api} reached", self._wait(self.api, "api", caller)
            )

    def hit_link(self, address: str) -> None:
        if not self._limiter.hit(self.link, "link", address):
            raise TooManyRequests(
                "too many requests for short links from your address; try again shortly",
                self._wait(self.link, "link", address),
            )

    def first_link_refusal(self, address: str) -> bool:
        """True once per address per hour: a flood is audited once, not once per request."""
        return self._limiter.hit(self.once_an_hour, "link-refused", address)

    def hit_signup_address(self, address: str) -> None:
        """A form submission from this client address (`SIGNUP_LIMIT_PER_IP`)."""
        if not self._limiter.hit(self.signup_ip, "signup-ip", address):
            raise TooManyRequests(
                _SIGNUPS_THROTTLED, self._wait(self.signup_ip, "signup-ip", address)
            )

    def hit_signup_number(self, e164: str) -> None:
        """A form submission for this number, from any address (`SIGNUP_LIMIT_PER_NUMBER`).

        The counter's key is a digest: a shared store (Redis) never holds the numbers."""
        key = hashlib.sha256(b"textcast signup number " + e164.encode()).hexdigest()[:32]
        if not self._limiter.hit(self.signup_number, "signup-number", key):
            raise TooManyRequests(
                _NUMBER_THROTTLED, self._wait(self.signup_number, "signup-number", key)
            )

    def first_signup_refusal(self, address: str) -> bool:
        """True once per address per hour: a flood is audited once, not once per request."""
        return self._limiter.hit(self.once_an_hour, "signup-refused", address)

    def _wait(self, item: RateLimitItem, *identifiers: str) -> float:
        reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1.0, reset - time.time())
