"""`/api/v1/settings`: the configuration in effect (no secrets), the settings an admin changes
while textcast runs, and a Sinch connection check.

Most settings come from the environment and `.env` only. Those in `editable_settings.py`
(sender, quiet hours, prices, keyword replies, limits) are changed here by an admin
(`services/settings.py`): stored in the database, audited, in effect on every node within
seconds. Secrets (the API token, the webhook secret, basic auth, the path token, SECRET_KEY)
are reported as set or not set, never shown; the service plan id is partly masked.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field

from textcast import editable_settings
from textcast.config import Settings, webhook_secret
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission
from textcast.domain.campaigns.send_window import WindowBasis, window_basis
from textcast.editable_settings import Group, Kind, SettingState, Source
from textcast.runtime import SIMULATOR_MOUNT, Runtime, sinch_account
from textcast.services import settings as settings_services
from textcast.sinch import connections
from textcast.sinch.connections import ConnectionCheck, Problem
from textcast.web.api import path_segments  # noqa: F401 - {name:setting_name} below
from textcast.web.auth import Administrator, guard
from textcast.web.deps import RuntimeDep, SettingsDep
from textcast.web.errors import problems
from textcast.webhook_urls import DELIVERY_REPORTS, INBOUND, WEBHOOKS_PREFIX

router = APIRouter(
    prefix="/api/v1/settings", tags=["settings"], dependencies=[guard(Permission.READ)]
)


class SinchOut(BaseModel):
    simulated: bool = Field(description="No Sinch credentials: the built-in simulator is used.")
    region: str | None = Field(
        description="`SINCH_REGION`; null when unused (SINCH_BASE_URL set, or simulated)."
    )
    base_url: str = Field(description="The API root in effect.")
    base_url_from: str = Field(description="What sets `base_url`.")
    service_plan_id: str | None = Field(description="`SINCH_SERVICE_PLAN_ID`, partly masked.")
    api_token_set: bool = Field(description="Whether `SINCH_API_TOKEN` is set (never shown).")
    timeout_seconds: float
    sender: str | None = Field(description="`SINCH_NUMBER`, the default `from`.")
    delivery_report: str


class WebhooksOut(BaseModel):
    hmac_signature: bool = Field(description="`SINCH_WEBHOOK_SECRET` is set.")
    basic_auth: bool = Field(description="`WEBHOOK_BASIC_AUTH` is set.")
    path_token: bool = Field(description="`WEBHOOK_PATH_TOKEN` is set.")
    simulator_signature: bool = Field(
        description="Simulator mode with none of the three: the built-in simulator signs its "
        "callbacks with a secret derived from the instance secret, and they are checked."
    )
    unauthenticated: bool = Field(
        description="`WEBHOOKS_UNAUTHENTICATED`: callbacks are accepted from anyone."
    )
    delivery_reports_url: str = Field(
        description="With a path token, `{WEBHOOK_PATH_TOKEN}` stands for it."
    )
    inbound_url: str
    max_age_seconds: int


class SendingOut(BaseModel):
    send_rate: float = Field(description="Message parts per second; 0: unlimited.")
    batch_size: int
    concurrency: int
    default_region: str
    frequency_cap: int = Field(description="0: no cap.")
    frequency_window_hours: float
    short_link_base: str | None


class WindowRuleOut(BaseModel):
    key: str = Field(description='A country ("US"), a US state ("US-FL"), or "US-*".')
    window: str
    source: WindowBasis = Field(
        description="`legal limit`; `QUIET_HOURS` or `QUIET_HOURS_RULES` as configured; "
        "`narrowed by law`: the configured window cut by a legal limit; `state unknown`: the "
        "narrowest of the country's states."
    )


class QuietHoursOut(BaseModel):
    default_window: str = Field(description="`QUIET_HOURS`, in each recipient's local time.")
    overrides: dict[str, str] = Field(description="`QUIET_HOURS_RULES` as configured.")
    rules: list[WindowRuleOut] = Field(description="The windows in effect, narrowed by law.")


class PriceOut(BaseModel):
    country: str
    price: Decimal
    source: Literal["PRICES", "estimate"]


class PricesOut(BaseModel):
    currency: str
    default: Decimal = Field(description="`PRICE_DEFAULT`: countries the table does not list.")
    estimate: bool = Field(description="Some prices are built-in estimates, not your contract.")
    prices: list[PriceOut]


class LimitsOut(BaseModel):
    api_rate_limit: str
    login_limit_per_account: str
    login_limit_per_ip: str
    max_recipients_per_campaign: int = Field(description="0: no limit.")
    daily_recipient_quota: int = Field(description="0: no limit.")
    keyword_replies_per_hour: int = Field(description="0: no cap.")
    max_request_bytes: int
    max_import_bytes: int
    session_hours: float
    secret_key_set: bool = Field(description="`SECRET_KEY` is set (else a generated file).")


class EditableSettingOut(BaseModel):
    """A setting an admin may change while textcast runs, and where its value comes from."""

    name: str = Field(description="The environment variable, e.g. `SEND_RATE`.")
    group: Group
    label: str = Field(description="What the dashboard calls it.")
    description: str
    kind: Kind = Field(
        description="`text`, `long_text`, `number`, `whole_number`, or `json` (an object)."
    )
    value: Any = Field(description="In effect on every node (null: not set).")
    source: Source = Field(
        description="`default`: textcast's own; `environment`: the environment or `.env`; "
        "`dashboard`: changed by an admin (in the dashboard, the API or the command line)."
    )
    changed_by: str | None = Field(description="With `dashboard`: who changed it.")
    changed_at: datetime | None = Field(description="With `dashboard`: when.")
    environment_value: Any = Field(
        description="What a reset gives back: the environment's value, or the default."
    )

    @classmethod
    def of(cls, state: SettingState) -> EditableSettingOut:
        return cls(
            name=state.item.name,
            group=state.item.group,
            label=state.item.label,
            description=state.item.help,
            kind=state.item.kind,
            value=state.value,
            source=state.source,
            changed_by=state.changed_by,
            changed_at=state.changed_at,
            environment_value=state.environment_value,
        )


class SettingsOut(BaseModel):
    """What is configured; secrets only as set or not."""

    sinch: SinchOut
    webhooks: WebhooksOut
    sending: SendingOut
    quiet_hours: QuietHoursOut
    prices: PricesOut
    limits: LimitsOut
    editable: list[EditableSettingOut] = Field(
        description="The settings an admin may change while textcast runs (`PATCH`), each "
        "with its value in effect and where it comes from."
    )
    revision: int = Field(
        description="Changes made to them so far (0: none); -1 before this node first read them."
    )

    @classmethod
    def of(cls, runtime: Runtime) -> SettingsOut:
        settings = runtime.settings
        in_effect = runtime.in_effect
        states = editable_settings.states(runtime.environment, settings, in_effect.stored)
        return cls(
            editable=[EditableSettingOut.of(state) for state in states],
            revision=in_effect.revision,
            sinch=_sinch(settings),
            webhooks=_webhooks(settings),
            sending=SendingOut(
                send_rate=settings.send_rate,
                batch_size=settings.batch_size,
                concurrency=settings.dispatcher_concurrency,
                default_region=settings.default_region,
                frequency_cap=settings.frequency_cap,
                frequency_window_hours=settings.frequency_window_hours,
                short_link_base=settings.short_link_base,
            ),
            quiet_hours=_quiet_hours(runtime),
            prices=_prices(runtime),
            limits=LimitsOut(
                api_rate_limit=settings.api_rate_limit,
                login_limit_per_account=settings.login_limit_per_account,
                login_limit_per_ip=settings.login_limit_per_ip,
                max_recipients_per_campaign=settings.max_recipients_per_campaign,
                daily_recipient_quota=settings.daily_recipient_quota,
                keyword_replies_per_hour=settings.keyword_replies_per_hour,
                max_request_bytes=settings.max_request_bytes,
                max_import_bytes=settings.max_import_bytes,
                session_hours=settings.session_hours,
                secret_key_set=settings.secret_key is not None,
            ),
        )


class ConnectionCheckOut(BaseModel):
    ok: bool
    problem: Problem | None = Field(description="What is wrong, as a code; null when ok.")
    message: str = Field(description="What happened and what to change, in a sentence or two.")
    host: str = Field(description="`host:port` of the API the check called.")
    status: int | None = Field(description="The HTTP status the API answered, if any.")
    latency_ms: int | None
    simulated: bool

    @classmethod
    def of(cls, check: ConnectionCheck, simulated: bool) -> ConnectionCheckOut:
        return cls(
            ok=check.ok,
            problem=check.problem,
            message=check.message,
            host=check.host,
            status=check.status,
            latency_ms=check.latency_ms,
            simulated=simulated,
        )


@router.get("")
def read_settings(runtime: RuntimeDep) -> SettingsOut:
    """The configuration in effect.

    The settings listed in `editable` are changed with `PATCH`; the others in the environment
    or `.env`, with a restart."""
    return SettingsOut.of(runtime)


_CHANGES_EXAMPLE = {"SINCH_NUMBER": "+12025550123", "QUIET_HOURS": "09:00-20:00", "PRICES": {}}


@router.patch("", responses=problems(400))
def change_settings(
    changes: Annotated[
        dict[str, Any],
        Body(
            description="Setting names (see `editable`) and their new values; `null` gives a "
            "setting back to the environment's value. All are checked together: one refused "
            "value refuses them all, and nothing changes. JSON settings (`QUIET_HOURS_RULES`, "
            "`PRICES`) take an object, or the same as JSON text.",
            examples=[_CHANGES_EXAMPLE],
        ),
    ],
    runtime: RuntimeDep,
    principal: Administrator,
) -> SettingsOut:
    """Change settings on every node, without a restart (admins).

    In effect at once on this node, and on the others within a few seconds. Audited as
    `settings.update`, with each setting's old and new value."""
    current = settings_services.change(
        runtime.database, Actor.of(principal), runtime.environment, changes
    )
    runtime.adopt(current)
    return SettingsOut.of(runtime)


