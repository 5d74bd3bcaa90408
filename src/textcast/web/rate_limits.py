"""Request limits: sign-in failures per account and per address, requests per caller, short
links per address.

Counters live in `RATE_LIMIT_STORAGE`: process memory by default (one node), or a shared
store such as Redis when several nodes serve the API.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse, storage, strategies

from textcast.config import Settings
from textcast.domain.errors import TooManyRequests


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage)
        )
        self.login_account = parse(settings.login_limit_per_account)
        self.login_ip = parse(settings.login_limit_per_ip)
        self.api = parse(settings.api_rate_limit)
        self.link = parse(settings.link_rate_limit)
        self.once_an_hour = parse("1/hour")

    def check_login(self, email: str, ip: str) -> None:
        """Refuse a sign-in attempt once the account or the address has failed too often."""
        for item, who in ((self.login_account, f"account:{email}"), (self.login_ip, f"ip:{ip}")):
            if not self._limiter.test(item, "login", who):
                raise TooManyRequests(
                    "too many failed sign-ins; try again later", self._wait(item, "login", who)
                )

    def login_failed(self, email: str, ip: str) -> None:
        self._limiter.hit(self.login_account, "login", f"account:{email}")
        self._limiter.hit(self.login_ip, "login", f"ip:{ip}")

    def login_succeeded(self, email: str) -> None:
        self._limiter.clear(self.login_account, "login", f"account:{email}")

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

    def _wait(self, item: RateLimitItem, *identifiers: str) -> float:
        reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1.0, reset - time.time())
