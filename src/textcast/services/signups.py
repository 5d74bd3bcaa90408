"""The public sign-up form's use cases: find a form, take a submission (stored with its
evidence, and its confirmation text queued, in one transaction committed before the answer),
note an address the rate limit started refusing, and count views and blocked submissions.

A flood must not become a write per request: views and blocked submissions are added up in
memory and written every `FLUSH_SECONDS` (one UPDATE per form), on every node alike.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from textcast.db import Database, GroupWriter
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.signups import forms, groups, signups, submissions
from textcast.domain.signups.signups import CapReached, SignupPolicy, SignupRequest
from textcast.models import Signup, SignupForm

log = logging.getLogger("textcast.signups")

FLUSH_SECONDS = 2.0
MAX_PENDING_FORMS = 1000
"""Forms whose counts wait in memory at once; counts for more are dropped (they are
statistics, and this bounds what a flood of made-up addresses can cost)."""
THROTTLED = "signup.throttled"
MAX_SLUG_CHARS = 64
FORM_CACHE_SECONDS = 1.0
MAX_GROUP = 200
"""Sign-ups stored in one transaction at most."""
Outcome = Signup | Exception


def find_form(database: Database, slug: str) -> SignupForm | None:
    """The active form at `/join/{slug}` (archived ones answer as unknown)."""
    if len(slug) > MAX_SLUG_CHARS:
        return None
    with database.read() as session:
        return forms.find_active_form(session, slug)


class FormCache:
    """The active forms by slug, each read at most once per `ttl` seconds: a busy form's
    submissions do not read it from the database each time. A change (or an archiving)
    reaches submissions within `ttl`; unknown slugs are remembered too, so a flood of made-up
    ones costs one read each per `ttl`, and at most `size` are kept."""

    def __init__(
        self,
        database: Database,
        ttl: float = FORM_CACHE_SECONDS,
        size: int = MAX_PENDING_FORMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._forms: dict[str, tuple[float, SignupForm | None]] = {}

    def get(self, slug: str) -> SignupForm | None:
        now = self.clock()
        cached = self._forms.get(slug)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        form = find_form(self.database, slug)
        if len(self._forms) >= self.size:
            self._forms = {k: v for k, v in self._forms.items() if now - v[0] < self.ttl}
            if len(self._forms) >= self.size:
                self._forms.clear()
        self._forms[slug] = (now, form)
        return form


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


class SubmissionGroups:
    """`submit` for many requests at once, on the event loop: each caller queues its sign-up
    and waits; a writer task stores everything queued meanwhile in one transaction (one
    commit, one turn of SQLite's write lock, a few statements for the lot: see
    `domain.signups.groups`), and each caller returns once its sign-up is committed. A lone
    submission is written at once.

    The write runs on the event loop itself, blocking it for the few milliseconds it takes
    (as the webhooks' group commit does): written from a thread, each of its statements
    would wait for the GIL behind the threads parsing the next requests."""

    def __init__(
        self,
        database: Database,
        policy: Callable[[], SignupPolicy],
        *,
        max_group: int = MAX_GROUP,
    ) -> None:
        self.database = database
        self.policy = policy
        self.max_group = max_group
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._storage = GroupWriter(database)

    async def submit(self, request: SignupRequest) -> Signup:
        """As `submit`; the cap's alert commits with the group (the refused sign-up does not)."""
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done() or self._loop is not loop:
            self._loop = loop
            self._queue = asyncio.Queue()
            self._writer = loop.create_task(self._write_forever(self._queue))
        pending = _Pending(request, loop.create_future())
        self._queue.put_nowait(pending)
        return await pending.done

    async def aclose(self) -> None:
        """Store what has queued, then stop the writer."""
        if self._writer is None or self._writer.done():
            return
        if self._loop is not asyncio.get_running_loop():
            return  # a writer of another loop, gone with it (tests' extra clients)
        self._queue.put_nowait(None)
        await self._writer

    async def _write_forever(self, queue: asyncio.Queue[_Pending | None]) -> None:
        closing = False
        while not closing:
            first = await queue.get()
            if first is None:
                break
            # The requests already read on this turn of the loop join this group.
            await asyncio.sleep(0)
            group = [first]
            closing = self._take_queued(queue, group)
            try:
                outcomes = await self._store(queue, group)
            except Exception as exc:  # nothing of the group is stored: each caller hears why
                log.warning("a group of %d sign-ups could not be stored: %s", len(group), exc)
                outcomes = [exc] * len(group)
            for pending, outcome in zip(group, outcomes, strict=True):
                if pending.done.done():
                    continue  # its caller went away
                if isinstance(outcome, Signup):
                    pending.done.set_result(outcome)
                else:
                    pending.done.set_exception(outcome)
        self._storage.close()

    def _take_queued(self, queue: asyncio.Queue[_Pending | None], group: list[_Pending]) -> bool:
        """What else has queued joins the group; True when the queue says to stop after it."""
        while len(group) < self.max_group and not queue.empty():
            pending = queue.get_nowait()
            if pending is None:
                return True
            group.append(pending)
        return False

    async def _store(
        self, queue: asyncio.Queue[_Pending | None], group: list[_Pending]
    ) -> list[Outcome]:
        def work(connection: Connection) -> list[Outcome]:
            with Session(bind=connection, expire_on_commit=False) as session:
                return self._start(session, group)  # as the group is when it is written

        def grow() -> None:
            if self._take_queued(queue, group):
                queue.put_nowait(None)  # stop after this group, on the next turn

        return await self._storage.write(work, while_waiting=grow)

    def _start(self, session: Session, group: list[_Pending]) -> list[Outcome]:
        requests = [pending.request for pending in group]
        outcomes = groups.start_signups(session, self.policy(), requests)
        session.flush()
        return list(outcomes)


@dataclass(slots=True)
class _Pending:
    request: SignupRequest
    done: asyncio.Future[Signup]


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
