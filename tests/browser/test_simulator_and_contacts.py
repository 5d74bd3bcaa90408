"""Two-way texting without a phone, and managing a contact, in a real browser (issue 14, items
16 and 17): an admin texts STOP from the simulator page and follows it to the inbox and the
contact; an editor edits a contact, puts it on a list and opts it out with a reason.

Screenshots: simulator, simulator-phone, contact-edit, contact-edit-phone, contacts-count."""

from __future__ import annotations

import dataclasses
import re

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import bearer, make_api_key, make_user

from textcast.models import Role

PHONE = "+12015550177"
PHONE_WIDTH = {"width": 375, "height": 800}


def _api(site: Site, path: str, body: dict[str, object]) -> int:
    """Set the scene through the API, as a program would."""
    key = make_api_key(site.database, Role.EDITOR)
    answer = httpx.post(f"{site.url}{path}", json=body, headers=bearer(key))
    assert answer.status_code == 201, answer.text
    created: int = answer.json()["id"]
    return created


def _contact(site: Site, **fields: object) -> int:
    return _api(site, "/api/v1/contacts", {"phone": PHONE, **fields})


def test_an_admin_texts_stop_as_a_phone_and_follows_it(page: Page, site: Site) -> None:
    admin = dataclasses.replace(site, email="admin@example.com")
    make_user(site.database, admin.email, Role.ADMIN)
    contact_id = _contact(site, first_name="Ana")
    sign_in(page, admin)

    # The banner's link: the simulator page, with the form and an empty ledger.
    page.get_by_role("link", name="Open the simulator").click()
    page.wait_for_url(re.compile(r".*/simulator$"))
    expect(page.get_by_role("heading", name="Text textcast as a phone")).to_be_visible()
    page.get_by_label("From", exact=True).fill(PHONE)
    page.get_by_role("button", name="STOP", exact=True).click()
    expect(page.get_by_label("Text", exact=True)).to_have_value("STOP")
    page.get_by_role("button", name="Send", exact=True).click()

    result = page.locator("#simulator-result")
    expect(result).to_contain_text("an opt-out (STOP)", timeout=20_000)
    expect(page.locator("#simulator-texts-table")).to_contain_text("STOP")
    # The STOP's confirmation went out through the simulator: it shows in the batches.
    expect(page.locator("#simulator-batches-table")).to_contain_text(PHONE, timeout=20_000)
    screenshot(page, "simulator")

    result.get_by_role("link", name="See it in the inbox").click()
    page.wait_for_url(re.compile(rf".*/inbox/texts\?contact_id={contact_id}$"))
    expect(page.locator("#inbox-table")).to_contain_text("STOP")
    expect(page.locator("#inbox-table .keyword-opt_out")).to_have_count(1)

    page.goto("/simulator")
    page.locator("#simulator-result").wait_for(state="hidden")
    page.get_by_label("Recently texted by textcast").select_option(PHONE)
    expect(page.get_by_label("From", exact=True)).to_have_value(PHONE)
    page.get_by_label("Text", exact=True).fill("Thanks!")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(result).to_contain_text("a reply, now in the inbox", timeout=20_000)
    result.get_by_role("link", name="Open the contact").click()
    page.wait_for_url(re.compile(rf".*/contacts/{contact_id}$"))
    expect(page.locator("#contact-status")).to_have_text("unsubscribed")
    expect(page.locator("#consent-history tr[data-kind=opt_out]")).to_have_count(1)
    expect(page.locator("#contact-inbound")).to_contain_text("Thanks!")

    page.set_viewport_size(PHONE_WIDTH)
    page.goto("/simulator")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]
    screenshot(page, "simulator-phone")


def test_an_editor_edits_a_contact_lists_it_and_opts_it_out(page: Page, site: Site) -> None:
    contact_id = _contact(site, first_name="Ana", attributes={"plan": "gold", "points": 120})
    _api(site, "/api/v1/lists", {"name": "Spring customers"})
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, site)

    page.goto("/contacts")
    expect(page.locator("#contacts-total")).to_contain_text("1 contact")
    screenshot(page, "contacts-count")

    page.goto(f"/contacts/{contact_id}")
    page.get_by_text("Edit names, time zone and attributes").click()
    page.get_by_label("First name").fill("Anna")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.locator("#edit-attribute-rows .attribute-value").first.fill("platinum")
    page.get_by_role("button", name="Add an attribute").click()
    row = page.locator("#edit-attribute-rows [data-attribute-row]").last
    row.locator(".attribute-key").fill("city")
    row.locator(".attribute-value").fill("Austin")
    screenshot(page, "contact-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Anna Lima")).to_be_visible()
    details = page.locator("#contact-details")
    expect(details).to_contain_text("America/Chicago")
    facts = page.locator("#contact-attributes")
    expect(facts).to_contain_text("platinum")
    expect(facts).to_contain_text("Austin")
    expect(facts).to_contain_text("120")

    # A bad attribute is refused next to the attributes, and changes nothing.
    page.get_by_text("Edit names, time zone and attributes").click()
    page.get_by_role("button", name="Add an attribute").click()
    page.locator("#edit-attribute-rows [data-attribute-row]").last.locator(".attribute-value").fill(
        "no name"
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#contact-edit-form .field-error")).to_contain_text("needs a name")

    page.get_by_label("Add to a list").select_option(label="Spring customers")
    page.get_by_role("button", name="Add to list").click()
    membership = page.locator("#contact-list-membership")
    expect(membership.get_by_role("link", name="Spring customers")).to_be_visible()
    expect(page.locator("#contact-lists")).to_contain_text("Spring customers")

    page.get_by_label(re.compile("Reason")).fill("Asked at the till to stop")
    page.get_by_role("button", name="Opt out", exact=True).click()
    expect(page.locator("#contact-status")).to_have_text("unsubscribed")
    opt_out = page.locator("#consent-history tr[data-kind=opt_out]")
    expect(opt_out).to_contain_text("Asked at the till to stop")
    expect(opt_out).to_contain_text(site.email)

    page.set_viewport_size(PHONE_WIDTH)
    page.get_by_text("Edit names, time zone and attributes").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH["width"]
    screenshot(page, "contact-edit-phone")
