"""A display time zone in a real browser: times first show in the browser's own zone, then,
once the user chooses one on My account, in that zone on every page, with UTC on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Role


def _scheduled_campaign(site: Site, send_at: datetime) -> int:
    key = make_api_key(site.database, Role.EDITOR, email="planner@example.com")
    answer = httpx.post(
        f"{site.url}/api/v1/campaigns",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "name": "Winter sale",
            "body": "Hello",
            "recipients": ["+12015550123"],
            "send_at": send_at.isoformat(),
        },
    )
    assert answer.status_code == 201, answer.text
    ident: int = answer.json()["id"]
    return ident


def test_times_show_in_the_zone_the_user_chose_with_utc_on_hover(
    chromium: Browser, site: Site
) -> None:
    send_at = (datetime.now(UTC) + timedelta(days=30)).replace(
        hour=14, minute=5, second=0, microsecond=0
    )
    campaign = _scheduled_campaign(site, send_at)
    utc = f"{send_at:%Y-%m-%d} 14:05 UTC"
    context = chromium.new_context(
        base_url=site.url, viewport={"width": 1280, "height": 900}, timezone_id="Asia/Kolkata"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, site)

    # No zone chosen: the browser's own (India, UTC+5:30), UTC on hover.
    page.goto(f"/campaigns/{campaign}")
    starts = page.locator("dd time").first
    expect(page.locator("time[data-local-time]")).to_have_count(0)
    assert starts.inner_text().startswith(f"{send_at:%Y-%m-%d} 19:35 ")
    assert starts.get_attribute("title") == utc

    page.get_by_role("link", name="My account").click()
    page.wait_for_url("**/account")
    # Chromium names it by its older alias.
    assert page.locator("#browser-zone").inner_text() in ("Asia/Kolkata", "Asia/Calcutta")
    page.get_by_label("Show times in").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator('meta[name="display-time-zone"]')).to_have_attribute(
        "content", "Asia/Tokyo"
    )
    assert page.get_by_label("Show times in").input_value() == "Asia/Tokyo"
    screenshot(page, "account-time-zone")

    page.goto(f"/campaigns/{campaign}")
    assert starts.inner_text() == f"{send_at:%Y-%m-%d} 23:05 JST"
    assert starts.get_attribute("title") == utc
    starts.hover()
    screenshot(page, "campaign-time-zone")

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/account")
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"/account is {overflow}px wider than the screen"
    screenshot(page, "account-time-zone-phone")
    context.close()
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors
