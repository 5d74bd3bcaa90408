"""What can go wrong talking to Sinch, as types the caller can act on.

The split that matters to the sending engine is "refused for good" (`SinchRejected`), "nothing was
processed, try later" (rate limits, 5xx, connect errors) and "the request left and no answer came
back" (`SinchUnknownOutcome`): the last must never be reported as a failure.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


class SinchError(Exception):
    def __init__(
        self, status: int | None, code: str | None, text: str, retry_after: float | None = None
    ) -> None:
        prefix = f"Sinch {status}" if status is not None else "Sinch"
        super().__init__(f"{prefix} {code}: {text}" if code else f"{prefix}: {text}")
        self.status = status
        self.code = code
        self.text = text
        self.retry_after = retry_after
        """Seconds Sinch asked us to wait (429/503 `Retry-After`), if it said."""


class SinchRejected(SinchError):
    """Sinch understood the request and refused it; sending it again fails the same way.

    Raised as is for 4xx statuses without a subclass of their own (405, 413, 415 ...).
    """


class SinchBadRequest(SinchRejected):
    """400: the request does not match the API (`syntax_*` codes)."""


class SinchForbidden(SinchRejected):
    """403: valid but impossible, e.g. `missing_callback_url`, `unknown_group`."""


class SinchUnauthorized(SinchError):
    """401: the token does not belong to this service plan, or the region is wrong."""


class SinchNotFound(SinchError):
    """404: unknown batch/inbound/recipient, or a wrong service plan id in the path."""


class SinchRateLimited(SinchError):
    """429: too many outstanding requests; nothing was processed."""


class SinchServerError(SinchError):
    """5xx: Sinch documents 500 as "not processed" and 503 as "try later"."""


class SinchConnectError(SinchError):
    """No connection could be made, so nothing was sent."""

    def __init__(self, text: str) -> None:
        super().__init__(None, None, text)


class SinchUnknownOutcome(SinchError):
    """The request was sent but no answer came back: Sinch may or may not have acted on it."""

    def __init__(self, text: str) -> None:
        super().__init__(None, None, text)


class SinchBadResponse(SinchError):
    """Sinch answered 2xx with a body we could not read."""


def error_from_response(response: httpx.Response, now: datetime | None = None) -> SinchError:
    status = response.status_code
    code, text = _code_and_text(response)
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), now or datetime.now(UTC)
        )
        kind = SinchRateLimited if status == 429 else SinchServerError
        return kind(status, code, text, retry_after)
    by_status: dict[int, type[SinchError]] = {
        400: SinchBadRequest,
        401: SinchUnauthorized,
        403: SinchForbidden,
        404: SinchNotFound,
    }
    # Anything else in 4xx will not get better by resending; 3xx means a wrong base URL.
    default = SinchRejected if 400 <= status < 500 else SinchError
    return by_status.get(status, default)(status, code, text)


def _code_and_text(response: httpx.Response) -> tuple[str | None, str]:
    fallback = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        data = response.json()
    except ValueError:  # 404s often have no body; proxies answer with HTML
        return None, fallback
    if not isinstance(data, dict):
        return None, fallback
    nested = data.get("error")
    if isinstance(nested, dict):
        # The gRPC-gateway shape some Sinch front doors use:
        # {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}
        code = nested.get("status") or nested.get("code")
        text = nested.get("message")
    else:
        code, text = data.get("code"), data.get("text")
    return (str(code) if code not in (None, "") else None), (str(text) if text else fallback)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
