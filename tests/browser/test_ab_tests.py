"""A/B tests in a real browser: the editor's test section (a counter per variant tab, saved and
reopened, a refused pool shown next to its field), and the whole journey: two texts tried on a
pool, clicks on variant B's links, B sent to the rest of the audience, everybody texted once."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import Site, running_site, screenshot, sign_in
from tests.factories import make_api_key

from textcast.config import load_settings
from textcast.models import AbTest, Campaign, Link, Message, Role
from textcast.runtime import SIMULATOR_MOUNT, SIMULATOR_PLAN_ID, simulator_token

TIMEOUT_S = 60
BODY_A = "A: our spring sale starts today, see https://example.com/spring-a"
BODY_B = "B: 20% off everything this weekend only https://example.com/spring-b"
PEOPLE = [f"+1201555{n:04d}" for n in range(300, 350)]  # 50 recipients


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """The browser tests' site, its links shortened (the click rate counts short links)."""
    with running_site(database_url, short_link_base="https://go.example") as site:
        yield site


def _campaign_id(page: Page) -> int:
    page.wait_for_url(re.compile(r".*/campaigns/\d+/plan$"))
    return int(page.url.rsplit("/", 2)[-2])


def test_the_editor_keeps_a_counter_per_variant_and_reopens_the_test(
    page: Page, site: Site
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, site)
    page.goto("/campaigns/new")
    page.locator("#name").fill("Spring, tested")
    page.locator("#body").fill(BODY_A)
    page.locator("#recipients").fill("+12015550101\n+12015550102")
    expect(page.locator("#ab-fields")).to_be_hidden()

    # The switch on: variant A's tab holds the campaign's text; B has its own, and counter.
    page.locator("#ab_enabled").check()
    expect(page.locator("#variant-panel-A #body")).to_be_visible()
    expect(page.locator("#body-label")).to_have_text("Variant A's text")
    page.locator("#variant-tab-B").click()
    expect(page.locator("#body")).to_be_hidden()
    long_b = BODY_B + " " + "Every item in every shop, online too. " * 4
    assert 160 < len(long_b) <= 306
    page.locator("#variant_body_B").fill(long_b)
    expect(page.locator("#counter-B [data-count=parts]")).to_have_text("2")
    expect(page.locator("#counter-B [data-count=parts-word]")).to_have_text("parts")
    expect(page.locator("#counter-B[data-source=api]")).to_be_attached()
    # The preview shows the text of the tab in view.
    expect(page.locator("#preview-text")).to_contain_text("Every item in every shop")
    expect(page.locator("#preview-meta")).to_contain_text("would receive variant B: ")
    page.locator("#variant-tab-A").click()
    expect(page.locator("#counter-parts")).to_have_text("1")
    expect(page.locator("#counter-chars")).to_have_text(str(len(BODY_A)))
    expect(page.locator("#preview-text")).to_contain_text("our spring sale starts today")
    expect(page.locator("#preview-meta")).to_contain_text("would receive it: ")

    # A third variant added, then removed again: two tabs, as saved.
    page.locator("#add-variant").click()
    expect(page.locator("#variant-tab-C")).to_be_visible()
    expect(page.locator("#variant_body_C")).to_be_focused()
    page.locator("#remove-variant").click()
    expect(page.locator("#variant-tab-C")).to_be_hidden()

    page.locator("#pool_percent").fill("30")
    page.locator("#metric").select_option("event")
    expect(page.locator("#event_name")).to_be_visible()
    page.locator("#event_name").fill("order_placed")
    page.locator("#decide-manual").check()
    expect(page.locator("#decide_after_hours")).to_be_disabled()
    page.locator("#fallback-wait").check()
    page.locator("#min_sample").fill("40")
    screenshot(page, "ab-editor")
    page.locator("#create-button").click()
    campaign_id = _campaign_id(page)

    # Reopened: every value as saved, each counter counting its own text.
    page.goto(f"/campaigns/{campaign_id}/edit")
    expect(page.locator("#ab_enabled")).to_be_checked()
    expect(page.locator("#body")).to_have_value(BODY_A)
    expect(page.locator("#variant-tab-C")).to_be_hidden()
    page.locator("#variant-tab-B").click()
    expect(page.locator("#variant_body_B")).to_have_value(long_b)
    expect(page.locator("#counter-B [data-count=parts]")).to_have_text("2")
    expect(page.locator("#pool_percent")).to_have_value("30")
    expect(page.locator("#metric")).to_have_value("event")
    expect(page.locator("#event_name")).to_have_value("order_placed")
    expect(page.locator("#decide-manual")).to_be_checked()
    expect(page.locator("#fallback-wait")).to_be_checked()
    expect(page.locator("#min_sample")).to_have_value("40")

    # A pool of 150%: refused next to its field, in words; nothing of the change is kept.
    page.locator("#pool_percent").fill("150")
    page.locator("#variant_body_B").fill(BODY_B)
    page.locator("#create-button").click()
    error = page.locator('[data-ab-error="test.pool_percent"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("Test pool: must be 1 to 100")
    expect(page.locator("#form-errors")).to_contain_text("1 problem in the A/B test")
    screenshot(page, "ab-editor-refused")
    page.goto(f"/campaigns/{campaign_id}/edit")
    expect(page.locator("#pool_percent")).to_have_value("30")
    expect(page.locator("#variant_body_B")).to_have_value(long_b)

    # A variant's empty text is refused in its own tab.
    page.locator("#variant-tab-B").click()
    page.locator("#variant_body_B").fill("")
    page.locator("#variant-tab-A").click()
    page.locator("#create-button").click()
    empty = page.locator('[data-ab-error="variants[1].body"]')
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("Variant B's text: must not be empty")


def _wait_for(what: str, found: Any) -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _texts(site: Site) -> Counter[tuple[str, str]]:
    """Every text the simulator was asked to send, as (recipient, text), its placeholders
    filled in per recipient as Sinch fills them."""
    url = site.database.engine.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, secret_key="browser-tests")
    listed = httpx.get(
        f"{site.url}{SIMULATOR_MOUNT}/xms/v1/{SIMULATOR_PLAN_ID}/batches?page_size=100",
        headers={"Authorization": f"Bearer {simulator_token(settings)}"},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    texts: Counter[tuple[str, str]] = Counter()
    for batch in listed.json()["batches"]:
        parameters = batch.get("parameters") or {}
        for recipient in batch["to"]:
            text = batch["body"]
            for key, values in parameters.items():
                value = values.get(recipient, values.get("default", ""))
                text = text.replace("${" + key + "}", value)
            texts[(recipient.removeprefix("+"), text)] += 1
    return texts


def test_a_two_variant_campaign_sends_the_winner_to_the_rest(page: Page, site: Site) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, site)
    page.goto("/campaigns/new")
    page.locator("#name").fill("Weekend sale, tested")
    page.locator("#body").fill(BODY_A)
    page.locator("#recipients").fill("\n".join(PEOPLE))
    page.locator("#ab_enabled").check()
    page.locator("#variant-tab-B").click()
    page.locator("#variant_body_B").fill(BODY_B)
    page.locator("#pool_percent").fill("40")
    page.locator("#metric").select_option("clicks")
    page.locator("#decide-manual").check()
    page.locator("#min_sample").fill("5")
    page.locator("#create-button").click()
    campaign_id = _campaign_id(page)
    page.locator("#send-button").click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}$"))
    expect(page.locator("#ab-results")).to_be_visible()

    # The pool (40% of 50, 10 per variant) sent by the simulator.
    def cells() -> dict[int, str] | None:
        with site.database.read() as session:
            found = dict(
                session.execute(
                    select(Campaign.id, Campaign.variant).where(
                        Campaign.parent_id == campaign_id, Campaign.variant.is_not(None)
                    )
                ).all()
            )
            sent = session.scalar(
                select(Message.id)
                .where(Message.campaign_id.in_(found), Message.sent_at.is_(None))
                .limit(1)
            )
            total = len(
                session.scalars(select(Message.id).where(Message.campaign_id.in_(found))).all()
            )
        return found if found and sent is None and total == 20 else None

    variant_of = _wait_for("the test pool to be sent", cells)
    assert sorted(variant_of.values()) == ["A", "B"]

    # Clicks: 8 of B's 10 recipients open their link, 1 of A's.
    with site.database.read() as session:
        links = session.execute(select(Link.code, Link.campaign_id)).all()
    codes: dict[str, list[str]] = {"A": [], "B": []}
    for code, cell in links:
        codes[variant_of[cell]].append(code)
    assert len(codes["A"]) == len(codes["B"]) == 10
    for code in codes["B"][:8] + codes["A"][:1]:
        opened = httpx.get(f"{site.url}/l/{code}", follow_redirects=False, timeout=30)
        assert opened.status_code in (302, 303, 307), opened.text

    # The results card: B ahead, with its rate and interval; the pick sends B to the rest.
    page.reload()
    card = page.locator("#ab-results")
    expect(card).to_contain_text("click rate")
    expect(page.locator("#ab-variant-B")).to_contain_text("leading")
    expect(page.locator("#ab-variant-B [data-figure=rate]")).to_contain_text("80.0%")
    expect(page.locator("#ab-variant-A [data-figure=rate]")).to_contain_text("10.0%")
    expect(page.locator("#ab-variant-B [data-figure=rate]")).to_contain_text("95% interval")
    expect(page.locator("#ab-state")).to_contain_text("waiting for your pick")
    screenshot(page, "ab-results-testing")
    send = page.locator("#ab-pick-winner")
    expect(send).to_have_text("Send B to the rest now")
    send.click()
    confirm = page.locator("#ab-confirm-button-winner")
    expect(confirm).to_have_text("Yes, send B to 30 recipients")
    confirm.click()
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}(#ab-results)?$"))
    expect(page.locator("#ab-winner")).to_have_text("B")
    expect(page.locator("#ab-state")).to_contain_text("marketer@example.com")
    expect(page.locator("#ab-pick-winner")).to_have_count(0)
    expect(page.locator("#ab-pick-A")).to_have_count(0)

    # Everybody texted once: the pool its variant, the rest B's text.
    with site.database.read() as session:
        rest_id = session.scalar(select(AbTest.rest_id).where(AbTest.campaign_id == campaign_id))

    def rest_sent() -> bool:
        with site.database.read() as session:
            waiting = session.scalar(
                select(Message.id)
                .where(Message.campaign_id == rest_id, Message.sent_at.is_(None))
                .limit(1)
            )
            total = len(
                session.scalars(select(Message.id).where(Message.campaign_id == rest_id)).all()
            )
        return waiting is None and total == 30

    _wait_for("the rest to be sent", rest_sent)
    admin = make_api_key(site.database, Role.ADMIN)
    ledger = httpx.get(
        f"{site.url}{SIMULATOR_MOUNT}/_simulator/ledger?full=1",
        headers={"X-API-Key": admin},
        timeout=30,
    ).json()
    assert ledger["duplicates"] == []
    assert ledger["accepted_recipients"] == len(PEOPLE)
    assert sorted(ledger["recipients"]) == sorted(p.removeprefix("+") for p in PEOPLE)
    texts = _texts(site)
    assert sum(texts.values()) == len(PEOPLE)
    got = {recipient: text for recipient, text in texts}
    with site.database.read() as session:
        pool = {
            phone.removeprefix("+")
            for phone in session.scalars(
                select(Message.phone).where(Message.campaign_id.in_(variant_of))
            )
        }
    rest = set(got) - pool
    assert len(rest) == 30
    assert all(got[r].startswith("B: 20% off everything") for r in rest)
    assert all(re.match(r"[AB]: ", got[r]) for r in pool)

    # A cell's own page names its test, and has no controls.
    cell_b = next(cell for cell, label in variant_of.items() if label == "B")
    page.goto(f"/campaigns/{cell_b}")
    expect(page.locator("#part-of-test")).to_contain_text(
        "Part of Weekend sale, tested's A/B test (variant B)"
    )
    expect(page.locator("#controls button:visible")).to_have_count(0)
    expect(page.locator("#campaign-actions")).to_have_count(0)
    page.goto(f"/campaigns/{campaign_id}")
    screenshot(page, "ab-results-decided")
