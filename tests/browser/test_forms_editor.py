"""The sign-up form editor in a real browser: a form filled in, a field added, saved and
opened, its embed code copied to the clipboard as the site will paste it, archived and
restored; and the live preview following the edits at phone and desktop width, or saying
"Preview unavailable" (and the editor working on) when the preview endpoint fails."""

from __future__ import annotations

import html
import json
import re

from playwright.sync_api import Page, Route, expect
from tests.browser.conftest import Site, screenshot, sign_in

from textcast.domain.audience import lists
from textcast.domain.signups import embeds, forms


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
    assert copied == embeds.embed_snippets(form, site.url)["html"]
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

    # On a phone, neither the list nor the editor (with its previews) is wider than the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/forms", f"/forms/{form.id}"):
        page.goto(path)
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow}px wider than the screen"
    screenshot(page, "form-editor-phone")


def test_the_preview_follows_the_edits_at_both_widths(page: Page, site: Site) -> None:
    """The public page's preview endpoint stands in at the browser's network layer (it is
    another slice's); what is proved here is the editor's side of the contract."""
    with site.database.write() as session:
        lists.create_list(session, "VIP")
    asked: list[dict[str, object]] = []

    def answer(route: Route) -> None:
        values = json.loads(route.request.post_data or "{}")
        asked.append(values)
        title = html.escape(str(values["title"]))
        route.fulfill(status=200, content_type="text/html", body=f"<!doctype html><h1>{title}</h1>")

    sign_in(page, site)
    page.route("**/api/v1/forms/preview", answer)
    page.goto("/forms/new")
    page.get_by_label("Title", exact=True).fill("Spring <VIP>")
    for frame in ("#form-preview-phone", "#form-preview-desktop"):
        expect(page.frame_locator(frame).locator("h1")).to_have_text("Spring <VIP>")
    assert set(asked[-1]) == {
        "title",
        "description",
        "fields",
        "disclosure",
        "language",
        "double_opt_in",
    }
    assert asked[-1]["fields"] == [{"name": "first_name", "required": False}]
    assert page.locator("#form-preview-phone").evaluate("f => f.offsetWidth") == 375
    page.unroute("**/api/v1/forms/preview")
    page.get_by_label("Title", exact=True).fill("Changed")
    expect(page.locator("#form-preview-status")).to_have_text("Preview unavailable.")
