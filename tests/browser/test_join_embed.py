"""The public sign-up form embedded on another site, in Chromium: framed by an allowed origin
and posted from a plain HTML form there, under the real Content-Security-Policy; its sign-up
keeps the browser's evidence and its confirmation text reaches the simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tests.browser.conftest import Site, screenshot
from tests.factories import make_form
from tests.servers import free_port, serving

from textcast.domain.audience import lists
from textcast.models import Campaign, CampaignKind, Message, Signup


@pytest.fixture
def shop(site: Site) -> Iterator[str]:
    """The operator's own site, on another origin: a page framing the form, and a page with
    a plain HTML form posting to it."""

    def framing(request: Request) -> HTMLResponse:
        slug = request.query_params.get("form", "vip")
        return HTMLResponse(
            f'<!doctype html><title>Shop</title><h1>Shop</h1><iframe id="signup" '
            f'src="{site.url}/join/{slug}" title="Get our texts" width="400" height="600">'
            "</iframe>"
        )

    def posting(_: Request) -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><title>Shop</title><form method="post" action="{site.url}/join/vip">'
            '<label>Phone <input name="phone" type="tel"></label>'
            '<input name="company_website" tabindex="-1" hidden>'
            "<button>Join</button></form>"
        )

    app = Starlette(routes=[Route("/", framing), Route("/plain", posting)])
    with serving(app, free_port()) as url:
        yield url


def _form(site: Site, origins: list[str], slug: str = "vip") -> None:
    with site.database.write() as session:
        list_id = lists.create_list(session, f"List {slug}").id
    make_form(site.database, list_id, slug=slug, allowed_origins=origins)


def _confirmation_accepted(site: Site, phone: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with site.database.read() as session:
            sent = session.scalar(
                select(Message.sent_at)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.kind == CampaignKind.CONFIRMATION, Message.phone == phone)
            )
        if sent is not None:
            return True
        time.sleep(0.1)
    return False


def test_the_form_framed_by_an_allowed_site_signs_up(page: Page, site: Site, shop: str) -> None:
    _form(site, [shop])
    page.goto(shop)
    frame = page.frame_locator("#signup")
    frame.get_by_label("Mobile phone number").fill("(201) 555-0142")
    frame.get_by_role("button", name="Sign up").click()
    frame.get_by_role("heading", name="Thank you!").wait_for()
    screenshot(page, "join-framed")
    with site.database.read() as session:
        signup = session.scalars(select(Signup)).one()
    assert signup.phone == "+12015550142"
    assert signup.ip == "127.0.0.1"
    assert signup.user_agent is not None and "Chrome" in signup.user_agent
    assert signup.referer is not None and signup.referer.startswith(shop)  # the framing page
    assert _confirmation_accepted(site, "+12015550142")


def test_a_plain_html_form_on_the_shop_posts_to_the_form(page: Page, site: Site, shop: str) -> None:
    _form(site, [shop])
    page.goto(f"{shop}/plain")
    page.get_by_label("Phone").fill("+1 201 555 0143")
    page.get_by_role("button", name="Join").click()
    page.wait_for_url(f"{site.url}/join/vip/thanks")
    assert page.get_by_role("heading", name="Thank you!").is_visible()
    with site.database.read() as session:
        signup = session.scalars(select(Signup)).one()
    assert (signup.phone, signup.origin) == ("+12015550143", shop)
    assert signup.disclosure is not None and "Msg & data rates may apply" in signup.disclosure


def test_a_site_the_form_does_not_name_cannot_frame_it(chromium: Browser, site: Site) -> None:
    _form(site, ["https://shop.example.com"], slug="closed")
    context = chromium.new_context()
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    try:
        with serving(
            Starlette(
                routes=[
                    Route(
                        "/",
                        lambda _: HTMLResponse(
                            f'<iframe id="signup" src="{site.url}/join/closed"></iframe>'
                        ),
                    )
                ]
            ),
            free_port(),
        ) as elsewhere:
            page.goto(elsewhere)
            deadline = time.monotonic() + 5
            while not refused and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert refused, "the form was framed by a site it does not name"
            assert page.frame_locator("#signup").get_by_role("button").count() == 0
    finally:
        context.close()
