"""A person signs up on a shop's own page through the embedded form, confirms with "Y" from
their phone (the simulator), and ends up subscribed with the proof of it; the welcome text
reaches the phone once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tests.browser.conftest import Site, screenshot
from tests.factories import bearer, make_api_key, make_form
from tests.servers import free_port, serving

from textcast.domain.audience import lists
from textcast.domain.signups import embeds
from textcast.models import Contact, ContactStatus, Role, SignupForm

PHONE = "+12015550188"
THANKS = "Thanks! Check your phone for a text to confirm."


@pytest.fixture
def shop_page(site: Site) -> Iterator[tuple[str, SignupForm]]:
    """A plain HTML page on another origin (the shop's site) that embeds the form's snippet."""
    port = free_port()
    shop = f"http://127.0.0.1:{port}"
    with site.database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    form = make_form(
        site.database,
        list_id,
        slug="vip",
        allowed_origins=[shop],
        thank_you_text=THANKS,
        fields=[{"name": "first_name", "required": True}],
    )
    snippet = embeds.embed_snippets(form, site.url)["html"]
    html = (
        "<!doctype html><html><head><title>Shop</title></head><body>"
        f"<h1>Our shop</h1>{snippet}</body></html>"
    )

    async def index(_: object) -> HTMLResponse:
        return HTMLResponse(html)

    with serving(Starlette(routes=[Route("/", index)]), port) as url:
        yield url, form


def _wait_for(check: object, timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_person_signs_up_on_the_shops_page_and_confirms_by_text(
    chromium: Browser, site: Site, shop_page: tuple[str, SignupForm]
) -> None:
    shop_url, form = shop_page
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page: Page = context.new_page()
    page.goto(shop_url)
    page.get_by_label("Mobile number").fill(PHONE)
    page.get_by_label("First name", exact=False).fill("Ana")
    expect(page.get_by_text("Msg & data rates may apply", exact=False)).to_be_visible()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(THANKS)).to_be_visible(timeout=20_000)
    screenshot(page, "signup-thanks")
    context.close()

    key = make_api_key(site.database, Role.ADMIN)
    with httpx.Client(base_url=site.url, headers=bearer(key), timeout=20) as api:
        confirmation = form.confirmation_text

        def texted(body: str) -> list[dict[str, object]]:
            batches = api.get("/api/v1/simulator").json()["batches"]
            return [b for b in batches if b["body"] == body and PHONE in b["recipients"]]

        _wait_for(lambda: texted(confirmation))
        sent = api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "Y"})
        assert sent.status_code == 201, sent.text

        def subscribed() -> int | None:
            with site.database.read() as session:
                contact = session.scalars(select(Contact).where(Contact.phone == PHONE)).first()
                if contact is not None and contact.status == ContactStatus.SUBSCRIBED:
                    return contact.id
            return None

        contact_id = _wait_for(subscribed)
        _wait_for(lambda: texted(form.welcome_text or ""))
        time.sleep(1.0)  # a second welcome would have been sent by now
        assert len(texted(form.welcome_text or "")) == 1
        assert len(texted(confirmation)) == 1

        record = api.get(f"/api/v1/contacts/{contact_id}/consent").json()
    assert record["marketing"] == "confirmed"
    opt_in = next(e for e in record["ledger"] if e["kind"] == "opt_in")
    assert (opt_in["purpose"], opt_in["source"]) == ("marketing", "form:vip")
    signup = opt_in["signup"]
    assert signup["disclosure"] == form.disclosure
    assert signup["disclosure_version"] == form.disclosure_version
    assert signup["ip"] == "127.0.0.1"  # the address it was submitted from
    assert "Chrome" in signup["user_agent"]
    assert (signup["referer"] or "").startswith(shop_url)  # the page that embedded the form
    assert signup["fields"]["first_name"] == "Ana"
    assert signup["submitted_at"] and signup["confirmed_at"]
    assert signup["confirmation_inbound_id"] and signup["confirmation_received_at"]
