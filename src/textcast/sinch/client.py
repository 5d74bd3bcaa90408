"""Async client for Sinch's xms v1 REST API, authenticated by service plan id and bearer token.

Retries follow what each request risks. GET and DELETE are idempotent, so anything transient is
retried. POST /batches is not (Sinch has no idempotency key): a 429 or a failed connect is retried
as is, because nothing was processed; after a 5xx, a read timeout or a dropped connection the batch
may exist, so we ask Sinch by `client_reference` before sending it again, and without a reference
we report the outcome as unknown rather than risk texting everyone twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Literal, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from textcast import __version__
from textcast.sinch.errors import (
    SinchBadResponse,
    SinchConnectError,
    SinchError,
    SinchRateLimited,
    SinchServerError,
    SinchUnknownOutcome,
    error_from_response,
)
from textcast.sinch.models import (
    Batch,
    BatchPage,
    BatchReport,
    BatchRequest,
    DryRunResult,
    InboundMessage,
    InboundPage,
    RecipientReport,
    RecipientReportPage,
    SinchModel,
    describe_invalid,
)

log = logging.getLogger("textcast.sinch")

Sleep = Callable[[float], Awaitable[None]]
Model = TypeVar("Model", bound=SinchModel)

# Sinch's clock is not ours, and a client_reference names one batch, so a lookup window much wider
# than "just before the first attempt" costs nothing and stops a skewed clock hiding a batch.
LOOKUP_MARGIN = timedelta(hours=1)
PAGE_SIZE_MAX = 100

# Raised before any byte of the request reached Sinch.
_NOTHING_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
_TRANSIENT = (SinchRateLimited, SinchServerError, SinchConnectError, SinchUnknownOutcome)


class _QuietHttpxForSinch(logging.Filter):
    """Drops httpx's own "HTTP Request: <full URL>" line for Sinch calls.

    That URL can hold a recipient's number (GET .../delivery_report/{msisdn}); `_attempt` logs
    the same request without it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and len(args) > 1 and "/xms/v1/" in str(args[1]))


_QUIET_HTTPX = _QuietHttpxForSinch()


