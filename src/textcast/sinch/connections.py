"""Can we reach Sinch with our credentials? One cheap read, told as a sentence one can act on.

The check lists batches (one per page): it needs a valid service plan id and token in the right
region, and changes nothing. It is tried once, without the client's retries, so the answer says
what the first attempt met; each failure kind gets a machine code (`Problem`) and a sentence
naming the variables to look at. The token never appears in either.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

import httpx

from textcast.sinch.client import SinchClient
from textcast.sinch.errors import (
    SinchBadResponse,
    SinchConnectError,
    SinchError,
    SinchForbidden,
    SinchNotFound,
    SinchRateLimited,
    SinchServerError,
    SinchUnauthorized,
    SinchUnknownOutcome,
)

CREDENTIALS = "SINCH_SERVICE_PLAN_ID, SINCH_API_TOKEN and SINCH_REGION or SINCH_BASE_URL"
MAX_CONNECT_SECONDS = 5.0


class Problem(StrEnum):
    INVALID_CONFIGURATION = "invalid_configuration"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    UNKNOWN_SERVICE_PLAN = "unknown_service_plan"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION_REFUSED = "connection_refused"
    DNS_FAILURE = "dns_failure"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    UNEXPECTED_ANSWER = "unexpected_answer"


@dataclass(frozen=True, slots=True)
class SinchAccount:
    """Where the API is and who we are there."""

    base_url: str
    service_plan_id: str
    api_token: str = field(repr=False)
    simulated: bool = False
    url_setting: str = "SINCH_REGION or SINCH_BASE_URL"
    """The variables that set `base_url`, for the sentences that say what to check."""


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    problem: Problem | None
    """None when the connection works."""
    message: str
    host: str
    """`host:port` of the API, as the check addressed it."""
    status: int | None = None
    """The HTTP status the API answered with, if it answered at all."""
    latency_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def check_connection(account: SinchAccount, *, timeout: float) -> ConnectionCheck:
    host = api_host(account.base_url)
    try:
        client = SinchClient(
            account.base_url,
            account.service_plan_id,
            account.api_token,
            timeout=timeout,
            connect_timeout=min(timeout, MAX_CONNECT_SECONDS),
            max_retries=0,
        )
    except ValueError as exc:
        return ConnectionCheck(
            Problem.INVALID_CONFIGURATION,
            f"The check could not run ({exc}): check SINCH_SERVICE_PLAN_ID.",
            host,
        )
    started = time.perf_counter()
    try:
        async with client:
            await client.list_batches(page_size=1)
    except SinchError as exc:
        problem, message = explain(exc, account, timeout)
        return ConnectionCheck(problem, message, host, exc.status, _since(started))
    latency = _since(started)
    where = "the Sinch simulator" if account.simulated else "Sinch"
    return ConnectionCheck(
        None,
        f"Connected to {where} at {host} in {latency} ms: "
        "the service plan and API token are accepted.",
        host,
        200,
        latency,
    )


def explain(error: SinchError, account: SinchAccount, timeout: float) -> tuple[Problem, str]:
    """The problem behind a failed check, and a sentence saying what to change."""
    host, url_setting = api_host(account.base_url), account.url_setting
    if isinstance(error, SinchConnectError | SinchUnknownOutcome):
        return _transport_problem(error, account, timeout)
    answered = f"{host} answered {error.status}" + (f" ({error.code})" if error.code else "")
    if isinstance(error, SinchUnauthorized):
        return Problem.UNAUTHORIZED, (
            f"Sinch refused the API token: {answered}. Check {CREDENTIALS}; the token belongs "
            "to one service plan, and a service plan works only in its own region."
        )
    if isinstance(error, SinchForbidden):
        return Problem.FORBIDDEN, (
            f"Sinch accepted the token but refused the request: {answered}: {error.text}. "
            "The account may be blocked or lack access to the SMS API; ask Sinch."
        )
    if isinstance(error, SinchNotFound):
        return Problem.UNKNOWN_SERVICE_PLAN, (
            f"Sinch does not know this service plan: {answered} Not Found. Check "
            f"SINCH_SERVICE_PLAN_ID and {url_setting} (each region has its own plans)."
        )
    if isinstance(error, SinchRateLimited):
        return Problem.RATE_LIMITED, (
            f"Sinch is rate limiting this service plan: {answered} Too Many Requests. "
            "The credentials are not in question; try again in a minute."
        )
    if isinstance(error, SinchServerError):
        return Problem.SERVER_ERROR, (
            f"Sinch had an error of its own: {answered}. Nothing is wrong with the settings "
            "as far as we can tell; try again later, and check Sinch's status page."
        )
    if isinstance(error, SinchBadResponse):
        return Problem.UNEXPECTED_ANSWER, (
            f"{host} answered {error.status}, but not like Sinch's SMS API would. "
            f"Check {url_setting}."
        )
    return Problem.UNEXPECTED_ANSWER, (
        f"{answered}, which the SMS API does not answer to a list of batches. "
        f"Check {url_setting} (it should be the API's root, such as "
        "https://us.sms.api.sinch.com)."
    )


def _transport_problem(
    error: SinchError, account: SinchAccount, timeout: float
) -> tuple[Problem, str]:
    host, url_setting = api_host(account.base_url), account.url_setting
    causes = _causes(error)
    if any(isinstance(c, httpx.TimeoutException) for c in causes):
        connecting = any(isinstance(c, httpx.ConnectTimeout | httpx.PoolTimeout) for c in causes)
        waited = min(timeout, MAX_CONNECT_SECONDS) if connecting else timeout
        what = "connecting to" if connecting else "waiting for an answer from"
        return Problem.TIMEOUT, (
            f"Timed out after {waited:g} s {what} {host}. Sinch may be slow, or a firewall "
            "drops the traffic; check the network and SINCH_TIMEOUT_SECONDS."
        )
    if any(isinstance(c, ssl.SSLError) for c in causes):
        reason = next(c for c in causes if isinstance(c, ssl.SSLError))
        return Problem.TLS_ERROR, (
            f"The TLS handshake with {host} failed ({_ssl_reason(reason)}). Check that "
            f"{url_setting} has the right scheme (https:// for Sinch), and that this machine "
            "trusts the server's certificate (no intercepting proxy)."
        )
    if any(isinstance(c, socket.gaierror) for c in causes):
        return Problem.DNS_FAILURE, (
            f"The name {host.rsplit(':', 1)[0]} could not be resolved (DNS). Check "
            f"{url_setting} and this machine's DNS."
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        running = " and that the simulator runs there" if account.simulated else ""
        return Problem.CONNECTION_REFUSED, (
            f"The connection to {host} was refused: nothing listens there. Check "
            f"{url_setting}{running}."
        )
    if isinstance(error, SinchUnknownOutcome):
        return Problem.CONNECTION_FAILED, (
            f"{host} accepted the connection but dropped it before answering. A proxy or "
            f"firewall may be in the way; check {url_setting}."
        )
    return Problem.CONNECTION_FAILED, (
        f"Could not connect to {host} ({_innermost(causes)}). Check {url_setting} and the network."
    )


def api_host(base_url: str) -> str:
    """`host:port` of a URL, without any user or password it may carry."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "?"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _causes(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _ssl_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {error.verify_message}"
    return (error.reason or type(error).__name__).lower().replace("_", " ")


def _innermost(causes: list[BaseException]) -> str:
    last = causes[-1]
    return f"{type(last).__name__}: {last}" if str(last) else type(last).__name__


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
