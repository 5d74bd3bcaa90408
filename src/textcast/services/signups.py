"""The public sign-up form's use cases: find a form, take a submission (stored with its
evidence, and its confirmation text queued, in one transaction committed before the answer),
note an address the rate limit started refusing, and count views and blocked submissions.

A flood must not become a write per request: views and blocked submissions are added up in
memory and written every `FLUSH_SECONDS` (one UPDATE per form), on every node alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.signups import signups, submissions
from textcast.domain.signups.signups import CapReached, SignupPolicy, SignupRequest
from textcast.models import Signup, SignupForm

log = logging.getLogger("textcast.signups")

FLUSH_SECONDS = 2.0
MAX_PENDING_FORMS = 1000
"""Forms whose counts wait in memory at once; counts for more are dropped (they are
statistics, and this bounds what a flood of made-up addresses can cost)."""
THROTTLED = "signup.throttled"


def find_form(database: Database, slug: str) -> SignupForm | None:
    """The active form at `/join/{slug}` (archived ones answer as unknown)."""
    with database.read() as session:
        return submissions.active_form(session, slug)


def submit(database: Database, policy: SignupPolicy, request: SignupRequest) -> Signup:
    """The sign-up stored with its evidence, and the text it calls for queued, committed.

    Raises `TooManyRequests` with nothing stored when no text may go now; when the form's
    hourly cap is what refused it, the audit alert is committed in a second transaction
    (the refused one is rolled back whole)."""
    try:
        with database.write() as session:
            return signups.start_signup(session, policy, request)
    except CapReached as exc:
        with database.write() as session:
            signups.record_cap_alert(session, exc)
        raise


def record_throttled(database: Database, address: str, slug: str) -> None:
    """An address the per-address limit started refusing (once per refusal spell: the
    caller's limiter says when)."""
    with database.write() as session:
        audit.record(session, Actor("anonymous", ip=address), THROTTLED, f"form:{slug}")


class FormActivity:
    """Views and blocked submissions per form slug, written in one UPDATE per form when
    `every` seconds have passed since the last write (and by `flush`, e.g. at shutdown)."""

    def __init__(
        self,
        database: Database,
        every: float = FLUSH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._views: Counter[str] = Counter()
        self._blocked: Counter[str] = Counter()
        self._flushed_at = clock()

    def viewed(self, slug: str) -> None:
        self._count(self._views, slug)

    def blocked(self, slug: str) -> None:
        self._count(self._blocked, slug)

    def flush(self) -> None:
        with self._lock:
            views, blocked = self._views, self._blocked
            self._views, self._blocked = Counter(), Counter()
            self._flushed_at = self.clock()
        if not views and not blocked:
            return
        try:
            with self.database.write() as session:
                submissions.count_activity(session, views, blocked)
        except Exception:  # statistics: never fail a visitor's request over them
            log.warning("could not write the forms' view and blocked counts", exc_info=True)

    def _count(self, counts: Counter[str], slug: str) -> None:
        with self._lock:
            if slug in counts or len(self._views) + len(self._blocked) < MAX_PENDING_FORMS:
                counts[slug] += 1
            due = self.clock() - self._flushed_at >= self.every
        if due:
            self.flush()
