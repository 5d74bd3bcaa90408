"""Domain errors and request validation errors become JSON answers here, and only here."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from textcast.domain.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)


def problem_response(
    status: int, error: str, message: str, problems: list[FieldProblem] | None = None
) -> JSONResponse:
    content: dict[str, object] = {"error": error, "message": message}
    if problems is not None:
        content["problems"] = [
            {
                "field": p.field,
                "message": p.message,
                **({"value": p.value} if p.value is not None else {}),
            }
            for p in problems
        ]
    return JSONResponse(content, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        count = len(exc.problems)
        return problem_response(
            400, "invalid_input", f"{count} problem(s) in the request", exc.problems
        )

    @app.exception_handler(RequestValidationError)
    async def _malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [FieldProblem(_location(error["loc"]), error["msg"]) for error in exc.errors()]
        return problem_response(
            400, "invalid_input", f"{len(problems)} problem(s) in the request", problems
        )

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


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"
