"""Signing in and out in a real browser, under the real Content-Security-Policy."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from tests.browser.conftest import Site, screenshot, sign_in


def test_sign_in_and_out(page: Page, site: Site) -> None:
    page.goto("/")
    assert "/login" in page.url
    assert page.get_by_role("status").inner_text() == (
        "Simulated Sinch: no real text messages are sent."
    )
    page.get_by_label("Email").fill(site.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    sign_in(page, site)
    assert site.email in page.inner_text("header")
    screenshot(page, "overview")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_the_api_reference_runs_under_the_content_security_policy(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.goto("/docs")
    page.get_by_role("heading", name=re.compile("textcast")).first.wait_for()
    page.get_by_text("/api/v1/campaigns", exact=True).first.wait_for()
