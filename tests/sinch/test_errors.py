from datetime import UTC, datetime

import httpx
import pytest

from textcast.sinch.errors import (
    SinchBadRequest,
    SinchError,
    SinchForbidden,
    SinchNotFound,
    SinchRateLimited,
    SinchRejected,
    SinchServerError,
    SinchUnauthorized,
    error_from_response,
    parse_retry_after,
)

NOW = datetime(2025, 1, 13, 9, 0, 0, tzinfo=UTC)


def test_reads_code_and_text_of_a_400() -> None:
    response = httpx.Response(
        400,
        json={
            "code": "syntax_invalid_parameter_format",
            "text": "The format of parameter 'to[0]' is invalid",
        },
    )
    error = error_from_response(response)
    assert isinstance(error, SinchBadRequest)
    assert isinstance(error, SinchRejected)
    assert (error.status, error.code) == (400, "syntax_invalid_parameter_format")
    assert error.text == "The format of parameter 'to[0]' is invalid"


def test_a_403_is_a_rejection_too() -> None:
    response = httpx.Response(403, json={"code": "missing_callback_url", "text": "no URL"})
    error = error_from_response(response)
    assert isinstance(error, SinchForbidden)
    assert isinstance(error, SinchRejected)
    assert error.code == "missing_callback_url"


def test_reads_the_grpc_gateway_error_shape() -> None:
    body = {"error": {"code": 400, "message": "bad field", "status": "INVALID_ARGUMENT"}}
    error = error_from_response(httpx.Response(400, json=body))
    assert isinstance(error, SinchBadRequest)
    assert (error.code, error.text) == ("INVALID_ARGUMENT", "bad field")


def test_a_404_without_a_body_still_has_a_text() -> None:
    error = error_from_response(httpx.Response(404))
    assert isinstance(error, SinchNotFound)
    assert (error.code, error.text) == (None, "Not Found")


def test_a_401_with_a_non_json_body_is_unauthorized() -> None:
    error = error_from_response(httpx.Response(401, content=b"<html>nope</html>"))
    assert isinstance(error, SinchUnauthorized)
    assert error.code is None


def test_other_4xx_are_rejections() -> None:
    error = error_from_response(httpx.Response(415))
    assert type(error) is SinchRejected
    assert error.status == 415


def test_a_redirect_is_neither_retryable_nor_a_rejection() -> None:
    error = error_from_response(httpx.Response(301))
    assert type(error) is SinchError


def test_429_carries_retry_after_seconds() -> None:
    error = error_from_response(httpx.Response(429, headers={"Retry-After": "7"}), NOW)
    assert isinstance(error, SinchRateLimited)
    assert error.retry_after == 7.0


def test_503_carries_retry_after_as_an_http_date() -> None:
    headers = {"Retry-After": "Mon, 13 Jan 2025 09:00:12 GMT"}
    error = error_from_response(httpx.Response(503, headers=headers), NOW)
    assert isinstance(error, SinchServerError)
    assert error.retry_after == 12.0


def test_a_5xx_html_page_from_a_proxy_is_a_server_error() -> None:
    error = error_from_response(httpx.Response(502, content=b"<html>Bad Gateway</html>"))
    assert isinstance(error, SinchServerError)
    assert (error.code, error.text, error.retry_after) == (None, "Bad Gateway", None)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("Mon, 13 Jan 2025 08:59:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parses_retry_after_leniently(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds
