"""The dispatcher: turns queued messages into provider batches at a controlled rate.

Protocol (docs/sending-protocol.md, "Exactly-once sending"): claim up to `batch_size` due
messages into a `claimed` batch and commit; screen it (opt-outs, send windows, budget) into a
`submitting` batch and commit; wait for tokens, POST, record the outcome. A POST with no
answer leaves the batch `unknown`; it is looked up by `client_reference` before
anything is resent, and so is every batch a crashed process left behind.

A step whose database write fails (an outage, a cut connection) strands its batch between two
states, maybe after Sinch accepted it. The leader then treats every open batch that none of
its own tasks holds as stranded, and reconciles it the same way, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import campaigns, experiments, outbox, phones
from textcast.domain.campaigns.planning import Policy
from textcast.models import BatchState, utcnow
from textcast.sending.leadership import DispatcherLock
from textcast.sending.provider import (
    OutboundBatch,
    Provider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from textcast.sending.throttle import TokenBucket

log = logging.getLogger("textcast.dispatcher")
T = TypeVar("T")
P = ParamSpec("P")

STANDBY_POLL_SECONDS = 2.0
BATCHES_PER_ROUND = 4
CLAIMED_AT_ONCE = 8
"""With no rate limit: batches a lane claims in one turn on the campaign's cursor."""
# How often scheduled campaigns and deferred messages are looked at.
DUE_CHECK_INTERVAL = timedelta(seconds=1)
# Stranded batches are looked for after any failed step, and this often regardless.
STRANDED_CHECK_SECONDS = 30.0
# How often the leader makes sure the lock is still its own (and always after a failure).
LEADERSHIP_CHECK_SECONDS = 1.0
# Sinch keeps batches listable for 14 days; look a little before our own creation time.
LOOKUP_SLACK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    callback_url: str | None
    delivery_report: str = "per_recipient_final"
    batch_size: int = 1000
    rate: float = 0.0
    """Parts per second; 0 = unlimited."""
    concurrency: int = 4
    poll_seconds: float = 0.5
    retry_base_seconds: float = 1.0
    retry_cap_seconds: float = 300.0
    unknown_check_seconds: float = 2.0
    """How long to let Sinch settle before asking whether an unanswered POST landed."""
    max_attempts: int = 20
    suppression_secret: bytes = b""
    """Keys the opted-out numbers' hashes (`instance_secret`)."""
    policy: Policy | None = None
    """Send windows and prices; None sends whatever is queued, at any hour (tests of the
    protocol alone)."""
    clock: Callable[[], datetime] = utcnow
    """Now, for send windows and schedules (tests move it)."""