@router.delete("/{name:setting_name}", responses=problems(400))
def reset_setting(
    name: Annotated[str, Path(description="The setting, e.g. `SINCH_NUMBER` (any case).")],
    runtime: RuntimeDep,
    principal: Administrator,
) -> SettingsOut:
    """Give one setting back to the environment's value, or textcast's default (admins).

    Same as `PATCH` with `{"NAME": null}`; a setting the dashboard never changed is left as
    it is (no audit entry)."""
    current = settings_services.reset(
        runtime.database, Actor.of(principal), runtime.environment, name
    )
    runtime.adopt(current)
    return SettingsOut.of(runtime)


@router.post("/sinch-check")
async def check_sinch(settings: SettingsDep, _: Administrator) -> ConnectionCheckOut:
    """List one batch with the configured credentials and say what went wrong, if anything.

    Answers 200 whatever Sinch said: `ok`, `problem` and `message` describe the connection."""
    check = await connections.check_connection(
        sinch_account(settings), timeout=settings.sinch_timeout_seconds
    )
    return ConnectionCheckOut.of(check, settings.uses_simulator)


def _sinch(settings: Settings) -> SinchOut:
    account = sinch_account(settings)
    if settings.sinch_base_url:
        origin = "SINCH_BASE_URL"
    elif settings.uses_simulator:
        origin = f"the built-in simulator: BASE_URL + {SIMULATOR_MOUNT}"
    else:
        origin = "SINCH_REGION"
    plan = settings.sinch_service_plan_id
    region = settings.sinch_region or "us"
    return SinchOut(
        simulated=settings.uses_simulator,
        region=None if account.simulated or settings.sinch_base_url else region,
        base_url=without_credentials(account.base_url),
        base_url_from=origin,
        service_plan_id=mask(plan) if plan else None,
        api_token_set=bool(settings.sinch_api_token),
        timeout_seconds=settings.sinch_timeout_seconds,
        sender=settings.sinch_number,
        delivery_report=settings.delivery_report.value,
    )


