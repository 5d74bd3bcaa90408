"""Wiring: the long-lived parts of a textcast process, built from Settings.

The environment's settings are read once; the few an admin may change while textcast runs
(`editable_settings.py`) are stored in the database, and every process looks at their revision
every `SETTINGS_CHECK_SECONDS`: when it has moved, the sending policy, the keyword replies and
the default sender are rebuilt, and the dispatcher takes them at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from textcast import __version__
from textcast.config import Settings, derived_secret, instance_secret, webhook_secret
from textcast.db import Database
from textcast.domain import inbox, outbox
from textcast.domain.campaigns import send_window
from textcast.domain.campaigns.planning import Policy
from textcast.domain.campaigns.pricing import PriceTable
from textcast.domain.content import compliance
from textcast.domain.content.words import normalise
from textcast.domain.inbox import replies
from textcast.domain.inbox.events import InboundSms
from textcast.domain.inbox.group_commit import GroupCommitter
from textcast.domain.inbox.keywords import Keyword, KeywordRules
from textcast.domain.inbox.replies import ReplyPolicy
from textcast.domain.settings import stored as stored_settings
from textcast.domain.settings.stored import StoredSetting
from textcast.domain.signups import SignupPolicy, expire_due
from textcast.domain.webhooks.deliveries import RetryPolicy
from textcast.models import InboundMessage, utcnow
from textcast.sending.dispatcher import Dispatcher, DispatcherConfig
from textcast.sending.flow_engine import FlowEngine
from textcast.sending.provider import Provider, ProviderError
from textcast.sending.webhook_sender import SenderConfig, WebhookSender
from textcast.services import conversations
from textcast.services import settings as settings_services
from textcast.sinch.client import SinchClient
from textcast.sinch.connections import SinchAccount
from textcast.sinch.events import stored_event
from textcast.sinch.provider import SinchProvider
from textcast.sinch.statuses import StatusCode, describe_code
from textcast.webhook_urls import DELIVERY_REPORTS, callback_url

log = logging.getLogger("textcast")

SIMULATOR_MOUNT = "/simulator"
SIMULATOR_PLAN_ID = "simulated"
STANDALONE_SIMULATOR_TOKEN = "simulated-token"  # noqa: S105 - `textcast simulator`'s default
SWEEP_SECONDS = 2.0
SETTINGS_CHECK_SECONDS = 2.0
"""How often a process reads the settings' revision: a change made on another node is in
effect here within this time."""
# Longer than a POST's own timeout and retries would take to give up.
POST_WAIT_SECONDS = 120.0


def simulator_token(settings: Settings) -> str:
    """The built-in simulator's API token: known to this installation's processes only (they
    all derive it from the instance secret), so nobody outside can call its Sinch API."""
    return derived_secret(settings, "textcast simulator api token v1")


def sinch_account(settings: Settings) -> SinchAccount:
    """The Sinch account this configuration talks to: the real one, the built-in simulator, or
    a standalone `textcast simulator` at SINCH_BASE_URL (with its default token)."""
    if settings.uses_simulator:
        return SinchAccount(
            settings.sinch_base_url or settings.public_url + SIMULATOR_MOUNT,
            SIMULATOR_PLAN_ID,
            STANDALONE_SIMULATOR_TOKEN if settings.sinch_base_url else simulator_token(settings),
            simulated=True,
            url_setting="SINCH_BASE_URL" if settings.sinch_base_url else "BASE_URL",
        )
    return SinchAccount(
        settings.sinch_api_url,
        settings.sinch_service_plan_id or "",
        settings.sinch_api_token.get_secret_value() if settings.sinch_api_token else "",
        url_setting="SINCH_BASE_URL" if settings.sinch_base_url else "SINCH_REGION",
    )


def describe_delivery_code(code: int) -> StatusCode:
    """What a delivery code the provider reported means (analytics and the CSV export): the
    provider's own table, Sinch's being the only one."""
    return describe_code(code)


def build_provider(settings: Settings) -> Provider:
    account = sinch_account(settings)
    client = SinchClient(
        account.base_url,
        account.service_plan_id,
        account.api_token,
        timeout=settings.sinch_timeout_seconds,
    )
    return SinchProvider(client)


def sending_policy(settings: Settings) -> Policy:
    """What plans, launches and the dispatcher need to know from the settings."""
    return Policy(
        prices=PriceTable.of(settings.prices, settings.price_default, settings.price_currency),
        rules=send_window.Rules.from_table(settings.quiet_hours, settings.quiet_hours_rules),
        send_rate=settings.send_rate,
        frequency_cap=settings.frequency_cap,
        frequency_window=timedelta(hours=settings.frequency_window_hours),
        secret=instance_secret(settings),
        short_link_base=settings.short_link_base,
        max_recipients_per_campaign=settings.max_recipients_per_campaign,
        daily_recipient_quota=settings.daily_recipient_quota,
        compliance=compliance.Rules.of(settings.brand_name, settings.opt_out_keywords.split(",")),
    )


def reply_policy(settings: Settings) -> ReplyPolicy:
    """What the inbound hook needs to know from the settings: keywords and their replies."""
    texts = {
        Keyword.OPT_OUT: settings.opt_out_reply,
        Keyword.OPT_IN: settings.opt_in_reply,
        Keyword.HELP: settings.help_reply,
    }
    return ReplyPolicy(
        rules=KeywordRules.from_csv(
            settings.opt_out_keywords, settings.opt_in_keywords, settings.help_keywords
        ),
        texts={
            k: t.format(brand=settings.brand_name, contact=settings.help_contact)
            for k, t in texts.items()
        },
        period=timedelta(hours=settings.reply_period_hours),
        sender=settings.sinch_number,
        per_hour=settings.keyword_replies_per_hour,
        daily_quota=settings.daily_recipient_quota,
        confirm_words=frozenset(
            word for w in settings.confirm_keywords.split(",") if (word := normalise(w))
        ),
        signup_country=settings.default_region,
    )


def agent_reply_policy(settings: Settings) -> conversations.ReplyPolicy:
    """What an agent's answer in a conversation goes out with (the command line's; a running
    app's is `Runtime.agent_reply_policy`, from the settings in effect)."""
    return conversations.ReplyPolicy(
        sending_policy(settings), settings.sinch_number, settings.default_region
    )


