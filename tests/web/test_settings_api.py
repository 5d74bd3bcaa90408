"""`/api/v1/settings`: the configuration in effect without its secrets, and the Sinch
connection check against the simulator (and small fake servers) on real ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from tests.factories import authorize
from tests.servers import free_port, serving

from textcast.config import load_settings
from textcast.models import Role
from textcast.simulator import Faults, RunningSimulator, SimulatorConfig, running_simulator
from textcast.web.app import create_app

PLAN = "4f2a9c1e7b3d4a8f9e6c5b1a2d3e4f5a"
TOKEN = "sinch-api-token-do-not-show-3f9a"
SECRETS = {
    "sinch_api_token": TOKEN,
    "sinch_webhook_secret": "hmac-secret-do-not-show-77e1",
    "webhook_basic_auth": "sinch:basic-password-do-not-show-21c4",
    "webhook_path_token": "path-token-do-not-show-9b0d4c2a",
    "secret_key": "instance-key-do-not-show-5a6b",
}
CHECK = "/api/v1/settings/sinch-check"


def _secrets_in(text: str) -> list[str]:
    words = [*SECRETS.values(), "basic-password-do-not-show", PLAN]
    return [word for word in words if word in text]


@pytest.fixture(scope="module")
def sinch() -> Iterator[RunningSimulator]:
    with running_simulator(SimulatorConfig(service_plan_id=PLAN, api_token=TOKEN)) as simulator:
        yield simulator


@pytest.fixture
def simulator(sinch: RunningSimulator) -> Iterator[RunningSimulator]:
    sinch.set_faults(Faults())
    yield sinch
    sinch.set_faults(Faults())


@contextmanager
def _app(database_url: str, **settings: Any) -> Iterator[TestClient]:
    """The app with these settings; `base_url` is the setting (this server's public URL).

    Webhooks are not under test here: with Sinch credentials they accept anonymous callbacks
    (explicitly), so that the app starts with just the credentials the check is about."""
    defaults = {"secret_key": "tests", "webhooks_unauthenticated": True}
    config = load_settings(database_url=database_url, **{**defaults, **settings})
    with TestClient(create_app(config, dispatch=False, simulator=False)) as client:
        yield client


def _check(database_url: str, **settings: Any) -> dict[str, Any]:
    """The check's answer to an admin, with these settings."""
    with _app(database_url, **settings) as client:
        authorize(client, database_url, Role.ADMIN)
        answer = client.post(CHECK)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert not _secrets_in(answer.text)
    return result


def _sinch_at(base_url: str, token: str = TOKEN) -> dict[str, Any]:
    return {"sinch_service_plan_id": PLAN, "sinch_api_token": token, "sinch_base_url": base_url}


def test_the_summary_shows_the_configuration_in_effect_without_secrets(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIET_HOURS_RULES", "{}")  # tests/conftest.py opens every window
    settings = {
        **SECRETS,
        "sinch_service_plan_id": PLAN,
        "sinch_region": "eu",
        "sinch_number": "+12015550123",
        "base_url": "https://sms.example.com",
        "send_rate": 12.5,
        "quiet_hours": "07:00-22:00",
        "quiet_hours_rules": {"FR": "10:00-19:00"},
        "prices": {"US": 0.0091, "ZZ": 0.5},
        "api_rate_limit": "600/minute",
        "daily_recipient_quota": 5000,
        "keyword_replies_per_hour": 40,
    }
    with _app(database_url, **settings) as client:
        authorize(client, database_url, Role.VIEWER)
        answer = client.get("/api/v1/settings")
    assert answer.status_code == 200, answer.text
    assert not _secrets_in(answer.text)
    summary = answer.json()
    assert summary["sinch"] == {
        "simulated": False,
        "region": "eu",
        "base_url": "https://eu.sms.api.sinch.com",
        "base_url_from": "SINCH_REGION",
        "service_plan_id": "4f2a…4f5a",
        "api_token_set": True,
        "timeout_seconds": 10.0,
        "sender": "+12015550123",
        "delivery_report": "per_recipient_final",
    }
    webhooks = summary["webhooks"]
    assert webhooks["hmac_signature"] and webhooks["basic_auth"] and webhooks["path_token"]
    assert webhooks["delivery_reports_url"] == (
        "https://sms.example.com/api/webhooks/{WEBHOOK_PATH_TOKEN}/delivery-reports"
    )
    assert summary["sending"]["send_rate"] == 12.5
    quiet = summary["quiet_hours"]
    assert quiet["default_window"] == "07:00-22:00"
    assert quiet["overrides"] == {"FR": "10:00-19:00"}
    rules = {rule["key"]: (rule["window"], rule["source"]) for rule in quiet["rules"]}
    assert rules == {
        "FR": ("10:00-19:00", "QUIET_HOURS_RULES"),
        "US": ("08:00-21:00", "legal limit"),  # the law narrows QUIET_HOURS
        "US-*": ("08:00-20:00", "state unknown"),
        "US-FL": ("08:00-20:00", "legal limit"),
        "US-OK": ("08:00-20:00", "legal limit"),
    }
    prices = summary["prices"]
    assert prices["estimate"] is True and prices["default"] == "0.05"
    by_country = {row["country"]: (row["price"], row["source"]) for row in prices["prices"]}
    assert by_country["US"] == ("0.0091", "PRICES")
    assert by_country["ZZ"] == ("0.5", "PRICES")
    assert by_country["FR"] == ("0.07", "estimate")
    limits = summary["limits"]
    assert limits["api_rate_limit"] == "600/minute"
    assert limits["daily_recipient_quota"] == 5000
    assert limits["keyword_replies_per_hour"] == 40
    assert limits["secret_key_set"] is True


def test_the_summary_hides_credentials_inside_urls_and_says_when_the_simulator_is_used(
    database_url: str,
) -> None:
    with _app(
        database_url,
        sinch_base_url="http://sim-user:url-password-do-not-show@127.0.0.1:9090",
        base_url="https://hook-user:hook-password-do-not-show@textcast.example.com",
    ) as client:
        authorize(client, database_url, Role.VIEWER)
        answer = client.get("/api/v1/settings")
    assert "do-not-show" not in answer.text
    summary = answer.json()
    assert summary["sinch"]["simulated"] is True
    assert summary["sinch"]["region"] is None
    assert summary["sinch"]["base_url"] == "http://127.0.0.1:9090"
    assert summary["sinch"]["base_url_from"] == "SINCH_BASE_URL"
    assert summary["sinch"]["service_plan_id"] is None
    assert summary["sinch"]["api_token_set"] is False
    assert summary["webhooks"]["delivery_reports_url"] == (
        "https://textcast.example.com/api/webhooks/delivery-reports"
    )
    webhooks = summary["webhooks"]
    assert not any(webhooks[k] for k in ("hmac_signature", "basic_auth", "path_token"))
    assert webhooks["unauthenticated"] and not webhooks["simulator_signature"]


def test_in_simulator_mode_the_summary_says_the_simulator_signs_the_callbacks(
    database_url: str,
) -> None:
    with _app(database_url, webhooks_unauthenticated=False) as client:
        authorize(client, database_url, Role.VIEWER)
        webhooks = client.get("/api/v1/settings").json()["webhooks"]
    assert webhooks["simulator_signature"] is True
    assert not any(webhooks[k] for k in ("hmac_signature", "unauthenticated"))


def test_a_quiet_hours_window_narrower_than_the_law_is_shown_as_configured(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIET_HOURS_RULES", "{}")
    with _app(database_url, quiet_hours="09:00-20:30") as client:
        authorize(client, database_url, Role.VIEWER)
        rules = client.get("/api/v1/settings").json()["quiet_hours"]["rules"]
    windows = {rule["key"]: (rule["window"], rule["source"]) for rule in rules}
    assert windows["US"] == ("09:00-20:30", "QUIET_HOURS")
    assert windows["US-FL"] == ("09:00-20:00", "narrowed by law")


def test_only_admins_run_the_check(database_url: str) -> None:
    with _app(database_url) as client:
        for role in (Role.VIEWER, Role.EDITOR):
            authorize(client, database_url, role)
            answer = client.post(CHECK)
            assert answer.status_code == 403, answer.text
            assert answer.json()["error"] == "forbidden"


def test_the_check_reports_a_working_connection_with_its_latency(
    database_url: str, simulator: RunningSimulator
) -> None:
    result = _check(database_url, **_sinch_at(simulator.base_url))
    assert result["ok"] is True and result["problem"] is None
    assert result["status"] == 200 and result["simulated"] is False
    assert isinstance(result["latency_ms"], int) and result["latency_ms"] >= 0
    assert result["host"] == f"127.0.0.1:{simulator.port}"
    assert result["message"].startswith(f"Connected to Sinch at 127.0.0.1:{simulator.port} in ")


def test_a_wrong_token_is_reported_as_unauthorized(
    database_url: str, simulator: RunningSimulator
) -> None:
    result = _check(database_url, **_sinch_at(simulator.base_url, token="not-the-token-0000"))
    assert (result["ok"], result["problem"], result["status"]) == (False, "unauthorized", 401)
    assert "refused the API token" in result["message"]
    assert "SINCH_API_TOKEN" in result["message"]
    assert "not-the-token-0000" not in str(result)


def test_a_404_is_reported_as_an_unknown_service_plan(
    database_url: str, simulator: RunningSimulator
) -> None:
    result = _check(database_url, **_sinch_at(simulator.base_url + "/elsewhere"))
    assert (result["problem"], result["status"]) == ("unknown_service_plan", 404)
    assert "SINCH_SERVICE_PLAN_ID" in result["message"]


def test_a_refused_connection_names_the_host(database_url: str) -> None:
    port = free_port()  # nothing listens there
    result = _check(database_url, **_sinch_at(f"http://127.0.0.1:{port}"))
    assert (result["problem"], result["status"]) == ("connection_refused", None)
    assert f"127.0.0.1:{port} was refused" in result["message"]
    assert "SINCH_BASE_URL" in result["message"]


def test_an_unknown_host_is_reported_as_a_dns_failure(database_url: str) -> None:
    result = _check(database_url, **_sinch_at("https://sms.textcast-check.invalid"))
    assert result["problem"] == "dns_failure"
    assert "sms.textcast-check.invalid could not be resolved" in result["message"]
    assert result["host"] == "sms.textcast-check.invalid:443"


def test_tls_to_a_plain_http_server_is_reported_as_a_tls_error(
    database_url: str, simulator: RunningSimulator
) -> None:
    result = _check(database_url, **_sinch_at(f"https://127.0.0.1:{simulator.port}"))
    assert result["problem"] == "tls_error"
    assert f"TLS handshake with 127.0.0.1:{simulator.port} failed" in result["message"]


def test_a_slow_answer_is_reported_as_a_timeout(
    database_url: str, simulator: RunningSimulator
) -> None:
    simulator.set_faults(Faults(latency=2.0))
    result = _check(database_url, sinch_timeout_seconds=0.2, **_sinch_at(simulator.base_url))
    assert (result["problem"], result["status"]) == ("timeout", None)
    assert "Timed out after 0.2 s waiting for an answer" in result["message"]


def test_server_errors_and_rate_limits_are_reported_as_sinchs_side(
    database_url: str, simulator: RunningSimulator
) -> None:
    simulator.set_faults(Faults(error_5xx=1.0, apply_to_reads=True))
    result = _check(database_url, **_sinch_at(simulator.base_url))
    assert result["problem"] == "server_error" and result["status"] in (500, 503)
    assert "error of its own" in result["message"]
    simulator.set_faults(Faults(error_429=1.0, apply_to_reads=True))
    result = _check(database_url, **_sinch_at(simulator.base_url))
    assert (result["problem"], result["status"]) == ("rate_limited", 429)


def _answering(response: Response) -> Starlette:
    async def answer(_: Request) -> Response:
        return response

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET"])])


def test_a_403_and_an_answer_unlike_sinchs_are_told_apart(database_url: str) -> None:
    forbidden = JSONResponse({"code": "account_blocked", "text": "Out of credit."}, 403)
    with serving(_answering(forbidden)) as url:
        result = _check(database_url, **_sinch_at(url))
    assert (result["problem"], result["status"]) == ("forbidden", 403)
    assert "account_blocked" in result["message"] and "Out of credit." in result["message"]
    with serving(_answering(HTMLResponse("<h1>Welcome to nginx</h1>"))) as url:
        result = _check(database_url, **_sinch_at(url))
    assert (result["problem"], result["status"]) == ("unexpected_answer", 200)
    assert "not like Sinch's SMS API" in result["message"]


def test_in_simulator_mode_the_check_calls_the_simulator_at_sinch_base_url(
    database_url: str,
) -> None:
    with running_simulator(SimulatorConfig()) as standalone:
        result = _check(database_url, sinch_base_url=standalone.base_url)
    assert result["ok"] is True and result["simulated"] is True
    assert "Connected to the Sinch simulator" in result["message"]


def test_in_simulator_mode_the_check_calls_the_built_in_simulator(database_url: str) -> None:
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        secret_key="tests",
    )
    with (
        serving(create_app(settings, dispatch=False), port) as url,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        authorize(api, database_url, Role.ADMIN)
        result = api.post(CHECK).json()
    assert result["ok"] is True and result["simulated"] is True, result
    assert result["host"] == f"127.0.0.1:{port}"


def test_in_simulator_mode_an_unreachable_base_url_is_named(database_url: str) -> None:
    port = free_port()  # BASE_URL points where no textcast serves the simulator
    result = _check(database_url, base_url=f"http://127.0.0.1:{port}")
    assert result["problem"] == "connection_refused" and result["simulated"] is True
    assert "Check BASE_URL and that the simulator runs there" in result["message"]


def test_an_unusable_service_plan_id_is_reported_without_calling_sinch(
    database_url: str,
) -> None:
    result = _check(
        database_url,
        sinch_service_plan_id="plan/with/slashes",
        sinch_api_token=TOKEN,
        sinch_base_url=f"http://127.0.0.1:{free_port()}",
    )
    assert result["problem"] == "invalid_configuration"
    assert "SINCH_SERVICE_PLAN_ID" in result["message"]
