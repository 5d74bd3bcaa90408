"""Creating a sign-up form in a real browser: the editor filled in, a field added, the form
saved and opened, its embed code copied to the clipboard as the site will paste it. (The live
preview needs the public page, `POST /api/v1/forms/preview`; without it the editor says
"Preview unavailable" and keeps working, which this proves too.)"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in

from textcast.domain.audience import lists
from textcast.domain.signups import forms


def test_create_a_form_and_copy_its_embed_code(page: Page, site: Site) -> None:
    with site.database.write() as session:
        lists.create_list(session, "VIP")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    sign_in(page, site)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Forms").click()
    expect(page).to_have_url(re.compile(r"/forms$"))
    page.get_by_role("link", name="New form").click()
    expect(page).to_have_url(re.compile(r"/forms/new$"))

    page.get_by_label("Title", exact=True).fill("Join our VIP texts")
    page.get_by_label("Web address").fill("vip-club")
    page.get_by_role("button", name="Add a field").click()
    new_row = page.locator(".form-field-row").last
    expect(new_row.locator(".form-field-name")).to_be_focused()
    new_row.locator(".form-field-name").fill("email")
    new_row.get_by_label("Required").check()
    page.get_by_label("Sites that embed the form").fill("https://shop.example/landing")
    expect(page.locator("#form-preview-status")).to_contain_text("Preview")

    # A bad country is named next to its input, and nothing is saved.
    page.get_by_label("Countries whose numbers may sign up").fill("US, ZZ")
    page.get_by_role("button", name="Create form").click()
    expect(page.locator(".field-error")).to_contain_text("is not a country code")
    expect(page).to_have_url(re.compile(r"/forms/new$"))
    page.get_by_label("Countries whose numbers may sign up").fill("US, CA")
    page.get_by_role("button", name="Create form").click()
    expect(page).to_have_url(re.compile(r"/forms/\d+$"))
    expect(page.get_by_role("heading", name="Join our VIP texts")).to_be_visible()

    with site.database.read() as session:
        form = forms.get_form_by_reference(session, "vip-club")
    assert form.fields == [
        {"name": "first_name", "required": False},
        {"name": "email", "required": True},
    ]
    assert form.allowed_countries == ["US", "CA"]
    assert form.allowed_origins == ["https://shop.example"]

    page.get_by_role("button", name="Copy the HTML").click()
    expect(page.locator("#copy-status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == forms.embed_snippets(form, site.url)["html"]
    assert f'<form method="post" action="{site.url}/join/vip-club"' in copied
    page.get_by_role("button", name="Copy the frame").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith(
        f'<iframe src="{site.url}/join/vip-club"'
    )
    screenshot(page, "form-editor")

    # Archived from its page, listed as such, and restored from the list.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Archive").click()
    expect(page).to_have_url(re.compile(r"/forms$"))
    row = page.locator(f"#form-{form.id}")
    expect(row).to_contain_text("archived")
    row.get_by_role("button", name="Restore").click()
    expect(page.locator(f"#form-{form.id}")).not_to_contain_text("archived")