class Dispatcher:
    def __init__(
        self,
        database: Database,
        provider: Provider,
        config: DispatcherConfig,
        *,
        policy_source: Callable[[], Policy] | None = None,
    ) -> None:
        """`policy_source`: the policy in effect now (settings an admin changes while textcast
        runs), asked once per tick, never per message; it must not block."""
        self.database = database
        self.provider = provider
        self.config = config
        self._policy_source = policy_source
        self.bucket = TokenBucket(config.rate)
        self._slots = asyncio.Semaphore(config.concurrency)
        # PostgreSQL runs several claim lanes (they take turns on a campaign's cursor, and
        # screen and post in parallel); SQLite has one writer.
        self._claimers = 1 if database.is_sqlite else config.concurrency
        self._lanes = 0
        """Claim lanes running."""
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held: set[str] = set()
        """Batches this process is working on, from their claim to their recorded outcome:
        an open batch outside it is stranded."""
        self._failed = False
        """A step failed since the last look for stranded batches."""
        self._stranded_checked_at = 0.0
        self._leadership_checked_at = 0.0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due_checked_at = datetime.min.replace(tzinfo=UTC)
        self.due_work_started_at = datetime.min.replace(tzinfo=UTC)
        """The clock time of the last due check that committed: scheduled campaigns started
        and deferred messages whose window had opened by then are queued."""

    def wake(self) -> None:
        """Look for work now instead of at the next poll (e.g. right after a launch).

        Safe from any thread (the webhook writers call it when a keyword needs an answer).
        """
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        lock = DispatcherLock(self.database)
        started = False
        try:
            while await self._become_leader(lock, stop):
                if not started:
                    rate = self.config.rate or "unlimited"
                    log.info(
                        "dispatcher started (rate=%s parts/s, batch_size=%s)",
                        rate,
                        self.config.batch_size,
                    )
                    await asyncio.to_thread(phones.warm_up)
                    started = True
                await self._lead(lock, stop)
        finally:
            await asyncio.to_thread(lock.release)
        if started:
            log.info("dispatcher stopped")

    async def _lead(self, lock: DispatcherLock, stop: asyncio.Event) -> None:
        """Send until stopped or until the lock is lost; either way, with nothing of ours
        left in flight when it returns."""
        self._failed = False
        self._stranded_checked_at = self._leadership_checked_at = time.monotonic()
        try:
            await self._guarded(self.reconcile_orphans)
            while not stop.is_set():
                if not await self._still_leading(lock):
                    log.warning(
                        "the dispatcher lock was lost with its database connection; "
                        "stepping down until it is ours again"
                    )
                    return
                busy = await self._guarded(self.tick)
                if not busy:
                    await self._sleep_until_woken(stop)
        finally:
            # A standby that takes over reconciles every open batch: none may still be ours.
            await self.drain()

    async def _become_leader(self, lock: DispatcherLock, stop: asyncio.Event) -> bool:
        announced = unreachable = False
        while not stop.is_set():
            try:
                if await asyncio.to_thread(lock.try_acquire):
                    return True
            except Exception as exc:
                if not unreachable:
                    log.warning("cannot reach the database for the dispatcher lock (%s)", exc)
                    unreachable = True
            else:
                if not announced:
                    log.info("another dispatcher is running on this database; standing by")
                    announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_SECONDS)
        return False

    async def _still_leading(self, lock: DispatcherLock) -> bool:
        """Asked now and then, and always after a failure: a failed step may mean a lost
        connection, and the lock with it."""
        now = time.monotonic()
        if not self._failed and now - self._leadership_checked_at < LEADERSHIP_CHECK_SECONDS:
            return True
        self._leadership_checked_at = now
        return await asyncio.to_thread(lock.still_held)

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def tick(self) -> bool:
        """One pass over the work; True if anything was started."""
        self._follow_policy()
        await self._reconcile_stranded()
        busy = await self._resolve_unknown()
        busy |= await self._resubmit_retries()
        now = self.config.clock()
        due = now - self._due_checked_at >= DUE_CHECK_INTERVAL
        if due:
            self._due_checked_at = now
            await self._db_write(self._start_due_work, now)
            if self.config.policy is not None:
                await self._decide_tests(self.config.policy, now)
            self.due_work_started_at = now
        busy |= await self._claim_and_submit()
        # When idle, and now and then while a big campaign keeps batches in flight (its
        # keyword replies finish meanwhile).
        if due or not self._in_flight:
            finished = await self._db_write(campaigns.complete_finished_campaigns, now)
            self._log_finished(finished)
        return busy

    def _follow_policy(self) -> None:
        """A policy changed since the last tick: screen with it, and send at its rate."""
        if self._policy_source is None:
            return
        policy = self._policy_source()
        if policy is self.config.policy:
            return
        self.config = dataclasses.replace(self.config, policy=policy, rate=policy.send_rate)
        if self.bucket.rate != policy.send_rate:
            self.bucket.set_rate(policy.send_rate)
            log.info("send rate now %s parts/s", policy.send_rate or "unlimited")

    @staticmethod
    def _start_due_work(session: Session, now: datetime) -> None:
        for campaign_id in campaigns.start_due_campaigns(session, now):
            log.info("campaign %s: its scheduled time has come", campaign_id)
        outbox.wake_deferred(session, now)

    async def _decide_tests(self, policy: Policy, now: datetime) -> None:
        """A/B tests due are decided (each winner launched to its rest)."""
        try:
            decided = await self._db_write(experiments.advance_tests, policy, now)
        except Exception:
            # Never at the cost of sending: the decisions are tried again at the next look.
            log.exception("A/B test decisions failed; they are tried again shortly")
            return
        for campaign_id in decided:
            log.info("campaign %s: its A/B test is decided", campaign_id)

    @staticmethod
    def _log_finished(finished: list[int]) -> None:
        for campaign_id in finished:
            log.info("campaign %s: every message handed to the provider", campaign_id)

    async def reconcile_orphans(self) -> None:
        """On start, and on taking the lead back: every `submitting`/`unknown` batch is
        checked with the provider first (no task of ours is running)."""
        released = await self._db_write(outbox.release_claims)
        if released:
            log.warning("%d batch(es) claimed before this start went back to the queue", released)
        orphans = await self._db(outbox.orphaned_batches)
        if orphans:
            log.warning("reconciling %d batch(es) left in flight before this start", len(orphans))
        for batch_id in orphans:
            await self._reconcile(batch_id)

    async def _reconcile_stranded(self) -> None:
        """Batches a failed step left open and none of our tasks holds: claims go back to the
        queue, the others become `unknown`, to be looked up at the provider (once it has had
        time to settle: their POST may have just left) before anything is resent.

        Only the leader runs this, between claim rounds: an open batch outside `_held` then
        has nobody working on it, in this process or any other.
        """
        now = time.monotonic()
        if not self._failed and now - self._stranded_checked_at < STRANDED_CHECK_SECONDS:
            return
        self._failed = False  # a failure from here on is looked at next time
        self._stranded_checked_at = now
        # Held before the read (a task that recorded its outcome meanwhile may still read as
        # open) or after it (claimed meanwhile): either way, somebody's.
        held = set(self._held)
        stranded = [
            (batch_id, state)
            for batch_id, state in await self._db(outbox.open_batches)
            if batch_id not in held and batch_id not in self._held
        ]
        claims = [batch_id for batch_id, state in stranded if state == BatchState.CLAIMED]
        if claims:
            released = await self._db_write(outbox.release_claims, claims)
            log.warning("stranded claims went back to the queue: %d", released)
        unsettled = [batch_id for batch_id, state in stranded if state != BatchState.CLAIMED]
        if unsettled:
            marked = await self._db_write(
                outbox.record_stranded,
                unsettled,
                "stranded by a failed step",
                timedelta(seconds=self.config.unknown_check_seconds),
            )
            log.warning("%d stranded batch(es) will be looked up before any resend", marked)

    # -- the work -------------------------------------------------------------------------

    async def _claim_and_submit(self) -> bool:
        """Claim until no campaign has queued messages left, in lanes that each go round the
        sending campaigns on their own: one lane waiting for slots for its batches does not
        hold the others back."""
        # Every lane ends before this returns, failed or not: a lane still claiming would hold
        # batches that the next look for stranded ones cannot tell from abandoned ones.
        results = await asyncio.gather(
            *(self._lane() for _ in range(self._claimers)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return any(results)

    async def _lane(self) -> bool:
        """Rounds of a few batches per campaign, re-reading the campaigns each round.

        A keyword reply launched during a big campaign is then sent within a round, not after
        the whole campaign has been claimed.
        """
        started = False
        self._lanes += 1
        try:
            while True:
                claimed = False
                for campaign_id in await self._db(outbox.sending_campaign_ids):
                    claimed |= await self._claim_round(campaign_id, first=not started)
                if not claimed:
                    return started
                started = True
                if self._lanes == 1 < self._claimers:
                    # The other lanes found nothing when they looked, maybe just before a
                    # launch committed: the next tick starts them all again.
                    return True
        finally:
            self._lanes -= 1

    async def _claim_round(self, campaign_id: int, *, first: bool = False) -> bool:
        """Claim, screen and hand off a round's worth of batches of one campaign."""
        if self.bucket.unlimited:
            # Nothing waits for tokens: claim and screen several batches at once (fewer
            # turns on the campaign's cursor, one lookup of opt-outs and contacts), then post
            # each as a slot frees up. A lane's first round takes one: the first texts leave
            # without waiting for a whole round to be claimed and screened.
            count = 1 if first else CLAIMED_AT_ONCE
            batches, claimed = await self._claim_and_screen(campaign_id, count)
            for batch in batches:
                await self._slots.acquire()
                self._start(batch.id, self._submit(batch))
            return claimed
        # At a set rate, a batch is claimed only once a slot is free: nothing sits claimed
        # while tokens accrue.
        started = False
        for _ in range(BATCHES_PER_ROUND):
            await self._slots.acquire()
            try:
                batches, claimed = await self._claim_and_screen(campaign_id, 1)
            except Exception:
                self._slots.release()
                raise
            if not claimed:
                self._slots.release()
                return started
            started = True
            if batches:
                self._start(batches[0].id, self._submit(batches[0]))
            else:
                self._slots.release()  # nobody left in it
        return started

    async def _claim_and_screen(
        self, campaign_id: int, count: int
    ) -> tuple[list[outbox.ClaimedBatch], bool]:
        """The screened batches of up to `count` claimed ones, and whether any was claimed."""
        claims = await self._db_write(
            outbox.claim_batches,
            campaign_id,
            self.config.batch_size,
            count,
            self.config.clock(),
        )
        claimed = {claim.batch_id for claim in claims}
        self._held |= claimed
        screened: list[outbox.ClaimedBatch] = []
        try:
            screened = await self._screen(claims) if claims else []
        finally:
            # Held from here by the tasks that post them; the others are gone or given back.
            self._held -= claimed - {batch.id for batch in screened}
        return screened, bool(claims)

    async def _screen(self, claims: list[outbox.Claim]) -> list[outbox.ClaimedBatch]:
        """In its own transaction: the campaign's next claim need not wait for it."""
        try:
            return await self._db_write(
                outbox.screen_claims,
                claims,
                self.config.suppression_secret,
                post_now=self.bucket.unlimited,
                policy=self.config.policy,
                now=self.config.clock(),
            )
        except Exception:
            # Its commit may have happened all the same: what is left is looked at later.
            self._failed = True
            with contextlib.suppress(Exception):
                await self._db_write(outbox.release_claims, [c.batch_id for c in claims])
            raise

    async def _resubmit_retries(self) -> bool:
        due = await self._db(outbox.due_batches, BatchState.RETRY, utcnow())
        for batch_id in due:
            await self._resend(batch_id)
        return bool(due)

    async def _resolve_unknown(self) -> bool:
        due = await self._db(outbox.due_batches, BatchState.UNKNOWN, utcnow())
        for batch_id in due:
            await self._reconcile(batch_id)
        return bool(due)

    async def _reconcile(self, batch_id: str) -> None:
        batch = await self._db(outbox.reload_batch, batch_id)
        try:
            found = await self.provider.lookup(batch.id, batch.created_at - LOOKUP_SLACK)
        except ProviderError as exc:
            await self._db_write(
                outbox.record_unknown,
                batch.id,
                f"lookup failed: {exc}",
                self._backoff(batch.attempts),
            )
            return
        if found is not None:
            log.info(
                "batch %s: found at the provider as %s, not resent",
                batch.id,
                found.provider_batch_id,
            )
            await self._db_write(outbox.record_accepted, batch.id, found.provider_batch_id)
            return
        log.info("batch %s: the provider never got it; sending it again", batch.id)
        await self._resend(batch.id)

    async def _resend(self, batch_id: str) -> None:
        """Post a batch again, from `retry`, or `unknown` once the provider has said it does
        not have it."""
        await self._slots.acquire()
        self._held.add(batch_id)
        try:
            await self._db_write(outbox.mark_resubmitting, batch_id)
            batch = await self._db(outbox.reload_batch, batch_id)
        except BaseException:
            # Its slot and the batch are free again; left `submitting`, it is stranded.
            self._held.discard(batch_id)
            self._slots.release()
            raise
        self._start(batch_id, self._submit(batch))

    async def _submit(self, batch: outbox.ClaimedBatch) -> None:
        try:
            if not batch.posting:
                await self.bucket.acquire(batch.parts)
                # Tokens may take a while at a low rate: opt-outs are checked at the last moment.
                batch = await self._db_write(
                    outbox.prepare_post, batch, self.config.suppression_secret
                )
            if not batch.recipients:
                log.info("batch %s: every recipient opted out meanwhile; nothing sent", batch.id)
                return
            accepted = await self.provider.submit(self._outbound(batch))
        except ProviderRejected as exc:
            log.warning("batch %s rejected: %s %s", batch.id, exc.status, exc.code)
            await self._db_write(
                outbox.record_rejected, batch.id, f"{exc.code}: {exc.text}", exc.status
            )
        except ProviderUnavailable as exc:
            await self._after_unavailable(batch, exc)
        except ProviderUnknownOutcome as exc:
            log.warning("batch %s: no answer (%s); will check before resending", batch.id, exc)
            await self._db_write(
                outbox.record_unknown,
                batch.id,
                str(exc),
                timedelta(seconds=self.config.unknown_check_seconds),
            )
        else:
            await self._db_write(outbox.record_accepted, batch.id, accepted.provider_batch_id)
            log.debug("batch %s accepted (%d recipients)", batch.id, len(batch.recipients))

    async def _after_unavailable(
        self, batch: outbox.ClaimedBatch, exc: ProviderUnavailable
    ) -> None:
        if batch.attempts >= self.config.max_attempts:
            reason = f"gave up after {batch.attempts} attempts: {exc.reason}"
            log.error("batch %s: %s", batch.id, reason)
            await self._db_write(outbox.record_rejected, batch.id, reason)
            return
        delay = self._backoff(batch.attempts)
        if exc.retry_after is not None:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        log.warning(
            "batch %s: provider unavailable (%s); retry in %.1fs",
            batch.id,
            exc.reason,
            delay.total_seconds(),
        )
        await self._db_write(outbox.record_retry, batch.id, exc.reason, delay)

    def _outbound(self, batch: outbox.ClaimedBatch) -> OutboundBatch:
        return OutboundBatch(
            client_reference=batch.id,
            recipients=batch.recipients,
            body=batch.body,
            parameters=batch.parameters,
            sender=batch.sender,
            callback_url=self.config.callback_url,
            delivery_report=self.config.delivery_report,
        )

    def _backoff(self, attempt: int) -> timedelta:
        ceiling = min(
            self.config.retry_cap_seconds, self.config.retry_base_seconds * 2 ** max(attempt - 1, 0)
        )
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))

    # -- plumbing ---------------------------------------------------------------------------

    def _start(self, batch_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` on the batch in its own task, which holds the batch and a slot."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                self._failed = True
                log.exception("batch %s: submission failed midway; it will be reconciled", batch_id)
            finally:
                self._held.discard(batch_id)
                self._slots.release()

        task = asyncio.create_task(guarded())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _sleep_until_woken(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(
            waiters, timeout=self.config.poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters:
            waiter.cancel()

    async def _guarded(self, step: Callable[[], Awaitable[object]]) -> bool:
        try:
            return bool(await step())
        except Exception:
            self._failed = True
            log.exception("dispatcher step failed; retrying after a pause")
            await asyncio.sleep(self.config.poll_seconds)
            return False

    async def _db(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        def work() -> T:
            with self.database.read() as session:
                return fn(session, *args, **kwargs)

        return await asyncio.to_thread(work)

    async def _db_write(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        def work() -> T:
            with self.database.write() as session:
                return fn(session, *args, **kwargs)

        return await asyncio.to_thread(work)
