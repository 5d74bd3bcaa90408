"""A token bucket counted in message parts (recipients x parts per message)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Average `rate` parts per second, bursting up to one second's worth.

    A batch costs more than the burst when the rate is low (1000 recipients at 30/s), so the
    bucket may go into debt: the batch leaves once the bucket is full and the next one waits
    until the debt is paid. The long-run rate is exact either way.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def set_rate(self, rate: float) -> None:
        """A new rate from now on (the settings changed); what is saved or owed is kept, up to
        the new burst."""
        self._refill()
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._tokens = min(self._tokens, self.capacity)

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self, cost: float) -> float:
        """Spend `cost` and return 0, or return the seconds to wait before asking again."""
        if self.unlimited:
            return 0.0
        self._refill()
        needed = min(cost, self.capacity)
        if self._tokens < needed:
            return (needed - self._tokens) / self.rate
        self._tokens -= cost
        return 0.0

    async def acquire(self, cost: float) -> None:
        if self.unlimited:
            return
        async with self._lock:
            while (wait := self.reserve(cost)) > 0:
                await asyncio.sleep(wait)
