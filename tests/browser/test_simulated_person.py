"""An admin plays a person on the simulator's page: signs up on a real form (posted to this
server's own `/join/{slug}` over HTTP), then replies Y, and the person is subscribed."""

from __future__ import annotations

import dataclasses
import re
import time

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, sign_in
from tests.factories import make_form, make_user

from textcast.domain.audience import lists
from textcast.models import Contact, ContactStatus, Role, Signup, SignupStatus

PHONE = "+12015550177"


def _signup_status(site: Site) -> str | None:
    with site.database.read() as session:
        found = session.scalars(select(Signup.status).where(Signup.phone == PHONE)).first()
    return None if found is None else str(found)


def test_an_admin_signs_up_as_a_person_and_replies_y(page: Page, site: Site) -> None:
    admin = dataclasses.replace(site, email="admin@example.com")
    make_user(site.database, admin.email, Role.ADMIN)
    with site.database.write() as session:
        list_id = lists.create_list(session, "VIP").id
    make_form(site.database, list_id, slug="vip", title="VIP texts")
    sign_in(page, admin)
    page.goto("/simulator")

    page.get_by_label("Form", exact=True).select_option("vip")
    page.get_by_label("Number", exact=True).fill(PHONE)
    page.get_by_label("Other fields (optional)").fill("first_name=Ana")
    page.locator("#simulator-signup-send").click()
    result = page.locator("#simulator-signup-result")
    expect(result).to_contain_text("303", timeout=20_000)
    assert _signup_status(site) == SignupStatus.PENDING

    page.get_by_role("button", name=re.compile(rf"Reply Y from {re.escape(PHONE)}")).click()
    deadline = time.monotonic() + 20
    while _signup_status(site) != SignupStatus.CONFIRMED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _signup_status(site) == SignupStatus.CONFIRMED
    with site.database.read() as session:
        contact = session.scalars(select(Contact).where(Contact.phone == PHONE)).one()
        signup = session.scalars(select(Signup).where(Signup.phone == PHONE)).one()
    assert (contact.status, contact.first_name) == (ContactStatus.SUBSCRIBED, "Ana")
    # The evidence is the simulated person's, as a browser on the hosted page would leave it.
    assert signup.user_agent is not None and "textcast-simulator" in signup.user_agent
    assert signup.ip == "127.0.0.1"
