"""Reading what a client sent to the xms API: token, JSON body and query parameters."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from textcast.simulator.errors import ApiError, bad_parameter_value, constraint_violation
from textcast.simulator.errors import invalid_json as invalid_json_error
from textcast.simulator.ids import parse_timestamp
from textcast.simulator.state import SimulatorState

Endpoint = Callable[[Request], Awaitable[Response]]

DAY = 24 * 3600.0
TRUE_WORDS = ("true", "True", "TRUE", "1")
FALSE_WORDS = ("false", "False", "FALSE", "0")


def simulator(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


def authorized(endpoint: Endpoint) -> Endpoint:
    """Bearer token of the one simulated service plan, else 401 (body shape not promised)."""

    async def guarded(request: Request) -> Response:
        state = simulator(request)
        config = state.config
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        plan_ok = request.path_params.get("service_plan_id") == config.service_plan_id
        token_ok = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), config.api_token.encode()
        )
        if not (plan_ok and token_ok):
            return PlainTextResponse(
                "Authentication token is invalid for this service plan",
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        state.ensure_running()
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    return guarded


async def read_json(request: Request) -> object:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json.")
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as error:
        raise invalid_json_error(f"Invalid JSON in request body: {error}.") from None


def query_int(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter_value(name, raw, "integer") from None
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise constraint_violation(f"Parameter '{name}' must be at least {low}{upper}.")
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ApiError(400, "syntax_invalid_parameter_format", f"'{raw}' is not a valid boolean")


def query_time(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise bad_parameter_value(name, raw, "ISO-8601 date-time") from None


def query_window(request: Request) -> tuple[float, float | None]:
    """`start_date` (default: 24 hours ago) and exclusive `end_date`."""
    start = query_time(request, "start_date")
    return (time.time() - DAY if start is None else start), query_time(request, "end_date")


def query_csv(request: Request, name: str) -> set[str] | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    return {item.strip() for item in raw.split(",") if item.strip()}


def query_codes(request: Request) -> set[int] | None:
    codes = query_csv(request, "code")
    if codes is None:
        return None
    try:
        return {int(code) for code in codes}
    except ValueError:
        raise bad_parameter_value("code", request.query_params["code"], "list of codes") from None


def paging(request: Request) -> tuple[int, int]:
    return query_int(request, "page", 0, 0, None), query_int(request, "page_size", 30, 1, 100)
