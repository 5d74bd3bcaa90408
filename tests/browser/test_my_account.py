"""My account in a real browser: a new password (a wrong current one refused), the other
session signed out, signing in with the new password; keys added and revoked in place."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Site, screenshot, sign_in

NEW_PASSWORD = "a brand new passphrase"


def test_a_user_changes_their_password_and_their_other_session_ends(
    page: Page, site: Site, chromium: Browser
) -> None:
    other = chromium.new_context(base_url=site.url)
    elsewhere = other.new_page()
    sign_in(elsewhere, site)
    sign_in(page, site)
    page.get_by_role("link", name="My account").click()
    page.wait_for_url("**/account")
    assert page.locator("#sessions-table tbody tr").count() == 2
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    error = page.locator("#password-form .field-error")
    error.wait_for()
    assert error.inner_text() == "is not your current password"
    assert page.get_by_label("Current password").get_attribute("aria-invalid") == "true"
    screenshot(page, "account-password-refused")

    page.get_by_label("Current password").fill(site.password)
    page.get_by_role("button", name="Change password").click()
    done = page.locator("#password-done")
    done.wait_for()
    assert done.inner_text() == "Your password is changed. 1 other session was signed out."
    expect(page.locator("#sessions-table tbody tr")).to_have_count(1)

    elsewhere.goto("/campaigns")
    assert "/login" in elsewhere.url
    other.close()

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    page.get_by_label("Email").fill(site.email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    assert page.get_by_label("Email").input_value() == site.email  # kept after a wrong password
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))


def test_a_new_key_is_listed_at_once_and_revoked_in_place(page: Page, site: Site) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, site)
    page.goto("/account")
    assert page.locator("#no-keys").is_visible()
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret")
    secret.wait_for()
    assert re.fullmatch(r"tc_[0-9a-f]{8}_[\w-]{40,}", secret.inner_text())
    row = page.locator("#keys-table tbody tr")
    assert row.count() == 1 and "CRM sync" in row.inner_text()
    assert row.locator("[data-key-state]").inner_text() == "active"
    screenshot(page, "account")
    page.get_by_role("button", name="I have stored it").click()
    assert secret.inner_text() == ""
    row.get_by_role("button", name="Revoke CRM sync").click()
    expect(page.locator("#keys-table [data-key-state]")).to_have_text("revoked")
    assert row.get_by_role("button").count() == 0


def test_the_page_fits_a_phone(chromium: Browser, site: Site) -> None:
    context = chromium.new_context(
        base_url=site.url,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    phone = context.new_page()
    sign_in(phone, site)
    phone.get_by_role("button", name="Menu").click()  # the compact bar's menu
    phone.get_by_role("link", name="My account").click()
    phone.wait_for_url("**/account")
    overflow = phone.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"/account is {overflow}px wider than the screen"
    screenshot(phone, "account-phone")
    context.close()
