"""The dashboard on a phone-sized screen: nothing wider than the screen, everything reachable
through the compact bar's menu; on a wide screen, the charts fill their cards and the editor's
preview sits beside the text. The overview of a new installation shows its first steps.
Screenshots at 1280 and 375 px wide."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key, make_user

from textcast.models import Role

TIMEOUT_MS = 30_000
RECIPIENTS = ["+12015550181", "+12015550182", "+12015550183"]


def phone_context(chromium: Browser, site: Site) -> Page:
    context = chromium.new_context(
        base_url=site.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    return context.new_page()


@pytest.fixture
def phone(chromium: Browser, site: Site) -> Iterator[Page]:
    page = phone_context(chromium, site)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    page.context.close()
    assert not errors, errors  # a CSP violation reads "Refused to ..."


@pytest.fixture
def admin(site: Site) -> Site:
    """The site, signed in as an admin: the simulator and every settings section show."""
    make_user(site.database, "admin@example.com", Role.ADMIN)
    return dataclasses.replace(site, email="admin@example.com")


def _api(site: Site) -> httpx.Client:
    key = make_api_key(site.database, Role.ADMIN)
    return httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _fill_the_site(site: Site) -> dict[str, str]:
    """A contact, a segment, a draft and a campaign sent to three numbers; their pages."""
    api = _api(site)
    contact = api.post("/api/v1/contacts", json={"phone": RECIPIENTS[0], "first_name": "Ada"})
    assert contact.status_code == 201, contact.text
    segment = api.post(
        "/api/v1/segments",
        json={
            "name": "Named Ada",
            "rules": {"conditions": [{"field": "first_name", "op": "eq", "value": "Ada"}]},
        },
    )
    assert segment.status_code == 201, segment.text
    draft = api.post(
        "/api/v1/campaigns",
        json={"name": "Autumn", "body": "Autumn sale, {first_name}!", "recipients": RECIPIENTS},
    )
    assert draft.status_code == 201, draft.text
    sent = api.post(
        "/api/v1/campaigns",
        json={"name": "Spring", "body": "Spring sale today.", "recipients": RECIPIENTS},
    )
    assert sent.status_code == 201, sent.text
    launched = api.post(f"/api/v1/campaigns/{sent.json()['id']}/send")
    assert launched.status_code == 202, launched.text
    return {
        "contact": f"/contacts/{contact.json()['id']}",
        "segment": f"/segments/{segment.json()['id']}",
        "draft": f"/campaigns/{draft.json()['id']}",
        "sent": f"/campaigns/{sent.json()['id']}",
    }


def _overflow(page: Page) -> int:
    return int(
        page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def test_every_page_fits_a_phone_screen(phone: Page, admin: Site) -> None:
    made = _fill_the_site(admin)
    pages = [
        "/",
        "/campaigns",
        "/campaigns/new",
        made["draft"],
        f"{made['draft']}/edit",
        f"{made['draft']}/plan",
        made["sent"],
        "/contacts",
        made["contact"],
        "/contacts/import",
        "/contacts/lists",
        "/segments/new",
        "/keywords",
        made["segment"],
        f"{made['segment']}/edit",
        "/inbox",
        "/settings",
        "/account",
        "/simulator",
    ]
    sign_in(phone, admin)
    menu = phone.get_by_role("button", name="Menu")
    navigation = phone.get_by_role("navigation", name="Main")
    for path in pages:
        answer = phone.goto(path)
        assert answer is not None and answer.ok, path
        assert _overflow(phone) <= 1, f"{path} is {_overflow(phone)}px wider than the screen"
        # One compact bar: the banner folds into a badge, the menu behind its button.
        expect(phone.locator(".banner")).to_be_hidden()
        expect(phone.locator(".bar-badge")).to_be_visible()
        expect(navigation).to_be_hidden()
        expect(menu).to_have_attribute("aria-expanded", "false")
        bar = phone.locator("header.top").bounding_box()
        assert bar is not None and bar["height"] < 60, f"{path}: the bar is {bar}"
    phone.goto("/campaigns/new")
    screenshot(phone, "editor-phone")


def test_the_menu_opens_from_the_keyboard_and_reaches_every_page(phone: Page, site: Site) -> None:
    sign_in(phone, site)
    menu = phone.get_by_role("button", name="Menu")
    navigation = phone.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-controls", "site-menu")
    menu.focus()
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation).to_be_visible()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    expect(phone.get_by_role("link", name="My account")).to_be_visible()
    assert _overflow(phone) <= 1
    screenshot(phone, "navigation-menu-phone")
    # Escape folds it again, back on its button.
    phone.keyboard.press("Escape")
    expect(navigation).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    navigation.get_by_role("link", name="Contacts").click()
    phone.wait_for_url(re.compile(r".*/contacts$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Contacts")


def test_without_the_script_the_menu_stays_open(chromium: Browser, site: Site) -> None:
    context = chromium.new_context(
        base_url=site.url, viewport={"width": 375, "height": 740}, java_script_enabled=False
    )
    page = context.new_page()
    sign_in(page, site)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("#menu-button")).to_be_hidden()
    assert _overflow(page) <= 1
    context.close()


def test_a_new_installation_is_shown_its_first_steps(page: Page, phone: Page, site: Site) -> None:
    sign_in(page, site)
    checklist = page.locator("#first-run")
    expect(checklist).to_be_visible()
    expect(page.locator("#first-run-count")).to_have_text("0 of 4 steps done")
    expect(page.locator("#step-sinch")).to_contain_text("built-in simulator")
    expect(page.locator("#step-contacts")).to_contain_text("Upload a CSV file")
    screenshot(page, "overview-first-run")
    sign_in(phone, site)
    expect(phone.locator("#first-run")).to_be_visible()
    assert _overflow(phone) <= 1
    screenshot(phone, "overview-first-run-phone")

    # A contact: that step is done, and its link still there.
    api = _api(site)
    assert api.post("/api/v1/contacts", json={"phone": RECIPIENTS[0]}).status_code == 201
    page.reload()
    expect(page.locator("#step-contacts")).to_contain_text("done")
    page.locator("#step-contacts").get_by_role("link", name="Import contacts").click()
    page.wait_for_url(re.compile(r".*/contacts/import$"))


def test_charts_fill_their_cards_and_the_preview_sits_beside_the_text(
    page: Page, phone: Page, site: Site
) -> None:
    made = _fill_the_site(site)
    sign_in(page, site)
    page.goto(made["sent"])
    expect(page.locator("#campaign-status")).to_have_text("completed", timeout=TIMEOUT_MS)
    expect(page.locator("#count-delivered")).to_have_text("3", timeout=TIMEOUT_MS)
    # A send of a few seconds: the timeline counts per second.
    expect(page.locator("#timeline-bucket")).to_contain_text("per second")
    for chart in ("#funnel-chart", "#timeline-chart"):
        figure = page.locator(chart).bounding_box()
        picture = page.locator(f"{chart} svg.chart-wide").bounding_box()
        assert figure is not None and picture is not None
        assert picture["width"] >= figure["width"] - 1, f"{chart} leaves its card half empty"
        expect(page.locator(f"{chart} svg.chart-narrow")).to_be_hidden()
        # Text at about its size: the picture is drawn for a card this wide.
        size = page.locator(f"{chart} svg.chart-wide text").first.evaluate(
            "node => node.getBoundingClientRect().height"
        )
        assert 12 <= size <= 24, f"{chart} text is {size}px high"
    screenshot(page, "campaign-charts")

    sign_in(phone, site)
    phone.goto(made["sent"])
    expect(phone.locator("#funnel-chart svg.chart-narrow")).to_be_visible()
    screenshot(phone, "campaign-charts-phone")

    # The editor: the preview beside the text on a wide screen, right under it on a phone.
    page.goto("/campaigns/new")
    text = page.locator("#body").bounding_box()
    preview = page.locator("#preview-card").bounding_box()
    assert text is not None and preview is not None
    assert preview["x"] > text["x"] + text["width"] and preview["y"] < text["y"] + text["height"]
    screenshot(page, "editor-preview-beside")
    phone.goto("/campaigns/new")
    message = phone.locator("section[aria-labelledby=message-heading]").bounding_box()
    preview = phone.locator("#preview-card").bounding_box()
    audience = phone.locator("#audience").bounding_box()
    assert message is not None and preview is not None and audience is not None
    assert message["y"] + message["height"] <= preview["y"] < audience["y"]
