"""Help in the editor, in a real browser: a text without opt-out wording is warned about and
one click adds it (the counter follows); an emoji that alone makes the text UCS-2 is named with
what removing it saves, and one click removes it; the preview is for the sample contact, Alex;
the plan repeats what the text lacks; the import form asks for consent.

Screenshots: editor-help and editor-help-phone (the hints and the advice, 1280 and 375 px
wide), plan-compliance, import-consent and import-consent-phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Site, screenshot, sign_in

NUMBER = "+12015550141"
BLOSSOM = "\U0001f338"


@pytest.fixture
def phone(chromium: Browser, site: Site) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=site.url, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def _fits(page: Page) -> None:
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"


def _show_help(page: Page) -> None:
    """A text lacking opt-out wording and the brand, with an emoji that makes it 2 parts."""
    page.goto("/campaigns/new")
    page.locator("#name").fill("Spring sale")
    page.locator("#recipients").fill(NUMBER)
    page.locator("#body").fill(
        'Hi {{ first_name | default("there") }}, spring sale ' + "x" * 30 + f" {BLOSSOM}"
    )
    expect(page.locator("#counter[data-source=api]")).to_be_attached()


def test_the_opt_out_hint_its_one_click_fix_and_the_emoji_advice(
    page: Page, site: Site, phone: Page
) -> None:
    sign_in(page, site)
    _show_help(page)
    body = page.locator("#body")

    # What the text lacks: opt-out wording and the brand name; advice, not a refusal.
    compliance = page.locator("#compliance")
    expect(compliance).to_be_visible()
    expect(compliance.locator("[data-warning=no_opt_out]")).to_contain_text("No opt-out wording")
    expect(compliance.locator("[data-warning=no_brand]")).to_contain_text('"textcast"')

    # The emoji alone makes it UCS-2, 2 parts: the advice names it and the saving.
    expect(page.locator("#counter-encoding")).to_have_text("UCS-2")
    expect(page.locator("#counter-parts")).to_have_text("2")
    advice = page.locator("#parts-advice")
    expect(advice).to_be_visible()
    expect(advice).to_contain_text(
        re.compile(rf"Remove {BLOSSOM}: 2 parts → 1, saves [0-9.]+ USD per message\.")
    )
    # The template and the preview say which is which: the merge field counts 36 characters in
    # the template, "Alex" 4 in what the sample contact, Alex, receives.
    expect(page.locator("#counter")).to_contain_text("Template:")
    expect(page.locator("#preview-text")).to_contain_text("Hi Alex, spring sale")
    expect(page.locator("#preview-meta")).to_contain_text(
        re.compile(r"As Alex would receive it: \d+ characters, 1 part \(UCS-2\)")
    )
    screenshot(page, "editor-help")

    # One click adds the opt-out wording; the counter follows and that hint goes.
    before = page.locator("#counter-chars").inner_text()
    page.get_by_role("button", name="Add “Reply STOP to opt out”").click()
    expect(body).to_have_value(re.compile(r"\. Reply STOP to opt out$"))
    expect(page.locator("#counter-chars")).not_to_have_text(before)
    expect(compliance.locator("[data-warning=no_opt_out]")).to_have_count(0)
    expect(compliance.locator("[data-warning=no_brand]")).to_have_count(1)
    expect(page.locator("#add-opt-out")).to_be_hidden()

    # One click removes the emoji: GSM-7, 1 part.
    page.locator("#apply-advice").click()
    expect(body).not_to_have_value(re.compile(BLOSSOM))
    expect(page.locator("#counter-encoding")).to_have_text("GSM-7")
    expect(page.locator("#counter-parts")).to_have_text("1")
    expect(advice).to_be_hidden()

    # Saved as it is (advice, not a refusal): the plan repeats the missing brand name.
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    expect(page.locator("#plan-compliance")).to_contain_text('The brand name "textcast"')
    expect(page.locator("#plan-compliance")).not_to_contain_text("opt-out")
    expect(page.locator("#send-button")).to_be_enabled()
    screenshot(page, "plan-compliance")

    # At 375 px wide: the hints and the advice fit.
    sign_in(phone, site)
    _show_help(phone)
    expect(phone.locator("#compliance")).to_be_visible()
    expect(phone.locator("#parts-advice")).to_be_visible()
    _fits(phone)
    phone.locator("#compliance").scroll_into_view_if_needed()
    screenshot(phone, "editor-help-phone")


def test_a_draft_s_advice_is_priced_on_its_audience(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.goto("/campaigns/new")
    page.locator("#name").fill("Spring sale")
    page.locator("#recipients").fill(NUMBER)
    page.locator("#body").fill("textcast: spring sale. Reply STOP to opt out")
    page.locator("#create-button").click()
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    campaign_id = int(page.url.rsplit("/", 2)[-2])
    page.goto(f"/campaigns/{campaign_id}/edit")
    page.locator("#body").fill("textcast: " + "x" * 60 + f" {BLOSSOM} Reply STOP to opt out")
    expect(page.locator("#parts-advice")).to_contain_text(
        re.compile(r"saves [0-9.]+ USD on this audience \(1 recipient\)\.")
    )
    expect(page.locator("#compliance")).to_be_hidden()


def test_the_import_asks_for_consent_first(page: Page, site: Site, phone: Page) -> None:
    sign_in(page, site)
    page.goto("/contacts/import")
    consent = page.get_by_label("I confirm these contacts agreed to receive marketing texts")
    expect(consent).not_to_be_checked()
    page.locator("#import-file").set_input_files(
        files=[
            {"name": "people.csv", "mimeType": "text/csv", "buffer": f"phone\n{NUMBER}\n".encode()}
        ]
    )
    # Unticked, the browser does not send it (the box is required).
    page.locator("#import-submit").click()
    expect(page).to_have_url(re.compile(r"/contacts/import$"))
    assert consent.evaluate("box => !box.validity.valid")
    consent.check()
    screenshot(page, "import-consent")
    page.locator("#import-submit").click()
    expect(page.locator("#import-summary")).to_be_visible(timeout=30_000)

    sign_in(phone, site)
    phone.goto("/contacts/import")
    _fits(phone)
    screenshot(phone, "import-consent-phone")
