"""Keyword opt-in in a real browser, with the simulator and the dispatcher running: an editor
adds VIP on /keywords (a clash first, refused next to the field), a simulated phone texts VIP
and gets the confirmation, replies Y and gets the welcome once; the page counts the sign-up
as confirmed; then the keyword is edited and removed. Screenshots: keywords, keywords-phone."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Role

PHONE = "+12015550177"
TIMEOUT_S = 20.0


def _texts_to(api: httpx.Client, phone: str) -> list[str]:
    view = api.get("/api/v1/simulator").json()
    return [b["body"] for b in reversed(view["batches"]) if phone in b["recipients"]]


def _wait_for_texts(api: httpx.Client, phone: str, count: int) -> list[str]:
    deadline = time.monotonic() + TIMEOUT_S
    while ((found := _texts_to(api, phone)) and len(found) < count) or not found:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} texts expected, the simulator has {found}")
        time.sleep(0.1)
    return found


def test_an_editor_adds_a_keyword_and_a_phone_joins_by_text(page: Page, site: Site) -> None:
    admin = make_api_key(site.database, Role.ADMIN)
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as api:
        api.post("/api/v1/lists", json={"name": "VIP club"})
        sign_in(page, site)
        page.get_by_role("link", name="Keywords").click()
        page.wait_for_url("**/keywords")
        expect(page.get_by_text("No keywords yet.")).to_be_visible()

        form = page.locator("#keyword-form")
        form.get_by_label("Keyword").fill("stop")
        form.get_by_role("button", name="Add keyword").click()
        expect(form.locator(".field-error")).to_contain_text(
            "STOP is already an opt-out keyword (OPT_OUT_KEYWORDS)"
        )
        form.get_by_label("Keyword").fill("vip")
        form.get_by_label("Already subscribed reply").fill("You are on the VIP list already.")
        form.get_by_role("button", name="Add keyword").click()
        row = page.locator("#keywords-table tbody tr").first
        expect(row).to_contain_text("VIP")
        expect(row).to_contain_text("VIP club")
        expect(row.locator("td.keyword-mode")).to_have_text("Double opt-in")

        api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "VIP"})
        [confirmation] = _wait_for_texts(api, PHONE, 1)
        assert "reply Y" in confirmation
        api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "Y"})
        texts = _wait_for_texts(api, PHONE, 2)
        assert texts[1].startswith("textcast: welcome!")
        time.sleep(0.5)
        assert len(_texts_to(api, PHONE)) == 2  # the welcome once

        page.reload()
        cells = page.locator("#keywords-table tbody tr").first.locator("td.num")
        expect(cells).to_have_text(["1", "1", "0", "0"])
        screenshot(page, "keywords")
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_text("Texts, edit").click()
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"/keywords is {overflow}px wider than a phone's screen"
        screenshot(page, "keywords-phone")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.reload()

        page.get_by_text("Texts, edit").click()
        edit = page.locator("form.keyword-edit")
        edit.get_by_label("Mode").select_option("false")
        edit.get_by_label("Welcome text").fill("")
        edit.get_by_role("button", name="Save").click()
        expect(row.locator("td.keyword-mode")).to_have_text("Single opt-in")
        assert api.get("/api/v1/keywords").json()[0]["welcome_text"] is None

        page.get_by_text("Texts, edit").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Remove").click()
        expect(page.get_by_text("No keywords yet.")).to_be_visible()
