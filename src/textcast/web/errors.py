"""Domain errors and request validation errors become JSON answers here, and only here."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from textcast.domain.errors import (
    MAX_LISTED_PROBLEMS,
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from textcast.wording import plural, validation_in_words


class FieldProblemOut(BaseModel):
    field: str = Field(description="Where, e.g. `recipients[3]` or `body`.")
    message: str
    value: str | None = Field(default=None, description="The value at fault, when it helps.")


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: str = Field(
        description="invalid_input, unauthenticated, forbidden, not_found, "
        "method_not_allowed, conflict, body_too_large or too_many_requests."
    )
    message: str
    problems: list[FieldProblemOut] | None = Field(
        default=None,
        description="400 only: the fields at fault, and why (the first 100 problems).",
    )
    unlisted_problems: int | None = Field(
        default=None, description="400 only: problems found beyond those listed, if any."
    )


_MEANINGS = {
    400: "Invalid input: every field at fault, and why.",
    401: "No API key or session, or one that is unknown, revoked or expired.",
    403: "Not allowed: the role, the key's scopes, or a missing CSRF token.",
    404: "Not found.",
    409: "Valid, but impossible in the current state.",
    413: "The request body is over its size cap.",
    429: "A rate limit or quota is reached: retry after `Retry-After` seconds.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: the error answers of its own, beyond those of its kind."""
    return {status: {"model": ErrorOut, "description": _MEANINGS[status]} for status in statuses}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every operation's document shows the error answers of its kind.

    Request validation answers 400 here, not FastAPI's 422; a guarded operation may answer
    401, 403 and 429; one with path parameters 404; one with a body 413 (`BodyLimit`)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in {**error.pop("$defs", {}), "ErrorOut": error}.items():
        schemas.setdefault(name, definition)
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            responses = operation["responses"]
            # FastAPI's own 422 (request validation) is our 400; a 422 a route documents
            # itself (the public sign-up form's) stays.
            validation = responses.get("422", {}).get("description") == "Validation Error"
            statuses = [400] if validation and responses.pop("422") else []
            if operation.get("security"):
                statuses += [401, 403, 429]
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                statuses.append(404)
            if "requestBody" in operation:
                statuses.append(413)
            for status in statuses:
                responses.setdefault(str(status), _documented(status))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return openapi


def _documented(status: int) -> dict[str, Any]:
    return {
        "description": _MEANINGS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


def problem_response(
    status: int,
    error: str,
    message: str,
    problems: list[FieldProblem] | None = None,
    *,
    unlisted: int = 0,
) -> JSONResponse:
    content: dict[str, object] = {"error": error, "message": message}
    if problems is not None:
        listed = problems[:MAX_LISTED_PROBLEMS]
        content["problems"] = [
            {
                "field": p.field,
                "message": p.message,
                **({"value": p.value} if p.value is not None else {}),
            }
            for p in listed
        ]
        if unlisted := unlisted + len(problems) - len(listed):
            content["unlisted_problems"] = unlisted
    return JSONResponse(content, status_code=status)


def _problems_found(count: int, unlisted: int) -> str:
    """The one summary of every 400: `2 problems in the request`."""
    found = plural(count, "problem") + " in the request"
    if unlisted:
        return f"{found}; the first {count - unlisted:,} are listed"
    return found


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        message = _problems_found(exc.count, exc.unlisted)
        return problem_response(400, "invalid_input", message, exc.problems, unlisted=exc.unlisted)

    @app.exception_handler(RequestValidationError)
    async def _malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        problems = [
            FieldProblem(
                "body" if error["type"] == "json_invalid" else _location(error["loc"]),
                validation_in_words(error),
            )
            for error in errors[:MAX_LISTED_PROBLEMS]
        ]
        unlisted = len(errors) - len(problems)
        message = _problems_found(len(errors), unlisted)
        return problem_response(400, "invalid_input", message, problems, unlisted=unlisted)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        """FastAPI's and Starlette's own: an unknown path, a wrong method, an unreadable body."""
        if exc.status_code == 400:
            detail = _unreadable_body(exc)
            response = problem_response(
                400, "invalid_input", detail, [FieldProblem("body", detail)]
            )
        else:
            error = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
            response = problem_response(exc.status_code, error, exc.detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return problem_response(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return problem_response(409, "conflict", str(exc))

    @app.exception_handler(Unauthenticated)
    async def _anonymous(_: Request, exc: Unauthenticated) -> JSONResponse:
        response = problem_response(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="textcast"'
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return problem_response(403, "forbidden", str(exc))

    @app.exception_handler(TooManyRequests)
    async def _too_many(_: Request, exc: TooManyRequests) -> JSONResponse:
        response = problem_response(429, "too_many_requests", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


def _unreadable_body(exc: HTTPException) -> str:
    """What was wrong with a body FastAPI could not parse: it answers any failure with the same
    400, and keeps the reason as the exception's cause."""
    if isinstance(exc.__cause__, RecursionError):
        return (
            "the JSON body is nested too deeply to read (objects or lists inside each other "
            "hundreds of times); no valid request nests more than a few levels"
        )
    if isinstance(exc.__cause__, UnicodeDecodeError):
        return "the JSON body is not valid UTF-8 text"
    return str(exc.detail)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of the path: Starlette names only those of the first route matching it."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"
