"""Sinch's error bodies (docs/sinch.md, "Error bodies") as an exception the routes raise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.text = text


def invalid_json(text: str) -> ApiError:
    return ApiError(400, "syntax_invalid_json", text)


def invalid_format(text: str) -> ApiError:
    return ApiError(400, "syntax_invalid_parameter_format", text)


def constraint_violation(text: str) -> ApiError:
    return ApiError(400, "syntax_constraint_violation", text)


def bad_parameter_value(name: str, value: object, expected: str) -> ApiError:
    return invalid_format(
        f"The format of parameter '{name}' is invalid; value '{value}' is not a valid {expected}."
    )


async def render_api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return JSONResponse({"code": error.code, "text": error.text}, status_code=error.status)