def signup_policy(settings: Settings) -> SignupPolicy:
    """What sign-ups (forms, keywords, confirmations) need to know from the settings."""
    return SignupPolicy(
        secret=instance_secret(settings),
        sender=settings.sinch_number,
        confirmation_window=timedelta(hours=settings.confirmation_hours),
        daily_quota=settings.daily_recipient_quota,
    )


def dispatcher_config(settings: Settings, policy: Policy | None = None) -> DispatcherConfig:
    return DispatcherConfig(
        policy=policy or sending_policy(settings),
        callback_url=callback_url(settings, DELIVERY_REPORTS),
        delivery_report=settings.delivery_report.value,
        batch_size=settings.batch_size,
        rate=settings.send_rate,
        concurrency=settings.dispatcher_concurrency,
        poll_seconds=settings.dispatcher_poll_seconds,
        suppression_secret=instance_secret(settings),
    )


def webhook_sender_config(settings: Settings) -> SenderConfig:
    return SenderConfig(
        retry=RetryPolicy(
            first_retry=timedelta(seconds=settings.webhook_first_retry_seconds),
            window=timedelta(hours=settings.webhook_retry_hours),
        ),
        user_agent=f"textcast-webhooks/{__version__}",
        allow_private=settings.webhook_allow_private,
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
    )


@dataclass(frozen=True, slots=True)
class InEffect:
    """What a process runs with: the settings in effect at a revision of the stored ones, and
    what is built from them."""

    settings: Settings
    revision: int
    """-1 until the stored settings are first read (the environment's alone until then)."""
    stored: Mapping[str, StoredSetting]
    policy: Policy
    reply_policy: ReplyPolicy
    signup_policy: SignupPolicy

    @classmethod
    def of(cls, settings: Settings, revision: int, stored: Mapping[str, StoredSetting]) -> InEffect:
        return cls(
            settings,
            revision,
            stored,
            sending_policy(settings),
            reply_policy(settings),
            signup_policy(settings),
        )


