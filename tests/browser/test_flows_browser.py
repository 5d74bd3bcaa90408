"""The abandoned-cart flow in a real browser, with the simulator, the dispatcher and the flow
engine running: an editor creates it from its template in the builder, makes its first wait
two seconds (a mistake first, named next to its step), publishes it; the shop posts
cart_abandoned and the reminder with the cart's link reaches the phone; the shop posts
order_placed and the run ends, reached the goal, on the flow's page and the contact's, and
the second reminder is never sent. Screenshots: flow-builder, flow-builder-phone."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.config import load_settings
from textcast.models import Role
from textcast.runtime import SIMULATOR_PLAN_ID, simulator_token

CART = "https://shop.example/cart/42"
TIMEOUT_S = 20.0
TIMEOUT_MS = 20_000
PLACES = (
    ("+447911123456", "Europe/London"),
    ("+819012345678", "Asia/Tokyo"),
    ("+14155550123", "America/Los_Angeles"),
)
"""Between them, one is always inside marketing hours (09:00 to 19:00 local)."""


def _a_phone_in_daytime() -> tuple[str, str]:
    now = datetime.now(UTC)
    for phone, zone in PLACES:
        if 9 <= now.astimezone(ZoneInfo(zone)).hour < 19:
            return phone, zone
    raise AssertionError("no place in daytime")  # cannot happen: the three cover the day


def _texts_to(site: Site, phone: str) -> list[str]:
    """What the phone received, oldest first: each batch's body as Sinch (the simulator) fills
    in its `${name}` parameters for that recipient."""
    token = simulator_token(load_settings(secret_key="browser-tests"))
    listed = httpx.get(
        f"{site.url}/simulator/xms/v1/{SIMULATOR_PLAN_ID}/batches",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    number = phone.removeprefix("+")
    return [
        _filled(batch["body"], batch.get("parameters", {}), number)
        for batch in reversed(listed.json()["batches"])
        if number in batch["to"]
    ]


def _filled(body: str, parameters: dict[str, dict[str, str]], number: str) -> str:
    def value(found: re.Match[str]) -> str:
        given = parameters[found[1]]
        return given.get(number, given.get(f"+{number}", given.get("default", "")))

    return re.sub(r"\$\{([^}]+)\}", value, body)


def _wait_for_texts(site: Site, phone: str, count: int) -> list[str]:
    deadline = time.monotonic() + TIMEOUT_S
    while len(found := _texts_to(site, phone)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} texts expected, the simulator has {found}")
        time.sleep(0.1)
    return found


def test_the_abandoned_cart_flow_reminds_once_and_stops_at_the_order(
    page: Page, site: Site
) -> None:
    phone, zone = _a_phone_in_daytime()
    admin = make_api_key(site.database, Role.ADMIN)
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as api:
        sign_in(page, site)
        page.get_by_role("link", name="Flows").click()
        page.wait_for_url("**/flows")
        page.get_by_label("Abandoned cart").check()
        page.get_by_role("button", name="Create the draft").click()
        page.wait_for_url(re.compile(r".*/flows/\d+$"))
        flow_url = page.url
        builder = page.locator("#flow-builder")
        expect(builder).to_be_visible()
        expect(page.locator("#definition")).to_be_hidden()
        expect(builder.get_by_label("Event name")).to_have_value("cart_abandoned")
        expect(builder.get_by_label("Goal event")).to_have_value("order_placed")
        reminder = builder.locator('li[data-step="reminder"]')
        expect(reminder.locator(".editor-counter")).to_contain_text("GSM-7")
        expect(reminder.locator('[data-insert-field="event.cart_url"]')).to_be_visible()

        builder.locator('li[data-step="wait_1h"]').get_by_label("How long").fill("2s")
        last_call = builder.locator('li[data-step="last_call"]')
        written = last_call.get_by_label("Text").input_value()
        last_call.get_by_label("Text").fill("")
        page.get_by_role("button", name="Save the draft").click()
        expect(page.locator("#flow-problems")).to_contain_text(
            "Step 4 (send, last_call): the text to send must not be empty"
        )
        expect(last_call.locator(".field-error")).to_have_text("the text to send must not be empty")
        expect(builder.locator('li[data-step="wait_1h"]').get_by_label("How long")).to_have_value(
            "2s"
        )
        last_call.get_by_label("Text").fill(written)
        page.get_by_role("button", name="Save the draft").click()
        expect(page.locator("#flow-saved")).to_be_visible()
        page.get_by_role("button", name="Publish").click()
        expect(page.locator("#flow-status")).to_have_text("live")
        expect(builder.locator('li[data-step="wait_1h"]').get_by_label("How long")).to_have_value(
            "2s"
        )
        expect(builder.locator('li[data-step="wait_1d"]').get_by_label("How long")).to_have_value(
            "1d"
        )

        contact = api.post("/api/v1/contacts", json={"phone": phone, "time_zone": zone})
        assert contact.status_code == 201, contact.text
        contact_id = contact.json()["id"]
        cart = api.post(
            "/api/v1/events",
            json={
                "name": "cart_abandoned",
                "phone": phone,
                "properties": {"cart_url": CART},
                "idempotency_key": "cart-42",
            },
        )
        assert cart.status_code in (200, 201, 202), cart.text
        [text] = _wait_for_texts(site, phone, 1)
        assert CART in text and text.startswith("You left something in your cart")

        # The run now waits a day for the last call; the order ends it there.
        page.reload()
        run = page.locator("#flow-runs-table tbody tr").first
        expect(run).to_contain_text("waiting", timeout=TIMEOUT_MS)
        expect(run).to_contain_text("at step wait_1d")
        order = api.post(
            "/api/v1/events",
            json={"name": "order_placed", "phone": phone, "idempotency_key": "order-42"},
        )
        assert order.status_code in (200, 201, 202), order.text

        page.goto(flow_url)
        expect(run).to_contain_text("reached the goal")
        expect(page.locator('[data-run-status="goal"] dd')).to_have_text("1")
        expect(page.locator('[data-run-status="active"] dd')).to_have_text("0")
        reminder_sent = builder.locator('li[data-step="reminder"] [data-figure="sent"] dd')
        expect(reminder_sent).to_have_text("1")
        wait_goal = builder.locator('li[data-step="wait_1d"] [data-figure="goal"] dd')
        expect(wait_goal).to_have_text("1")
        expect(
            builder.locator('li[data-step="last_call"] [data-figure="entered"] dd')
        ).to_have_text("0")
        screenshot(page, "flow-builder")
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the builder is {overflow}px wider than a phone's screen"
        screenshot(page, "flow-builder-phone")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.goto("/flows")
        row = page.locator("#flows-table tbody tr").first
        expect(row.locator(".flow-runs-goal")).to_have_text("1")
        expect(row.locator(".flow-runs-active")).to_have_text("0")
        page.goto(f"/contacts/{contact_id}")
        expect(page.locator("#contact-flows-table")).to_contain_text("reached the goal")
        expect(page.locator("#contact-flows-table")).to_contain_text("Abandoned cart")

        # No run is left to send the last call; the phone got exactly one text.
        time.sleep(1.0)
        assert _texts_to(site, phone) == [text]


def test_a_branch_shows_its_columns_and_steps_are_added_moved_and_removed(
    page: Page, site: Site
) -> None:
    sign_in(page, site)
    page.goto("/flows")
    page.get_by_label("Win-back").check()
    page.get_by_label("Name").fill("Come back")
    page.get_by_role("button", name="Create the draft").click()
    page.wait_for_url(re.compile(r".*/flows/\d+$"))
    builder = page.locator("#flow-builder")
    branch = builder.locator('li[data-step="clicked"]')
    expect(branch.get_by_label("If")).to_have_value("clicked")
    expect(branch.locator(".flow-column-yes li[data-step]")).to_have_count(1)
    expect(branch.locator(".flow-column-no li[data-step]")).to_have_count(1)

    branch.get_by_label("Add at the top of No (clicked)", exact=True).select_option("wait")
    branch.get_by_role("button", name="Add at the top of No (clicked)").click()
    no_steps = branch.locator(".flow-column-no li[data-step]")
    expect(no_steps).to_have_count(2)
    expect(no_steps.first).to_have_attribute("data-step", "wait_1")
    branch.get_by_role("button", name="Move come_back up").click()
    expect(no_steps.first).to_have_attribute("data-step", "come_back")
    branch.get_by_role("button", name="Remove still_here").click()
    expect(branch.locator(".flow-column-yes li[data-step]")).to_have_count(0)
    first = builder.locator('li[data-step="wait_60d"]')
    first.get_by_label("Add after wait_60d", exact=True).select_option("update")
    first.get_by_role("button", name="Add after wait_60d").click()
    update = builder.locator('li[data-step="update_1"]')
    update.get_by_label("Set attributes").fill("winback=asked")
    # The campaign editor's counter and encoding help, on a step's text.
    come_back = builder.locator('li[data-step="come_back"]')
    come_back.get_by_label("Text").fill("We\u2019re missing you! Reply STOP to opt out.")
    expect(come_back.locator('[data-count="encoding"]')).to_have_text("UCS-2")
    expect(come_back.locator(".flow-encoding-help")).to_contain_text("\u2192 '")
    come_back.get_by_role("button", name="Replace them").click()
    expect(come_back.locator('[data-count="encoding"]')).to_have_text("GSM-7")
    expect(come_back.locator(".flow-encoding-help")).to_be_hidden()
    come_back.get_by_label("Text").press("End")
    come_back.locator('[data-insert-field="first_name"]').click()
    expect(come_back.get_by_label("Text")).to_have_value(
        "We're missing you! Reply STOP to opt out.{{ first_name }}"
    )
    expect(come_back.locator('[data-count="chars"]')).to_have_text(
        "61"
    )  # { and } count twice in GSM-7
    page.get_by_role("button", name="Save the draft").click()
    expect(page.locator("#flow-saved")).to_be_visible()

    saved = json.loads(page.locator("#definition").input_value())
    assert [step["id"] for step in saved["steps"]] == ["wait_60d", "update_1", "clicked"]
    assert saved["steps"][1]["set"] == {"winback": "asked"}
    assert saved["steps"][2]["yes"] == []
    assert [step["id"] for step in saved["steps"][2]["no"]] == ["come_back", "wait_1"]
    assert saved["steps"][2]["no"][0]["body"].startswith("We're missing you!")

    # A draft nothing ran through is deleted, after a question.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/flows?deleted=1")
    expect(page.get_by_text("The flow was deleted.")).to_be_visible()
    expect(page.locator("#flows-table")).to_have_count(0)