def _webhooks(settings: Settings) -> WebhooksOut:
    token = "/{WEBHOOK_PATH_TOKEN}" if settings.webhook_path_token is not None else ""
    base = without_credentials(settings.public_url) + WEBHOOKS_PREFIX + token
    return WebhooksOut(
        hmac_signature=bool(settings.sinch_webhook_secret),
        basic_auth=settings.webhook_basic_auth is not None,
        path_token=settings.webhook_path_token is not None,
        simulator_signature=not settings.sinch_webhook_secret and bool(webhook_secret(settings)),
        unauthenticated=not settings.webhook_authentication and settings.webhooks_unauthenticated,
        delivery_reports_url=f"{base}/{DELIVERY_REPORTS}",
        inbound_url=f"{base}/{INBOUND}",
        max_age_seconds=settings.webhook_max_age_seconds,
    )


def _quiet_hours(runtime: Runtime) -> QuietHoursOut:
    overrides = runtime.settings.quiet_hours_rules
    rules = runtime.policy.rules
    basis = window_basis(rules, overrides)
    return QuietHoursOut(
        default_window=str(rules.default),
        overrides=dict(overrides),
        rules=[
            WindowRuleOut(key=key, window=str(window), source=basis[key])
            for key, window in sorted(rules.windows.items())
        ],
    )


def _prices(runtime: Runtime) -> PricesOut:
    table = runtime.policy.prices
    configured = runtime.settings.prices
    return PricesOut(
        currency=table.currency,
        default=_money(table.default),
        estimate=table.estimate,
        prices=[
            PriceOut(
                country=country,
                price=_money(price),
                source="PRICES" if country in configured else "estimate",
            )
            for country, price in sorted(table.prices.items())
        ],
    )


def mask(value: str) -> str:
    """Enough of an id to recognise it, not enough to use it: `jd63…2ef3`."""
    keep = 4 if len(value) >= 16 else 2 if len(value) >= 8 else 0
    return f"{value[:keep]}…{value[-keep:]}" if keep else "…"


def without_credentials(url: str) -> str:
    """A URL without any `user:password@`, query or fragment it may carry."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _money(value: float) -> Decimal:
    # The table keeps floats; repr gives the shortest decimal that reads back the same.
    return Decimal(repr(value))
