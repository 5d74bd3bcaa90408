"""Two-way conversations in a real browser, with the simulator and the dispatcher running: a
simulated person texts in, the editor sees the unread badge and the thread appear without a
reload, answers from the thread with a quick reply (counted as in the editor), the answer
reaches the simulator's ledger and its status turns delivered on the page; then the person
texts STOP and the next answer is refused with the reason, and the form stays closed until
they text START. Screenshots: conversations-inbox, conversation-thread,
conversation-thread-stopped, conversation-thread-phone."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.models import Contact, ContactStatus, Role

PHONE = "+12015550188"
ANSWER = "Yes, size 42 is in stock. We are open 9 to 6."
TIMEOUT_MS = 20_000


def _texts_to(api: httpx.Client, phone: str) -> list[str]:
    view = api.get("/api/v1/simulator").json()
    return [b["body"] for b in reversed(view["batches"]) if phone in b["recipients"]]


def _wait_for_text(api: httpx.Client, phone: str, body: str) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while body not in _texts_to(api, phone):
        if time.monotonic() > deadline:
            raise AssertionError(f"{body!r} never reached the simulator: {_texts_to(api, phone)}")
        time.sleep(0.1)


def _wait_for_opt_out(site: Site, phone: str) -> None:
    """The webhook stores a text at once and applies it a moment later."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        with site.database.read() as session:
            status = session.scalars(select(Contact.status).where(Contact.phone == phone)).first()
        if status == ContactStatus.UNSUBSCRIBED:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{phone} never opted out ({status})")
        time.sleep(0.05)


def test_an_agent_answers_a_person_from_the_thread_until_they_text_stop(
    page: Page, site: Site
) -> None:
    admin = make_api_key(site.database, Role.ADMIN)
    with httpx.Client(
        base_url=site.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as api:
        sign_in(page, site)
        page.goto("/inbox/quick-replies")
        page.get_by_label("Name").fill("Opening hours")
        page.get_by_label("Text").fill("We are open 9 to 6.")
        page.get_by_role("button", name="Add quick reply").click()
        expect(page.locator("#quick-reply-list")).to_contain_text("Opening hours")

        page.get_by_role("link", name="All conversations").click()
        badge = page.locator("#nav-unread")
        expect(badge).to_be_hidden()
        expect(page.locator("#tab-open .tab-count")).to_have_text("0")

        sent = api.post(
            "/api/v1/simulator/texts", json={"sender": PHONE, "body": "Do you have size 42?"}
        )
        assert sent.status_code == 201, sent.text
        # The page polls: the badge, the count and the row come without a reload.
        expect(badge).to_be_visible(timeout=TIMEOUT_MS)
        expect(badge).to_have_text("1 unread")
        expect(page.locator("#tab-unread .tab-count")).to_have_text("1")
        row = page.locator("#conversation-table tbody tr").first
        expect(row).to_contain_text("Do you have size 42?")
        expect(row).to_contain_text("1 unread")
        screenshot(page, "conversations-inbox")

        row.get_by_role("link", name=PHONE).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(PHONE)
        expect(badge).to_be_hidden()  # opening the thread read it
        expect(page.locator(".thread-in").first).to_contain_text("Do you have size 42?")

        box = page.get_by_label("Your answer")
        box.fill("Yes, size 42 is in stock. ")
        page.get_by_label("Quick reply").select_option(label="Opening hours")
        expect(box).to_have_value(ANSWER)
        counter = page.locator("#reply-counter")
        expect(counter.locator('[data-count="chars"]')).to_have_text(str(len(ANSWER)))
        expect(counter.locator('[data-count="encoding"]')).to_have_text("GSM-7")
        box.press("End")
        box.type(" 😀")
        expect(counter.locator('[data-count="encoding"]')).to_have_text("UCS-2")
        expect(page.locator("#reply-encoding-help")).to_contain_text("UCS-2", timeout=TIMEOUT_MS)
        box.fill(ANSWER)
        page.get_by_role("button", name="Send answer").click()

        expect(page.locator("#conversation-done")).to_contain_text("Answer queued")
        _wait_for_text(api, PHONE, ANSWER)
        mine = page.locator(".thread-out").first
        expect(mine).to_contain_text(ANSWER)
        expect(mine).to_contain_text("Agent reply by marketer@example.com")
        # queued, then (polled, no reload) delivered as the simulator reports it.
        expect(mine.locator("[data-status]")).to_have_text("delivered", timeout=TIMEOUT_MS)
        screenshot(page, "conversation-thread")

        thread_url = page.url.split("?")[0]
        # The person texts STOP while the page's polls are held back: the agent's next
        # answer goes to the server, which refuses it, and the page says why.
        page.route("**/updates*", lambda route: route.abort())
        stopped = api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "STOP"})
        assert stopped.status_code == 201, stopped.text
        _wait_for_opt_out(site, PHONE)
        box.fill("One more thing: free delivery this week.")
        page.get_by_role("button", name="Send answer").click()
        refusal = page.locator("#reply-refusal")
        expect(refusal).to_be_visible()
        expect(refusal).to_contain_text("opted out (STOP)")
        expect(refusal).to_contain_text("until they text START")
        expect(box).to_have_value("One more thing: free delivery this week.")
        expect(page.get_by_role("button", name="Send answer")).to_be_disabled()
        page.unroute("**/updates*")

        page.goto(thread_url)
        expect(refusal).to_contain_text("opted out (STOP)")
        expect(page.get_by_role("button", name="Send answer")).to_be_disabled()
        expect(page.locator(".thread-in").first).to_contain_text("STOP")
        screenshot(page, "conversation-thread-stopped")
        # Live, both ways: START opens the form again, a new STOP closes it, no reload.
        api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "START"})
        expect(page.get_by_role("button", name="Send answer")).to_be_enabled(timeout=TIMEOUT_MS)
        expect(refusal).to_be_hidden()
        api.post("/api/v1/simulator/texts", json={"sender": PHONE, "body": "STOP"})
        expect(refusal).to_be_visible(timeout=TIMEOUT_MS)
        expect(refusal).to_contain_text("opted out (STOP)")
        expect(box).to_be_disabled()

        page.set_viewport_size({"width": 375, "height": 812})
        overflow = page.evaluate(
            "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"a conversation is {overflow}px wider than a phone's screen"
        screenshot(page, "conversation-thread-phone")
        time.sleep(0.5)
        assert _texts_to(api, PHONE).count(ANSWER) == 1  # once, and nothing after the STOP
