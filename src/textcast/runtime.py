"""Wiring: the long-lived parts of a textcast process, built once from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from textcast.config import Settings, instance_secret
from textcast.db import Database
from textcast.domain import inbox
from textcast.models import utcnow
from textcast.sending.dispatcher import Dispatcher, DispatcherConfig
from textcast.sending.provider import Provider
from textcast.sinch.client import SinchClient
from textcast.sinch.events import stored_event
from textcast.sinch.provider import SinchProvider
from textcast.web.group_commit import GroupCommitter

log = logging.getLogger("textcast")

SIMULATOR_MOUNT = "/simulator"
SIMULATOR_PLAN_ID = "simulated"
SIMULATOR_TOKEN = "simulated-token"  # noqa: S105 - the local simulator's fixed, public token
SWEEP_SECONDS = 2.0


def build_provider(settings: Settings) -> Provider:
    if settings.uses_simulator:
        client = SinchClient(
            settings.sinch_base_url or settings.public_url + SIMULATOR_MOUNT,
            SIMULATOR_PLAN_ID,
            SIMULATOR_TOKEN,
            timeout=settings.sinch_timeout_seconds,
        )
    else:
        assert settings.sinch_service_plan_id and settings.sinch_api_token
        client = SinchClient(
            settings.sinch_api_url,
            settings.sinch_service_plan_id,
            settings.sinch_api_token,
            timeout=settings.sinch_timeout_seconds,
        )
    return SinchProvider(client)


def dispatcher_config(settings: Settings) -> DispatcherConfig:
    return DispatcherConfig(
        callback_url=settings.public_url + "/api/webhooks/delivery-reports",
        delivery_report=settings.delivery_report.value,
        batch_size=settings.batch_size,
        rate=settings.send_rate,
        concurrency=settings.dispatcher_concurrency,
        poll_seconds=settings.dispatcher_poll_seconds,
        suppression_secret=instance_secret(settings),
    )


@dataclass
class Runtime:
    settings: Settings
    database: Database
    committer: GroupCommitter = field(init=False)
    dispatcher: Dispatcher | None = None
    clock: Callable[[], float] = time.time
    """Wall clock for signature freshness; tests replay Sinch's signed vector with their own."""

    def __post_init__(self) -> None:
        writers = 1 if self.database.is_sqlite else 4
        self.committer = GroupCommitter(self.database, writers=writers)

    @functools.cached_property
    def secret(self) -> bytes:
        return instance_secret(self.settings)

    def wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    @contextlib.asynccontextmanager
    async def running(
        self, *, dispatch: bool, provider: Provider | None = None
    ) -> AsyncIterator[None]:
        """Webhook storage, the inbox sweeper and (optionally) the dispatcher, until exit."""
        stop = asyncio.Event()
        self.committer.start()
        tasks = [asyncio.create_task(self._sweep_inbox(stop))]
        if dispatch:
            provider = provider or build_provider(self.settings)
            self.dispatcher = Dispatcher(self.database, provider, dispatcher_config(self.settings))
            tasks.append(asyncio.create_task(self.dispatcher.run(stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.committer.stop()
            if provider is not None:
                await provider.aclose()
            self.dispatcher = None

    async def _sweep_inbox(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)
            try:
                await asyncio.to_thread(self.sweep_inbox_once)
            except Exception:
                log.exception("inbox sweep failed; will try again")

    def sweep_inbox_once(self) -> int:
        """Apply stored reports that outran their batch; forget old nonces. Returns applied."""
        applied = 0
        with self.database.read() as session:
            pending = inbox.unprocessed_events(session)
        for event in pending:
            with self.database.write() as session:
                applied += inbox.retry_event(
                    session, event, stored_event(event.kind, event.payload)
                )
        horizon = utcnow() - timedelta(seconds=2 * self.settings.webhook_max_age_seconds)
        with self.database.write() as session:
            inbox.forget_nonces(session, horizon)
        return applied