@dataclass
class Runtime:
    environment: Settings
    """The settings read from the environment and `.env` at start."""
    database: Database
    committer: GroupCommitter = field(init=False)
    dispatcher: Dispatcher | None = None
    flow_engine: FlowEngine | None = None
    webhook_sender: WebhookSender | None = None
    clock: Callable[[], float] = time.time
    """Wall clock for signature freshness; tests replay Sinch's signed vector with their own."""
    in_effect: InEffect = field(init=False)
    _adopting: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        writers = 1 if self.database.is_sqlite else 4
        self.committer = GroupCommitter(
            self.database,
            writers=writers,
            on_inbound=self.handle_inbound,
            invalid_after=lambda: self.settings.invalid_after_failures,
        )
        self.in_effect = InEffect.of(self.environment, -1, {})

    @property
    def settings(self) -> Settings:
        """In effect: the environment's, with the values an admin stored over them."""
        return self.in_effect.settings

    @property
    def policy(self) -> Policy:
        return self.in_effect.policy

    @property
    def reply_policy(self) -> ReplyPolicy:
        return self.in_effect.reply_policy

    @property
    def signup_policy(self) -> SignupPolicy:
        return self.in_effect.signup_policy

    @property
    def agent_reply_policy(self) -> conversations.ReplyPolicy:
        """What an agent's answer in a conversation goes out with."""
        return conversations.ReplyPolicy(
            self.policy, self.reply_policy.sender, self.settings.default_region
        )

    @functools.cached_property
    def secret(self) -> bytes:
        return instance_secret(self.environment)

    @functools.cached_property
    def webhook_secret(self) -> str | None:
        return webhook_secret(self.environment)

    def refresh_settings(self) -> bool:
        """Read the stored settings' revision and, when it moved, rebuild what depends on
        them (blocking: call it from a thread). True when something was rebuilt."""
        with self.database.read() as session:
            moved = stored_settings.revision(session) != self.in_effect.revision
        if moved:
            return self.adopt(settings_services.current(self.database, self.environment))
        return False

    def adopt(self, current: settings_services.CurrentSettings) -> bool:
        """Run with these settings from now on, unless newer ones are already in effect."""
        with self._adopting:
            if current.revision <= self.in_effect.revision:
                return False
            self.in_effect = InEffect.of(current.settings, current.revision, current.stored)
        if self.in_effect.revision > 0:
            log.info("settings revision %d in effect", current.revision)
        return True

    def handle_inbound(self, connection: Connection, sms: InboundSms) -> None:
        """Keywords, sign-ups and replies, inside the webhook's own transaction (see
        `store_events`); the dispatcher is woken for the text any of them queued.

        `store_events` calls this inside a savepoint: a failed flush rolls back that savepoint
        (`rollback_only`), never the group's transaction, and no savepoint of its own is
        needed (it would cost two more statements per message).
        """
        with Session(bind=connection, join_transaction_mode="rollback_only") as session:
            message = session.scalars(
                select(InboundMessage).where(InboundMessage.provider_id == sms.provider_id)
            ).one()
            keyword = replies.handle_inbound(
                session, self.secret, self.reply_policy, message, self.signup_policy
            )
            session.flush()
        if keyword is not None:
            self.wake_dispatcher()

    def is_opt_out(self, body: str) -> bool:
        return self.reply_policy.rules.classify(body) is Keyword.OPT_OUT

    async def wait_for_posts_to(self, phone: str, timeout: float = POST_WAIT_SECONDS) -> None:
        """Hold a STOP's "200" until no batch already past its last check still carries `phone`.

        The opt-out is committed by then, so no later batch includes the number; the ones that
        passed their check just before are on the wire and are let through first. Then, once
        Sinch hears "200" for a STOP, it receives nothing more for that number.
        """

        def in_flight() -> int:
            with self.database.read() as session:
                return outbox.inflight_posts_to(session, phone)

        deadline = time.monotonic() + timeout
        while await asyncio.to_thread(in_flight):
            if time.monotonic() > deadline:
                log.error("a STOP is acknowledged while a batch with its number is still in flight")
                return
            await asyncio.sleep(0.02)

    def wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def wake_flows(self) -> None:
        """Runs were started or woken (an event, a sign-up, a keyword): move them on now."""
        if self.flow_engine is not None:
            self.flow_engine.wake()

    def wake_webhooks(self) -> None:
        """Events were just recorded here: post them now rather than at the next poll."""
        if self.webhook_sender is not None:
            self.webhook_sender.wake()

    async def cancel_provider_batches(self, provider_batch_ids: list[str]) -> int:
        """Ask the provider to cancel these batches; how many it confirmed. A batch already
        sent cancels nothing, and a failure is logged, not raised: the campaign is cancelled
        on our side either way, and the delivery reports say what was stopped in time."""
        if not provider_batch_ids:
            return 0
        dispatcher = self.dispatcher
        own = dispatcher is None
        provider = build_provider(self.settings) if dispatcher is None else dispatcher.provider
        cancelled = 0
        try:
            for batch_id in provider_batch_ids:
                try:
                    await provider.cancel(batch_id)
                    cancelled += 1
                except ProviderError as exc:
                    log.warning("cancelling provider batch %s failed: %s", batch_id, exc)
        finally:
            if own:
                await provider.aclose()
        return cancelled

    @contextlib.asynccontextmanager
    async def running(
        self, *, dispatch: bool, provider: Provider | None = None
    ) -> AsyncIterator[None]:
        """Webhook storage, the inbox sweeper and (optionally) the dispatcher with the flow
        engine and the webhook sender, until exit."""
        stop = asyncio.Event()
        self.committer.start()
        tasks = [asyncio.create_task(self._sweep_inbox(stop))]
        try:
            await asyncio.to_thread(self.refresh_settings)
        except Exception:
            log.exception("the stored settings could not be read; the environment's apply")
        tasks.append(asyncio.create_task(self._follow_settings(stop)))
        if dispatch:
            provider = provider or build_provider(self.settings)
            self.dispatcher = Dispatcher(
                self.database,
                provider,
                dispatcher_config(self.settings, self.policy),
                policy_source=lambda: self.policy,
            )
            tasks.append(asyncio.create_task(self.dispatcher.run(stop)))
            self.flow_engine = FlowEngine(
                self.database,
                policy_source=lambda: self.policy,
                on_queued=self.wake_dispatcher,
            )
            tasks.append(asyncio.create_task(self.flow_engine.run(stop)))
            self.webhook_sender = WebhookSender(self.database, webhook_sender_config(self.settings))
            tasks.append(asyncio.create_task(self.webhook_sender.run(stop)))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.committer.stop()
            if provider is not None:
                await provider.aclose()
            self.dispatcher = None
            self.flow_engine = None
            self.webhook_sender = None

    async def _follow_settings(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SETTINGS_CHECK_SECONDS)
            try:
                await asyncio.to_thread(self.refresh_settings)
            except Exception:
                log.exception("reading the settings' revision failed; will try again")

    async def _sweep_inbox(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_SECONDS)
            try:
                await asyncio.to_thread(self.sweep_inbox_once)
            except Exception:
                log.exception("inbox sweep failed; will try again")

    def sweep_inbox_once(self) -> int:
        """Apply stored reports that outran their batch; forget old nonces; expire the
        sign-ups past CONFIRMATION_HOURS. Returns applied."""
        applied = 0
        with self.database.read() as session:
            pending = inbox.unprocessed_events(session)
        for event in pending:
            try:
                with self.database.write() as session:
                    applied += inbox.retry_event(
                        session,
                        event,
                        stored_event(event.kind, event.payload),
                        self.settings.invalid_after_failures,
                    )
            except Exception as exc:
                if inbox.is_database_trouble(exc):
                    raise
                # Otherwise it would fail again at every sweep, ahead of every event after it.
                reason = inbox.inapplicable_reason(exc)
                log.warning("stored webhook event %d cannot be applied: %s", event.id, reason)
                with self.database.write() as session:
                    inbox.mark_inapplicable(session.connection(), event.dedupe_key, reason)
        horizon = utcnow() - timedelta(seconds=2 * self.settings.webhook_max_age_seconds)
        with self.database.write() as session:
            inbox.forget_nonces(session, horizon)
            expired = expire_due(session)
        if expired:
            log.info("%d sign-ups expired unconfirmed", expired)
        return applied
