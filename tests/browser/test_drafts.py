"""Drafts in a real browser: Back from the plan reopens the draft and saving it again changes
it (one draft, not two); a draft deleted from its page; an empty audience that cannot be sent.

Screenshots: the editor reopening a draft and a draft's page with its buttons, at 1280 px and
375 px wide, and the plan refusing an empty audience."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, screenshot, sign_in

from textcast.models import Campaign

NUMBER = "+12015550141"


@pytest.fixture
def phone(chromium: Browser, site: Site) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=site.url, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def _bodies(site: Site) -> list[tuple[str, str]]:
    with site.database.read() as session:
        return [(c.name, c.body) for c in session.scalars(select(Campaign).order_by(Campaign.id))]


def _write(page: Page, name: str, body: str) -> None:
    page.goto("/campaigns/new")
    page.locator("#name").fill(name)
    page.locator("#body").fill(body)
    page.locator("#recipients").fill(NUMBER)


def _fits(page: Page) -> None:
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"


def test_back_from_the_plan_reopens_the_draft_and_saving_changes_it(
    page: Page, site: Site, phone: Page
) -> None:
    sign_in(page, site)
    _write(page, "Spring sale", "Spring sale today!")
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    campaign_id = int(page.url.rsplit("/", 2)[-2])

    # Back: the editor of this draft, filled in, where /campaigns/new was.
    page.go_back()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}/edit$"))
    expect(page.locator("#name")).to_have_value("Spring sale")
    expect(page.locator("#body")).to_have_value("Spring sale today!")
    expect(page.locator("#recipients")).to_have_value(NUMBER)
    page.locator("#body").fill("Spring sale: 20% off today!")
    screenshot(page, "drafts-editor")
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}/plan$"))
    expect(page.locator("#sample-text")).to_have_text("Spring sale: 20% off today!")
    assert _bodies(site) == [("Spring sale", "Spring sale: 20% off today!")]

    # The draft's page: Edit reopens it; unsaved changes ask before leaving.
    page.goto(f"/campaigns/{campaign_id}")
    expect(page.locator("#edit-campaign")).to_be_visible()
    screenshot(page, "drafts-draft")
    page.locator("#edit-campaign").click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}/edit$"))
    page.locator("#name").fill("Spring sale, changed")
    asked: list[str] = []

    def answer(dialog: object) -> None:
        asked.append(dialog.type)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", answer)
    page.locator("body").click()  # beforeunload asks only after the user has interacted
    page.evaluate("window.location.assign('/campaigns')")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(rf".*/campaigns/{campaign_id}/edit$"))
    assert _bodies(site) == [("Spring sale", "Spring sale: 20% off today!")]

    sign_in(phone, site)
    phone.goto(f"/campaigns/{campaign_id}/edit")
    expect(phone.locator("#body")).to_have_value("Spring sale: 20% off today!")
    _fits(phone)
    screenshot(phone, "drafts-editor-phone")
    phone.goto(f"/campaigns/{campaign_id}")
    expect(phone.locator("#delete-campaign")).to_be_visible()
    _fits(phone)
    screenshot(phone, "drafts-draft-phone")


def test_a_draft_is_deleted_from_its_page(page: Page, site: Site) -> None:
    sign_in(page, site)
    _write(page, "Mistake", "Wrong text")
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    campaign_id = int(page.url.rsplit("/", 2)[-2])
    page.goto(f"/campaigns/{campaign_id}")
    questions: list[str] = []

    def confirm(dialog: object) -> None:
        questions.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.on("dialog", confirm)
    page.locator("#delete-campaign").click()
    page.wait_for_url(re.compile(r".*/campaigns$"))
    assert questions == ["Delete “Mistake”? This cannot be undone."]
    assert _bodies(site) == []
    expect(page.locator(f"#campaign-row-{campaign_id}")).to_have_count(0)


def test_an_empty_audience_cannot_be_sent(page: Page, site: Site, phone: Page) -> None:
    sign_in(page, site)
    # A list with nobody in it, made through the API as the lists page would.
    created = page.evaluate("window.textcast.api('POST', '/api/v1/lists', {name: 'Empty list'})")
    page.goto("/campaigns/new")
    page.locator("#name").fill("Nobody")
    page.locator("#body").fill("Hello")
    page.locator(f"#list-{created['id']}").check()
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    expect(page.locator("#empty-audience")).to_contain_text("the audience is empty")
    send = page.locator("#send-button")
    expect(send).to_be_disabled()
    expect(send).to_have_attribute("aria-describedby", "send-refused")
    expect(page.locator("#send-refused")).to_contain_text("the audience is empty")
    screenshot(page, "drafts-plan-empty")
    sign_in(phone, site)
    phone.goto(page.url)
    expect(phone.locator("#empty-audience")).to_be_visible()
    _fits(phone)
    screenshot(phone, "drafts-plan-empty-phone")
