"""A marketer's whole day in a real browser: sign in, import contacts, write a campaign (the
counter reacting to an emoji), read the plan, send, watch it complete, and see a STOP arrive.

Screenshots of the overview, the editor and the campaign detail are kept for people to look
at (artifacts/screenshots/, see the README)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Role

PEOPLE = [
    ("+12015550141", "Ana"),
    ("+12015550142", "Bo"),
    ("+12015550143", ""),
    ("+12015550144", "Chen"),
    ("+12015550145", "Dee"),
]
COMPLETION_TIMEOUT_MS = 60_000


def _csv(folder: Path) -> Path:
    path = folder / "spring-customers.csv"
    rows = ["phone,first_name", *(f"{phone},{name}" for phone, name in PEOPLE), "not a number,Eve"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_import_write_plan_send_and_stop(page: Page, site: Site, tmp_path: Path) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, site)

    # Import a CSV into a new list; the progress ends in a summary with the rejected row.
    page.goto("/contacts/import")
    page.locator("#import-file").set_input_files(str(_csv(tmp_path)))
    page.locator("#import-list").fill("Spring customers")
    page.locator("#import-submit").click()
    summary = page.locator("#import-summary")
    expect(summary).to_be_visible(timeout=30_000)
    expect(page.locator("#import-rejections")).to_contain_text("not a number")

    # Write the campaign: the counter follows the text, and an emoji turns it into UCS-2.
    page.goto("/campaigns/new")
    page.locator("#name").fill("Spring sale")
    body = page.locator("#body")
    body.fill('Hi {{ first_name | default("there") }}, our spring sale starts today!')
    expect(page.locator("#counter[data-source=api]")).to_be_attached()
    expect(page.locator("#counter-encoding")).to_contain_text("GSM-7")
    body.press("End")
    body.type(" \U0001f389")
    expect(page.locator("#counter-encoding")).to_contain_text("UCS-2")
    expect(page.locator("#body-highlight mark")).to_have_count(1)
    expect(page.locator("#body-highlight mark")).to_have_text("\U0001f389")
    page.get_by_label(re.compile("Spring customers")).check()
    screenshot(page, "editor")
    page.locator("#create-button").click()

    # The plan, before the send button: 5 recipients, in UCS-2, with a cost.
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    campaign_id = int(page.url.rsplit("/", 2)[-2])
    expect(page.locator("#plan-recipients")).to_contain_text("5")
    expect(page.locator("#plan-encodings")).to_contain_text("UCS-2")
    expect(page.locator("#plan-cost")).to_be_visible()
    page.locator("#send-button").click()

    # The detail page follows the sending live, without a reload, until completed.
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}$"))
    expect(page.locator("#campaign-status")).to_have_text(
        "completed", timeout=COMPLETION_TIMEOUT_MS
    )
    expect(page.locator("#count-final")).to_have_text("5", timeout=COMPLETION_TIMEOUT_MS)
    expect(page.get_by_role("img", name="Delivery funnel")).to_be_visible()  # the one drawn to fit
    screenshot(page, "campaign-detail")

    # Ana texts STOP (through the simulator, as Sinch would deliver it).
    page.goto("/contacts?search=Ana")
    page.locator("#contacts-table tr", has_text="Ana").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/contacts/\d+$"))
    expect(page.locator("#contact-status")).to_contain_text("subscribed")
    admin = make_api_key(site.database, Role.ADMIN)
    injected = httpx.post(
        f"{site.url}/simulator/_simulator/inbound",
        json={"from": PEOPLE[0][0].lstrip("+"), "to": "12015550000", "body": "STOP"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert injected.status_code == 201, injected.text
    expect(page.locator("#contact-status")).to_contain_text("unsubscribed", timeout=20_000)
    expect(page.locator("#consent-history tr[data-kind=opt_out]")).to_have_count(1)

    page.goto("/")
    expect(page.locator(f"#campaign-row-{campaign_id}")).to_contain_text("completed")
    screenshot(page, "overview")
