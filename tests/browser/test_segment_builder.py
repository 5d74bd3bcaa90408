"""Building a segment by clicks in a real browser: two conditions and a nested group, the
live count following each change, the JSON kept in step, then the saved segment's page with
its rules in words and its contacts. Screenshots of both pages, wide and on a phone."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Role

PEOPLE = [
    {"phone": "+12015550141", "first_name": "Ana", "attributes": {"plan": "gold"}},
    {"phone": "+12015550142", "first_name": "Bo", "attributes": {"plan": "free"}},
    {"phone": "+14165550143", "first_name": "Chen", "attributes": {"plan": "gold"}},
    {"phone": "+33612345678", "first_name": "Dee"},
    {"phone": "+12015550145"},
    {"phone": "+12015550146", "first_name": "Fay", "attributes": {"plan": "gold"}},
]


def _seed(site: Site) -> None:
    key = make_api_key(site.database, Role.EDITOR)
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as api:
        ids = [api.post("/api/v1/contacts", json=person).json()["id"] for person in PEOPLE]
        api.post(f"/api/v1/contacts/{ids[5]}/opt-out", json={})
        vip = api.post("/api/v1/lists", json={"name": "VIP"}).json()
        api.post(f"/api/v1/lists/{vip['id']}/members", json={"contact_ids": [ids[3]]})


def _fits(page: Page) -> None:
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"


def test_build_a_segment_by_clicks_and_see_its_members(page: Page, site: Site) -> None:
    _seed(site)
    sign_in(page, site)
    page.goto("/contacts/lists")
    page.get_by_role("link", name="New segment").click()
    expect(page).to_have_url(re.compile(r"/segments/new$"))

    count = page.locator("#segment-count")
    # It starts from the subscribed contacts.
    expect(count).to_have_text("5 contacts match now, 5 of them subscribed.")

    # A second condition: the first name is set.
    page.get_by_role("button", name="Add condition", exact=True).click()
    expect(page.get_by_label("Field of condition 2")).to_be_focused()
    page.get_by_label("Field of condition 2").select_option("first_name")
    page.get_by_label("Comparison of condition 2").select_option("exists")
    expect(count).to_have_text("4 contacts match now, 4 of them subscribed.")

    # A nested group: the plan is gold, or on the list VIP.
    page.get_by_role("button", name="Add group", exact=True).click()
    page.get_by_label("Field of condition 1 of group 3").select_option("attributes.plan")
    page.get_by_label("Value of condition 1 of group 3").fill("gold")
    page.get_by_role("button", name="Add condition to group 3").click()
    page.get_by_label("Field of condition 2 of group 3").select_option("list")
    page.get_by_label("Value of condition 2 of group 3").select_option(label="VIP")
    expect(count).to_have_text("3 contacts match now, 3 of them subscribed.")
    expect(page.locator("#segment-words")).to_have_text(
        "Subscribed contacts whose first name is set and "
        "(whose plan is “gold” or on the list “VIP”)"
    )

    # The JSON under Advanced follows the builder.
    page.locator("#segment-advanced summary").click()
    rules = json.loads(page.locator("#segment-json").input_value())
    assert rules["conditions"][2]["match"] == "any"
    assert rules["conditions"][2]["conditions"][0] == {
        "field": "attributes.plan",
        "op": "eq",
        "value": "gold",
    }

    page.get_by_label("Name").fill("Engaged")
    screenshot(page, "segment-builder")
    page.set_viewport_size({"width": 375, "height": 740})
    _fits(page)
    screenshot(page, "segment-builder-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Create segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    expect(page.get_by_role("heading", name="Engaged")).to_be_visible()
    expect(page.locator("#segment-words")).to_contain_text("whose plan is “gold”")
    expect(page.locator("#segment-contacts")).to_have_text("3")
    members = page.locator("#segment-members tbody tr")
    expect(members).to_have_count(3)
    expect(page.locator("#segment-members")).to_contain_text("+33612345678")
    screenshot(page, "segment-page")
    page.set_viewport_size({"width": 375, "height": 740})
    _fits(page)
    screenshot(page, "segment-page-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Edit: the builder comes back filled in; a broken value is named before it is saved.
    page.get_by_role("link", name="Edit Engaged").click()
    expect(page.get_by_label("Value of condition 1 of group 3")).to_have_value("gold")
    expect(count).to_have_text("3 contacts match now, 3 of them subscribed.")
    page.get_by_label("Comparison of condition 1 of group 3").select_option("gt")
    expect(page.locator("#segment-live-problems")).to_contain_text(
        "condition 1 of the group in condition 3: must be a number"
    )
    page.get_by_label("Value of condition 1 of group 3").fill("10")
    expect(count).to_have_text("1 contact matches now, 1 of them subscribed.")
