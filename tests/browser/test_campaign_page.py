"""The campaign page in a real browser, mid-send: it says why a message waits (the recipient's
quiet hours, in their own time), its numbers agree with the API's, and its message list
filters; the campaign list searches. Screenshots at 1280 and 375 px wide."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, running_site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Role

AWAKE, ASLEEP = "+12015550171", "+12015550172"
TIMEOUT_MS = 30_000


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """The browser tests' site, with the send window of a real installation (the suite's
    default keeps it open all day): 08:00 to 21:00 in the recipient's time zone."""
    with running_site(
        database_url,
        quiet_hours="08:00-21:00",
        # Merged with the suite's: each of its keys set back to a real window.
        quiet_hours_rules=dict.fromkeys(("US", "US-FL", "US-OK"), "08:00-20:00"),
    ) as site:
        yield site


def _zone_where_it_is(hour: int) -> str:
    """A fixed-offset zone (`Etc/GMT-3` is UTC+3) where it is `hour` o'clock now."""
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_a_campaign_says_why_a_message_waits_and_agrees_with_the_api(
    page: Page, site: Site
) -> None:
    api = httpx.Client(
        base_url=site.url,
        headers={"Authorization": f"Bearer {make_api_key(site.database, Role.ADMIN)}"},
        # httpx's 5 s default: a first request to a server just started, on a machine busy
        # with the rest of the suite, sometimes took longer.
        timeout=30,
    )
    for phone, hour in ((AWAKE, 12), (ASLEEP, 3)):
        made = api.post(
            "/api/v1/contacts", json={"phone": phone, "time_zone": _zone_where_it_is(hour)}
        )
        assert made.status_code == 201, made.text
    created = api.post(
        "/api/v1/campaigns",
        json={"name": "Night owls", "body": "Doors open at noon.", "recipients": [AWAKE, ASLEEP]},
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]

    sign_in(page, site)
    page.goto(f"/campaigns/{campaign_id}/plan")
    page.once("dialog", lambda dialog: dialog.accept())  # "Send “Night owls” to 2 ...?"
    page.locator("#send-button").click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}$"))

    # One delivered; the other held until 08:00 in its recipient's time zone, and the page
    # says so, live, without a reload.
    expect(page.locator("#count-delivered")).to_have_text("1", timeout=TIMEOUT_MS)
    expect(page.locator("#waiting-reasons")).to_contain_text(
        "1 message held by the recipient's quiet hours until 08:00 their time", timeout=TIMEOUT_MS
    )
    expect(page.locator("#count-waiting")).to_have_text("1")

    # Every figure on the page is the API's.
    figures = page.request.get(f"/api/v1/campaigns/{campaign_id}").json()["figures"]
    assert figures["waiting"] == 1 and figures["delivered"] == 1
    for element_id, key in (
        ("count-total", "messages"),
        ("count-final", "final"),
        ("count-waiting", "waiting"),
        ("count-in-flight", "with_sinch"),
        ("count-delivered", "delivered"),
        ("count-undelivered", "not_delivered"),
        ("count-skipped", "skipped"),
        ("count-sent", "sent"),
        ("count-parts-sent", "parts_sent"),
    ):
        expect(page.locator(f"#{element_id}")).to_have_text(str(figures[key]))
    expect(page.locator("#count-spent")).to_have_text(f"{figures['spent']:.2f}")
    screenshot(page, "campaign-waiting")

    # The message list: only the deferred one, then a number search.
    page.get_by_label("Status", exact=True).select_option("deferred")
    page.locator("#message-filter-apply").click()
    page.wait_for_url(re.compile(r".*status=deferred.*"))
    rows = page.locator("#messages-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ASLEEP)
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_label("Number contains").fill("555-0171")
    page.locator("#message-filter-apply").click()
    page.wait_for_url(re.compile(r".*number=.*"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(AWAKE)
    expect(rows.first).to_contain_text("delivered")
    screenshot(page, "campaign-messages")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.locator("#waiting-reasons")).to_be_visible()
    screenshot(page, "campaign-waiting-phone")

    # The list: search by name.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/campaigns")
    page.get_by_label("Name contains").fill("owls")
    page.get_by_label("Sort").select_option("recipients")
    page.locator("#campaign-filter-apply").click()
    page.wait_for_url(re.compile(r".*q=owls.*"))
    expect(page.locator(f"#campaign-row-{campaign_id}")).to_contain_text("2")
    screenshot(page, "campaigns-list")
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    screenshot(page, "campaigns-list-phone")