class SinchClient:
    def __init__(
        self,
        base_url: str,
        service_plan_id: str,
        api_token: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not service_plan_id or quote(service_plan_id, safe="") != service_plan_id:
            raise ValueError("service_plan_id must be a non-empty, URL-safe id")
        if not api_token:
            raise ValueError("api_token must not be empty")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/xms/v1/{service_plan_id}",
            headers={
                "Authorization": f"Bearer {api_token}",
                "Accept": "application/json",
                "User-Agent": f"textcast/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            http2=http2,
        )
        if _QUIET_HTTPX not in logging.getLogger("httpx").filters:
            logging.getLogger("httpx").addFilter(_QUIET_HTTPX)
        self._attempts = max_retries + 1
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- batches -----------------------------------------------------------------------------

    async def send_batch(self, request: BatchRequest) -> Batch:
        body = request.to_wire()
        started = datetime.now(UTC)
        attempt = 0
        while True:
            outcome = await self._exchange("POST", "/batches", "/batches", attempt, None, body)
            if isinstance(outcome, httpx.Response):
                return _accepted_batch(outcome)
            error, last = outcome, attempt + 1 >= self._attempts
            if not isinstance(error, _TRANSIENT):
                raise error  # a 4xx: the same request fails the same way
            # After a 5xx or a lost answer the batch may exist; its reference lets us ask Sinch.
            # (Sinch documents 500 as "not processed", so without a reference we trust that.)
            may_exist = isinstance(error, SinchServerError | SinchUnknownOutcome)
            ask = (request.client_reference or None) if may_exist else None
            if ask is None and (last or isinstance(error, SinchUnknownOutcome)):
                raise error
            # Waiting before the lookup lets a batch Sinch was still creating show up in it.
            await self._wait(attempt, error, "POST", "/batches")
            if ask is not None:
                if (sent := await self._find_sent(ask, started, error)) is not None:
                    return sent
                if last:
                    raise error
            attempt += 1

    async def dry_run(
        self,
        request: BatchRequest,
        per_recipient: bool = False,
        number_of_recipients: int | None = None,
    ) -> DryRunResult:
        # Sending nothing, dry_run is as safe to repeat as a GET.
        params = _query(per_recipient=per_recipient, number_of_recipients=number_of_recipients)
        return await self._fetch(
            DryRunResult, "POST", "/batches/dry_run", params=params, body=request.to_wire()
        )

    async def get_batch(self, batch_id: str) -> Batch:
        return await self._fetch(Batch, "GET", f"/batches/{_segment(batch_id)}")

    async def cancel_batch(self, batch_id: str) -> Batch:
        return await self._fetch(Batch, "DELETE", f"/batches/{_segment(batch_id)}")

    async def list_batches(
        self,
        *,
        client_reference: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        page: int = 0,
        page_size: int = PAGE_SIZE_MAX,
    ) -> BatchPage:
        params = _query(
            client_reference=client_reference,
            start_date=start_date,
            end_date=end_date,
            page=page,
            page_size=page_size,
        )
        return await self._fetch(BatchPage, "GET", "/batches", params=params)

    async def find_batches(self, client_reference: str, since: datetime) -> list[Batch]:
        """Batches carrying this reference created after about `since`, oldest first.

        The window opens LOOKUP_MARGIN before `since`; Sinch lists only the last 14 days.
        """
        found: list[Batch] = []
        page = seen = 0
        while True:
            result = await self.list_batches(
                client_reference=client_reference, start_date=since - LOOKUP_MARGIN, page=page
            )
            seen += len(result.batches)
            # Filter again: a server that ignored the filter must not make us think we sent it.
            found += [b for b in result.batches if b.client_reference == client_reference]
            if not result.batches or seen >= result.count:
                break
            page += 1
        return sorted(found, key=lambda b: b.created_at or datetime.max.replace(tzinfo=UTC))

    # --- delivery reports --------------------------------------------------------------------

    async def get_delivery_report(
        self,
        batch_id: str,
        type: Literal["summary", "full"] = "summary",
        status: Sequence[str] | None = None,
        code: Sequence[int] | None = None,
    ) -> BatchReport:
        params = _query(type=type, status=status, code=code)
        path = f"/batches/{_segment(batch_id)}/delivery_report"
        return await self._fetch(BatchReport, "GET", path, params=params)

    async def get_recipient_delivery_report(self, batch_id: str, msisdn: str) -> RecipientReport:
        base = f"/batches/{_segment(batch_id)}/delivery_report"
        return await self._fetch(
            RecipientReport,
            "GET",
            f"{base}/{_segment(msisdn.strip().removeprefix('+'))}",
            label=f"{base}/{{recipient}}",  # phone numbers stay out of the logs
        )

    async def list_delivery_reports(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: Sequence[str] | None = None,
        code: Sequence[int] | None = None,
        client_reference: str | None = None,
        page: int = 0,
        page_size: int = PAGE_SIZE_MAX,
    ) -> RecipientReportPage:
        params = _query(
            start_date=start_date,
            end_date=end_date,
            status=status,
            code=code,
            client_reference=client_reference,
            page=page,
            page_size=page_size,
        )
        return await self._fetch(RecipientReportPage, "GET", "/delivery_reports", params=params)

    # --- inbounds ----------------------------------------------------------------------------

    async def get_inbound(self, inbound_id: str) -> InboundMessage:
        return await self._fetch(InboundMessage, "GET", f"/inbounds/{_segment(inbound_id)}")

    async def list_inbounds(
        self,
        *,
        to: Sequence[str] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        client_reference: str | None = None,
        page: int = 0,
        page_size: int = PAGE_SIZE_MAX,
    ) -> InboundPage:
        params = _query(
            to=to,
            start_date=start_date,
            end_date=end_date,
            client_reference=client_reference,
            page=page,
            page_size=page_size,
        )
        return await self._fetch(InboundPage, "GET", "/inbounds", params=params)

    # --- transport ---------------------------------------------------------------------------

    async def _fetch(
        self,
        model: type[Model],
        method: str,
        path: str,
        *,
        label: str | None = None,
        params: dict[str, str] | None = None,
        body: dict[str, object] | None = None,
    ) -> Model:
        """Sends a request that is safe to repeat, retrying whatever is transient."""
        label = label or path
        attempt = 0
        while True:
            outcome = await self._exchange(method, path, label, attempt, params, body)
            if isinstance(outcome, httpx.Response):
                return _read(model, outcome)
            if attempt + 1 >= self._attempts or not isinstance(outcome, _TRANSIENT):
                raise outcome
            await self._wait(attempt, outcome, method, label)
            attempt += 1

    async def _exchange(
        self,
        method: str,
        path: str,
        label: str,
        attempt: int,
        params: dict[str, str] | None,
        body: dict[str, object] | None,
    ) -> httpx.Response | SinchError:
        """One attempt: a 2xx response, or the error it amounts to."""
        try:
            response = await self._attempt(method, path, label, attempt, params, body)
        except httpx.TransportError as exc:
            return _transport_failure(exc, method, label)
        return response if response.is_success else error_from_response(response)

    async def _attempt(
        self,
        method: str,
        path: str,
        label: str,
        attempt: int,
        params: dict[str, str] | None,
        body: dict[str, object] | None,
    ) -> httpx.Response:
        # Logs carry the method, the path label and timings only: never the token, a body, a
        # query string (client_reference, dates) or a phone number.
        started = time.perf_counter()
        try:
            response = await self._http.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            log.warning(
                "%s %s failed after %.0f ms (attempt %d/%d): %s",
                method,
                label,
                (time.perf_counter() - started) * 1000,
                attempt + 1,
                self._attempts,
                type(exc).__name__,
            )
            raise
        status = response.status_code
        log.log(
            logging.WARNING if status == 429 or status >= 500 else logging.INFO,
            "%s %s -> %d in %.0f ms (attempt %d/%d)",
            method,
            label,
            status,
            (time.perf_counter() - started) * 1000,
            attempt + 1,
            self._attempts,
        )
        return response

    async def _wait(self, attempt: int, error: SinchError, method: str, label: str) -> None:
        if error.retry_after is not None:
            if error.retry_after > self._backoff_cap:
                # Longer than we will hold a request open: the caller reschedules instead.
                raise error
            delay = error.retry_after
        else:
            # Full jitter: clients that failed together do not come back together.
            delay = random.uniform(
                0, min(self._backoff_cap, self._backoff_base * 2 ** min(attempt, 32))
            )
        log.info("%s %s: retrying in %.2f s after %s", method, label, delay, type(error).__name__)
        await self._sleep(delay)

    async def _find_sent(
        self, reference: str, started: datetime, error: SinchError
    ) -> Batch | None:
        try:
            found = await self.find_batches(reference, since=started)
        except SinchError as exc:
            raise SinchUnknownOutcome(
                f"POST /batches may have been processed ({error}) and the lookup by "
                f"client_reference failed ({exc})"
            ) from exc
        if found:
            log.info("POST /batches: Sinch already holds the batch, not sending it again")
            return found[0]
        return None


def _transport_failure(exc: httpx.TransportError, method: str, label: str) -> SinchError:
    failure: SinchError
    if isinstance(exc, _NOTHING_SENT):
        failure = SinchConnectError(f"{method} {label}: could not connect ({type(exc).__name__})")
    else:
        failure = SinchUnknownOutcome(
            f"{method} {label}: sent, but no answer came back ({type(exc).__name__})"
        )
    failure.__cause__ = exc
    return failure


def _accepted_batch(response: httpx.Response) -> Batch:
    try:
        return Batch.model_validate(response.json())
    except ValueError as exc:
        # Sinch said yes, so the batch exists; only its id is lost. Reconciliation finds it.
        raise SinchUnknownOutcome(
            f"POST /batches -> {response.status_code} but the batch could not be read "
            f"({_describe(exc)})"
        ) from exc


def _read(model: type[Model], response: httpx.Response) -> Model:
    try:
        return model.model_validate(response.json())
    except ValueError as exc:
        raise SinchBadResponse(
            response.status_code, None, f"unreadable {model.__name__} ({_describe(exc)})"
        ) from exc


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return ": ".join(describe_invalid(exc))
    return "not JSON"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query(**values: str | int | bool | datetime | Sequence[str | int] | None) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, datetime):
            query[key] = _iso(value)
        elif isinstance(value, str | int):
            query[key] = str(value)
        elif value:
            query[key] = ",".join(str(item) for item in value)
    return query


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
