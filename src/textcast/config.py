"""The one typed Settings object, read from the environment and `.env`."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

REGION_HOSTS = {
    "us": "https://us.sms.api.sinch.com",
    "eu": "https://eu.sms.api.sinch.com",
    "au": "https://au.sms.api.sinch.com",
    "br": "https://br.sms.api.sinch.com",
    "ca": "https://ca.sms.api.sinch.com",
}


class DeliveryReportMode(StrEnum):
    NONE = "none"
    PER_RECIPIENT = "per_recipient"
    PER_RECIPIENT_FINAL = "per_recipient_final"


class SettingsError(Exception):
    """A configuration value is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite:///./textcast.db"

    # Sinch. The tutorial's names (SINCH_SERVICE_PLAN_ID, SINCH_API_TOKEN, SINCH_BASE_URL,
    # SINCH_NUMBER) are the primary names.
    sinch_service_plan_id: str | None = None
    sinch_api_token: SecretStr | None = None
    sinch_region: str | None = None
    sinch_base_url: str | None = None
    sinch_number: str | None = None
    sinch_webhook_secret: SecretStr | None = None
    sinch_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0

    base_url: str | None = None
    """Public URL of this server, used for Sinch callbacks. Defaults to http://{host}:{port}."""
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000

    send_rate: Annotated[float, Field(ge=0)] = 30.0
    """Message parts per second the dispatcher may send (recipients x parts); 0 means no limit."""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 1000
    delivery_report: DeliveryReportMode = DeliveryReportMode.PER_RECIPIENT_FINAL
    default_region: Annotated[str, Field(min_length=2, max_length=2)] = Field(
        default="US", validation_alias=AliasChoices("DEFAULT_REGION", "DEFAULT_COUNTRY")
    )
    dispatcher_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """Batches in flight at once; the token bucket still bounds the rate."""
    dispatcher_poll_seconds: Annotated[float, Field(gt=0)] = 0.5

    # Keywords on inbound messages (comma-separated; matched on the whole message, ignoring case,
    # spaces and punctuation) and the replies they get.
    opt_out_keywords: str = "STOP,STOPALL,UNSUBSCRIBE,CANCEL,END,QUIT,OPTOUT,OPT-OUT,REVOKE,REMOVE"
    opt_in_keywords: str = "START,UNSTOP,YES"
    help_keywords: str = "HELP,INFO"
    brand_name: Annotated[str, Field(min_length=1, max_length=40)] = "textcast"
    help_contact: Annotated[str, Field(max_length=80)] = "support@example.com"
    opt_out_reply: str = (
        "{brand}: you are unsubscribed and will receive no more messages. Reply START to rejoin."
    )
    opt_in_reply: str = (
        "{brand}: you are subscribed again. Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )
    help_reply: str = (
        "{brand}: help at {contact}. Msg & data rates may apply. Reply STOP to opt out."
    )
    reply_period_hours: Annotated[float, Field(ge=0)] = 24.0
    """A number gets each kind of keyword reply at most once per period."""
    keyword_replies_per_hour: int = 500
    """Keyword replies to all numbers together per rolling hour; 0: no cap. They also count
    toward DAILY_RECIPIENT_QUOTA. A keyword beyond either is applied, but not answered."""

    # Sign-ups by form and by keyword, and their double opt-in.
    confirm_keywords: str = "Y,YES"
    """Replies that confirm the number's latest pending sign-up. With no sign-up pending, a
    word that is also an opt-in keyword (YES) keeps that meaning."""
    confirmation_hours: Annotated[float, Field(gt=0)] = 72.0
    """A sign-up not confirmed within this many hours expires."""
    signup_limit_per_ip: str = "20/hour"
    """Form submissions per client address (a shop's counter tablet may need more)."""
    signup_limit_per_number: str = "5/day"
    """Form submissions per phone number, whatever the address. A number also gets at most one
    confirmation text per 24 hours."""
    form_max_body_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 16 * 1024
    """The largest form submission accepted (413 above)."""

    # List hygiene.
    invalid_after_failures: Annotated[int, Field(ge=0)] = 2
    """Permanent delivery failures in a row after which a contact becomes `invalid`; 0: never."""

    # Campaign authoring: send windows, prices, frequency cap, short links.
    quiet_hours: str = "08:00-21:00"
    """The send window in the recipient's local time, unless a rule below says otherwise."""
    quiet_hours_rules: dict[str, str] = {}
    """JSON: windows per country or US state, e.g. `{"FR": "08:00-20:00", "US-FL": ...}`,
    over the built-in table."""
    prices: dict[str, float] = {}
    """JSON: price of one SMS part per destination country, over the built-in estimates."""
    price_currency: Annotated[str, Field(min_length=3, max_length=3)] = "USD"
    price_default: Annotated[float, Field(ge=0)] = 0.05
    """Price of one part to a country the table does not list."""
    frequency_cap: Annotated[int, Field(ge=0)] = 0
    """At most this many marketing messages per number per window; 0: no cap."""
    frequency_window_hours: Annotated[float, Field(gt=0)] = 168.0
    short_link_base: str | None = None
    """With a value (e.g. https://go.example.com), URLs in bodies become `{base}/l/{code}`
    per recipient, and clicks are counted."""

    secret_key: SecretStr | None = None
    """Keys the suppression hashes (and later sessions). Unset: a random key kept in
    `SECRET_KEY_FILE`, created on first use."""
    secret_key_file: str = ".textcast-secret"  # noqa: S105 - a path, not a secret

    webhook_max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    webhook_max_age_seconds: Annotated[int, Field(ge=1)] = 300
    webhook_basic_auth: SecretStr | None = None
    """`user:password` Sinch sends with each callback (set up by the Sinch account manager)."""
    webhook_path_token: SecretStr | None = None
    """A secret path segment: callbacks go to `/api/webhooks/{token}/delivery-reports` and
    `/api/webhooks/{token}/inbound`; the plain paths then refuse them."""
    webhooks_unauthenticated: bool = False
    """Accept anonymous callbacks even with Sinch credentials set (not advised: anyone could
    post fake STOP, START and HELP messages). Logged as a warning at every start."""

    # Outbound webhooks: the event stream posted to subscribers' endpoints.
    webhook_allow_private: bool = False
    """Let subscriptions post to loopback, link-local and private addresses (a receiver on
    the same host or network). Off: such URLs are refused, when saved and at every attempt."""
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    """How long an endpoint has to answer one delivery."""
    webhook_retry_hours: Annotated[float, Field(gt=0)] = 72.0
    """Failed deliveries are retried (5xx, 429, timeouts, connection errors) for this long;
    an endpoint failing for this long is disabled and its owner told."""
    webhook_first_retry_seconds: Annotated[float, Field(gt=0)] = 5.0
    """The first retry's delay; each next one waits about six times longer (up to 12 hours)."""
    webhook_concurrency: Annotated[int, Field(ge=1, le=256)] = 32
    """Deliveries in flight at once, per process that sends them."""

    # Accounts and abuse limits. Rates are `N/period` (e.g. `5/15 minutes`, `600/minute`).
    admin_email: str = "admin@textcast.local"
    """The admin `textcast serve` creates on an empty database. Its password is shown once
    on a terminal; when the output is not a terminal, it is written to
    `.textcast-admin-password` beside `SECRET_KEY_FILE` (readable by the owner only)."""
    session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0
    login_limit_per_account: str = "5/15 minutes"
    """Sign-in attempts on one account from one address; past it, from all addresses
    together, except the first attempt of an address new to the account."""
    login_limit_per_ip: str = "20/15 minutes"
    """Sign-in attempts from one client address, on any accounts (successful ones too)."""
    api_rate_limit: str = "1200/minute"
    """Requests per API key (or per signed-in user)."""
    link_rate_limit: str = "120/minute"
    """Requests of short links (`/l/{code}`) per client address: generous, since the people
    behind one mobile carrier's address may all open a campaign's link at once."""
    rate_limit_storage: str = "memory://"
    """Where the counters live: `memory://` (one process) or e.g. `redis://host:6379` (shared;
    needs the `redis` package)."""
    max_recipients_per_campaign: Annotated[int, Field(ge=0)] = 250_000
    """0: no limit."""
    daily_recipient_quota: Annotated[int, Field(ge=0)] = 1_000_000
    """Recipients launched per rolling 24 hours, all campaigns together; 0: no limit."""
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    """Request bodies of the API, except CSV imports."""
    max_import_bytes: Annotated[int, Field(ge=1024)] = 512 * 1024 * 1024
    log_format: str = "text"
    """`text` or `json` (one JSON object per line)."""

    @field_validator("sinch_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        region = value.strip().lower()
        if region not in REGION_HOSTS:
            raise ValueError(f"must be one of {', '.join(REGION_HOSTS)}")
        return region

    @field_validator("opt_out_reply", "opt_in_reply", "help_reply")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(brand="", contact="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{brand}} and {{contact}} may be used ({exc})") from None
        return value

    @field_validator("opt_out_keywords", "opt_in_keywords", "help_keywords", "confirm_keywords")
    @classmethod
    def _some_keywords(cls, value: str) -> str:
        if not [word for word in value.split(",") if word.strip()]:
            raise ValueError("must list at least one keyword")
        return value

    @field_validator(
        "login_limit_per_account",
        "login_limit_per_ip",
        "api_rate_limit",
        "link_rate_limit",
        "signup_limit_per_ip",
        "signup_limit_per_number",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("must read like `5/15 minutes` or `600/minute`") from None
        return value

    @field_validator("keyword_replies_per_hour", mode="before")
    @classmethod
    def _replies_per_hour(cls, value: object) -> object:
        text = str(value).strip()
        if not text.isdigit():
            raise ValueError("must be a whole number of replies per hour, such as 500 (0: no cap)")
        return int(text)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError("must be text or json")
        return value.lower()

    @field_validator("webhook_basic_auth")
    @classmethod
    def _user_and_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("must be user:password")
        return value

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not (value.startswith("sqlite") or value.startswith("postgresql+psycopg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        from textcast.domain.campaigns.send_window import parse_window

        parse_window(value)
        return value

    @field_validator("quiet_hours_rules")
    @classmethod
    def _windows(cls, value: dict[str, str]) -> dict[str, str]:
        from textcast.domain.campaigns.send_window import Rules

        Rules.from_table("08:00-21:00", value)  # names a bad key or window
        return value

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, float]) -> dict[str, float]:
        for country, price in value.items():
            if len(country) != 2 or not country.isalpha() or price < 0:
                raise ValueError(f"{country}: give two-letter countries and prices >= 0")
        return {country.upper(): price for country, price in value.items()}

    @field_validator("base_url", "sinch_base_url", "short_link_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> Settings:
        if bool(self.sinch_service_plan_id) != bool(self.sinch_api_token):
            missing = "SINCH_API_TOKEN" if self.sinch_service_plan_id else "SINCH_SERVICE_PLAN_ID"
            raise ValueError(f"{missing} must be set together with the other Sinch credential")
        return self

    @property
    def uses_simulator(self) -> bool:
        return not self.sinch_service_plan_id

    @property
    def webhook_authentication(self) -> bool:
        """Whether callbacks must prove who sent them (signature, basic auth or path token)."""
        return any(
            value is not None and value.get_secret_value()
            for value in (
                self.sinch_webhook_secret,
                self.webhook_basic_auth,
                self.webhook_path_token,
            )
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def sinch_api_url(self) -> str:
        if self.sinch_base_url:
            return self.sinch_base_url
        return REGION_HOSTS[self.sinch_region or "us"]


def instance_secret(settings: Settings) -> bytes:
    """SECRET_KEY, or the key in SECRET_KEY_FILE (made once, readable by the owner only)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.secret_key_file)
    if not path.exists():
        # Written aside and linked into place: processes starting together (`serve --workers`)
        # never read a half-written key, and all of them end up with the first one linked.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


WEBHOOKS_OPEN = """\
Sinch credentials are set (SINCH_SERVICE_PLAN_ID), but no webhook authentication is: anyone \
could post fake STOP, START and HELP messages and delivery reports to /api/webhooks/. \
Set at least one of:
  SINCH_WEBHOOK_SECRET  the HMAC callback signing secret: ask your Sinch account manager to \
enable signed callbacks for your service plan, and set the secret they give you here;
  WEBHOOK_BASIC_AUTH    user:password that Sinch sends with each callback: choose them and have \
your Sinch account manager set them up for your callbacks;
  WEBHOOK_PATH_TOKEN    a long random token (e.g. from `openssl rand -hex 32`) that becomes part \
of the callback URLs: register {delivery_reports} and {inbound} at Sinch.
To accept anonymous callbacks anyway (not advised), set WEBHOOKS_UNAUTHENTICATED=true."""


def check_webhook_authentication(settings: Settings) -> None:
    """Real Sinch credentials with anonymous webhooks refuse to serve (docs/sending-protocol.md,
    "Webhook protocol")."""
    if (
        settings.uses_simulator
        or settings.webhook_authentication
        or settings.webhooks_unauthenticated
    ):
        return
    base = f"{settings.public_url}/api/webhooks/<token>"
    raise SettingsError(
        WEBHOOKS_OPEN.format(delivery_reports=f"{base}/delivery-reports", inbound=f"{base}/inbound")
    )


def derived_secret(settings: Settings, purpose: str) -> str:
    """A secret for one purpose, the same in every process of this installation (all of them
    read the one instance secret), and telling nothing about the instance secret or the others."""
    digest = hmac.new(instance_secret(settings), purpose.encode(), hashlib.sha256)
    return digest.hexdigest()


def webhook_secret(settings: Settings) -> str | None:
    """The HMAC secret callbacks are signed with: SINCH_WEBHOOK_SECRET; in simulator mode with
    no webhook authentication configured (and not WEBHOOKS_UNAUTHENTICATED), a derived one the
    built-in simulator signs with, so that simulated webhooks are never anonymous either."""
    if (
        settings.sinch_webhook_secret is not None
        and settings.sinch_webhook_secret.get_secret_value()
    ):
        return settings.sinch_webhook_secret.get_secret_value()
    if (
        settings.uses_simulator
        and not settings.webhook_authentication
        and not settings.webhooks_unauthenticated
    ):
        return derived_secret(settings, "textcast simulator webhook secret v1")
    return None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one message naming each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            reason = error["msg"].removeprefix("Value error, ")
            name = field.upper() if field != "settings" else "settings"
            problems.append(f"{name}: {reason}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
