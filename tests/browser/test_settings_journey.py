"""An admin changes the sender in Settings; the next campaign, written without a sender, goes
out from the new one, with no restart: in the campaign, and in the batch the simulator got.

Screenshots of the settings page's forms are kept at 1280 and 375 pixels wide (the README
names them)."""

from __future__ import annotations

import dataclasses
import re

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_user

from textcast.config import load_settings
from textcast.models import Campaign, Role
from textcast.runtime import SIMULATOR_PLAN_ID, simulator_token

NEW_SENDER = "+12025550177"
COMPLETION_TIMEOUT_MS = 60_000


def test_an_admin_changes_the_sender_and_the_next_campaign_uses_it(page: Page, site: Site) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    admin = dataclasses.replace(site, email="admin@example.com")
    make_user(site.database, admin.email, Role.ADMIN)
    sign_in(page, admin)

    # Settings: the sender is unset (textcast's default); a bad value is refused in words.
    page.goto("/settings#changeable")
    sender = page.get_by_label(re.compile("^Sender"))
    expect(page.locator("#setting-SINCH_NUMBER-source")).to_contain_text("textcast's default")
    sender.fill("a sender far too long")
    page.get_by_role("button", name="Save sending").click()
    expect(page.locator("#settings-sending .field-error")).to_contain_text("1 to 16 characters")
    expect(sender).to_have_attribute("aria-invalid", "true")

    sender.fill(NEW_SENDER)
    page.get_by_role("button", name="Save sending").click()
    source = page.locator("#setting-SINCH_NUMBER-source")
    expect(source).to_contain_text("changed here by admin@example.com")
    expect(page.get_by_label(re.compile("^Sender"))).to_have_value(NEW_SENDER)
    expect(page.locator("#sending")).to_contain_text(NEW_SENDER)  # the read-only summary too
    screenshot(page, "settings-changeable")
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, "settings-changeable-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A campaign written without a sender: the editor offers the new one, and it is used.
    page.goto("/campaigns/new")
    expect(page.locator("#sender")).to_have_attribute("placeholder", NEW_SENDER)
    page.locator("#name").fill("After the change")
    page.locator("#body").fill("Our new number texts you now.")
    page.locator("#recipients").fill("+12015550161\n+12015550162")
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    campaign_id = int(page.url.rsplit("/", 2)[-2])
    page.locator("#send-button").click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}$"))
    expect(page.locator("#campaign-status")).to_have_text(
        "completed", timeout=COMPLETION_TIMEOUT_MS
    )
    with site.database.read() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.sender == NEW_SENDER

    # The batch the simulator (standing for Sinch) received came from the new sender.
    token = simulator_token(load_settings(secret_key="browser-tests"))
    listed = httpx.get(
        f"{site.url}/simulator/xms/v1/{SIMULATOR_PLAN_ID}/batches",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert listed.status_code == 200, listed.text
    senders = {batch["from"] for batch in listed.json()["batches"]}
    assert senders == {NEW_SENDER.removeprefix("+")}

    # Reset: the setting goes back to textcast's default, on the page too.
    page.goto("/settings#changeable")
    page.get_by_role("button", name=re.compile("Reset to environment default")).click()
    expect(page.locator("#setting-SINCH_NUMBER-source")).to_contain_text("textcast's default")
