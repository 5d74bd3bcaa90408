"""A contact's proof of consent in a real browser, at desktop and phone width: the disclosure
quoted, where, when, from which address and browser, the confirming reply, and the downloads.

Screenshots: contact-consent, contact-consent-phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import SIGNUP_POLICY, form_signup, make_form, reply_y

from textcast.domain import signups
from textcast.domain.audience import lists
from textcast.models import Contact

PHONE = "+12015550188"


def _signed_up(site: Site) -> int:
    with site.database.write() as session:
        list_id = lists.create_list(session, "Spring").id
    form = make_form(site.database, list_id, name="Spring form")
    request = form_signup(
        form,
        PHONE,
        fields={"phone": "201 555 0188", "first_name": "Ana"},
        disclosure_version=1,
        page_url=f"{site.url}/join/{form.slug}",
        referer="https://shop.example.com/a/very/long/page/that/embeds/the/sign-up/form?utm=spring",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
    )
    with site.database.write() as session:
        signups.start_signup(session, SIGNUP_POLICY, request)
        reply_y(session, SIGNUP_POLICY, PHONE)
        contact_id: int = session.scalars(select(Contact.id)).one()
    return contact_id


def test_the_proof_of_consent_reads_at_desktop_and_phone_width(page: Page, site: Site) -> None:
    contact_id = _signed_up(site)
    sign_in(page, site)
    page.goto(f"/contacts/{contact_id}")
    evidence = page.locator("#consent-evidence")
    expect(evidence.locator("blockquote")).to_contain_text("Consent is not a condition of purchase")
    expect(evidence).to_contain_text("203.0.113.9")
    expect(evidence).to_contain_text("by the person's reply")
    expect(page.get_by_role("link", name="Download the consent record (JSON)")).to_be_visible()
    screenshot(page, "contact-consent")
    page.set_viewport_size({"width": 375, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at phone width ({width}px)"
    screenshot(page, "contact-consent-phone")
