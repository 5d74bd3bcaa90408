"""The dashboard on a phone-sized screen: nothing wider than the screen, everything reachable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import Site, screenshot, sign_in

PAGES = [
    "/",
    "/campaigns",
    "/campaigns/new",
    "/contacts",
    "/contacts/import",
    "/inbox",
    "/settings",
]


@pytest.fixture
def phone(chromium: Browser, site: Site) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=site.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    yield context.new_page()
    context.close()


def test_pages_fit_a_phone_screen(phone: Page, site: Site) -> None:
    sign_in(phone, site)
    for path in PAGES:
        phone.goto(path)
        overflow = phone.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow}px wider than the screen"
        assert phone.get_by_role("navigation", name="Main").is_visible()
    phone.goto("/campaigns/new")
    screenshot(phone, "editor-phone")
