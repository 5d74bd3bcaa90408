"""Webhooks in a real browser: an admin subscribes an endpoint on /webhooks (a private address
refused next to the field first), sees the signing secret once, opens the webhook, sends a test
event and finds it in the delivery log; the secret is never on a page again. Whether the
delivery engine has sent it yet does not matter here: the log shows it either way.
Screenshots: webhooks, webhook."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_user

from textcast.models import Role, WebhookSubscription

URL = "https://93.184.215.14/hooks/textcast"


def test_an_admin_subscribes_an_endpoint_and_sends_it_a_test_event(page: Page, site: Site) -> None:
    admin = Site(site.url, site.database, email="owner@example.com")
    make_user(site.database, admin.email, Role.ADMIN)
    sign_in(page, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.wait_for_url("**/webhooks")
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()

    form = page.locator("#webhook-form")
    form.get_by_label("Endpoint URL").fill("http://127.0.0.1:9000/in")
    form.get_by_role("button", name="Add webhook").click()
    expect(form.locator(".field-error")).to_contain_text("WEBHOOK_ALLOW_PRIVATE")

    form.get_by_label("Endpoint URL").fill(URL)
    form.get_by_label("Description").fill("CRM sync")
    form.get_by_role("checkbox", name=re.compile(r"^message\.delivered")).check()
    expect(form.get_by_role("checkbox", name=re.compile("All event types"))).not_to_be_checked()
    form.get_by_role("checkbox", name=re.compile(r"^contact\.unsubscribed")).check()
    form.get_by_role("button", name="Add webhook").click()

    created = page.locator("#webhook-created")
    expect(created).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    with site.database.read() as session:
        stored = session.scalars(select(WebhookSubscription)).one()
    assert stored.secret == secret
    assert stored.event_types == ["message.delivered", "contact.unsubscribed"]
    screenshot(page, "webhooks")

    created.get_by_role("link", name=re.compile("open the webhook")).click()
    page.wait_for_url(f"**/webhooks/{stored.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("active")
    expect(page.get_by_text("No deliveries yet")).to_be_visible()
    page.get_by_role("button", name="Send test event").click()
    row = page.locator("#webhook-deliveries tbody tr").first
    expect(row).to_contain_text("webhook.test")
    expect(row.locator(".status")).to_have_text(re.compile("pending|delivered|failed"))
    expect(page.locator("#filter-all")).to_have_text("All (1)")
    screenshot(page, "webhook")

    page.get_by_label("Replay every event it wants since").fill("2026-01-01T00:00")
    page.get_by_role("button", name="Replay since…").click()
    expect(page.locator("#webhook-replay-result")).to_contain_text("No event to replay")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#webhook-created")).to_be_visible()
    rotated = page.locator("#webhook-secret").inner_text()
    assert rotated.startswith("whsec_") and rotated != secret
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/webhooks", f"/webhooks/{stored.id}"):
        page.goto(path)
        assert secret not in page.content() and rotated not in page.content()
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone's screen"
