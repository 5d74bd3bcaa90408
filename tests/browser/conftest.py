"""Browser tests: Debian's Chromium driven by Playwright, against textcast on a real port.

The app runs as `make run` does (SQLite or PostgreSQL, the built-in Sinch simulator, the
dispatcher). Playwright never downloads a browser here: it launches the system's Chromium.
Screenshots are kept in `artifacts/screenshots/` (see the README).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.factories import PASSWORD, make_user
from tests.servers import free_port, serving

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import Role
from textcast.simulator import SimulatorConfig
from textcast.web.app import create_app

CHROMIUM = os.environ.get("TEXTCAST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

ASSETS = {"stylesheet", "script", "image", "font"}

# How long an `expect` waits for what must happen (a debounced API call answered, a page
# redrawn): Playwright's 5 s default was missed on a busy machine while `make test` ran a
# worker per core. A condition that never holds still fails, only later.
expect.set_options(timeout=20_000)


@dataclass
class Site:
    url: str
    database: Database
    email: str = "marketer@example.com"
    password: str = PASSWORD


# Per module, not per session: Playwright's sync API keeps an event loop running in this
# thread while it is open, which would break every later test that runs one of its own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@contextmanager
def running_site(database_url: str, **overrides: object) -> Iterator[Site]:
    """textcast as `make run` serves it (the simulator, the dispatcher) on a port of its own,
    with an editor signed up; `overrides` change settings for one test module."""
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        sinch_service_plan_id=None,
        sinch_api_token=None,
        sinch_base_url=None,
        sinch_webhook_secret=None,
        secret_key="browser-tests",
        send_rate=0,
        dispatcher_poll_seconds=0.05,
        **overrides,
    )
    database = Database(database_url)
    simulator = SimulatorConfig(dispatch_delay=0.05, final_delay=0.1, seed=3)
    with serving(create_app(settings, simulator=True, simulator_config=simulator), port) as url:
        site = Site(url, database)
        make_user(database, site.email, Role.EDITOR)
        yield site
    database.dispose()


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    with running_site(database_url) as site:
        yield site


@pytest.fixture
def page(chromium: Browser, site: Site) -> Iterator[Page]:
    context = chromium.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # Console errors (a CSP violation reads "Refused to ..."), script errors, and any asset
    # that failed to load. Pages and API calls may answer 4xx on purpose (a wrong password).
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type in ASSETS
            else None
        ),
    )
    yield page
    context.close()
    # A Content-Security-Policy violation or a script error fails the test that caused it.
    assert not errors, errors


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, site: Site) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(site.email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))
