"""/campaigns and /campaigns/{id}: the list, live progress, charts, controls, a draft."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from tests.factories import make_campaign, numbers
from tests.web.dashboard.conftest import SignedIn

from textcast.db import Database
from textcast.domain import campaigns
from textcast.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    ContactList,
    Message,
    MessageStatus,
    Role,
)
from textcast.web.dashboard.campaign_detail import PAGE_SIZE

S = MessageStatus
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def element(page: str, element_id: str) -> str:
    """The text of the element with this id (tags stripped)."""
    found = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert found is not None, element_id
    return re.sub(r"<[^>]+>", "", found[2]).strip()


def tag(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[^>]* id="{element_id}"[^>]*>', page)
    assert found is not None, element_id
    return found[0]


def settle(database: Database, campaign_id: int, *changes: dict[str, Any]) -> None:
    """Give the campaign's first messages these values, in id order."""
    with database.write() as session:
        ids = session.scalars(
            select(Message.id).where(Message.campaign_id == campaign_id).order_by(Message.id)
        ).all()
        for message_id, values in zip(ids, changes, strict=False):
            if values:
                session.execute(update(Message).where(Message.id == message_id).values(**values))


def delivered(minute: int) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minute)
    return {"status": S.DELIVERED, "status_code": 0, "sent_at": T0, "operator_status_at": at}


FAILED_34 = {"status": S.FAILED, "status_code": 34, "sent_at": T0, "operator_status_at": T0}
OPTED_OUT = {"status": S.SKIPPED, "error": "opted_out"}


@pytest.fixture
def sending(database: Database) -> int:
    """A campaign being sent: 3 delivered, 1 failed, 1 skipped, 1 still queued."""
    campaign = make_campaign(database, numbers(6), launch=True)
    settle(database, campaign.id, delivered(0), delivered(0), delivered(2), FAILED_34, OPTED_OUT)
    return campaign.id


def add_campaigns(database: Database, count: int, **values: Any) -> list[int]:
    with database.write() as session:
        rows = [
            {
                "reference": campaigns.new_reference(),
                "name": f"Campaign {n}",
                "body": "Hello",
                "encoding": "GSM-7",
                "parts": 1,
                "status": CampaignStatus.COMPLETED,
                "kind": CampaignKind.MARKETING,
                "recipient_count": 0,
                "audience": {},
                "spent": 0.0,
                "created_at": T0,
            }
            | values
            for n in range(count)
        ]
        return list(session.scalars(insert(Campaign).returning(Campaign.id), rows))


# -- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_state_and_delivery_rate(
    signed_in: SignedIn, database: Database, sending: int
) -> None:
    draft = make_campaign(database, numbers(2))
    with signed_in(Role.VIEWER) as client:
        page = client.get("/campaigns").text

    row = page[page.index(f'id="campaign-row-{sending}"') :].split("</tr>")[0]
    assert f'<a href="/campaigns/{sending}">Test campaign</a>' in row
    assert "status-sending" in row
    assert ">6</td>" in row  # recipients
    assert ">75.0%</td>" in row  # 3 delivered of 4 final outcomes; skipped is not one
    draft_row = page[page.index(f'id="campaign-row-{draft.id}"') :].split("</tr>")[0]
    assert "status-draft" in draft_row and "no final outcome yet" in draft_row
    assert page.index(f"campaign-row-{draft.id}") < page.index(f"campaign-row-{sending}")
    assert 'id="new-campaign"' not in page


def test_writers_find_a_link_to_a_new_campaign(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        page = client.get("/campaigns").text
    assert tag(page, "new-campaign") == '<a class="button" id="new-campaign" href="/campaigns/new">'
    assert 'id="no-campaigns"' in page


def test_keyword_replies_and_test_sends_are_listed_on_request(
    signed_in: SignedIn, database: Database
) -> None:
    (reply,) = add_campaigns(database, 1, kind=CampaignKind.REPLY)
    (marketing,) = add_campaigns(database, 1)
    with signed_in(Role.VIEWER) as client:
        assert f'id="campaign-row-{reply}"' not in client.get("/campaigns").text
        every = client.get("/campaigns?all=true").text
    assert f'id="campaign-row-{reply}"' in every and f'id="campaign-row-{marketing}"' in every
    assert "(reply)" in every


def test_the_list_pages_back_to_older_campaigns(signed_in: SignedIn, database: Database) -> None:
    ids = add_campaigns(database, PAGE_SIZE + 1)
    with signed_in(Role.VIEWER) as client:
        first = client.get("/campaigns").text
        older = tag(first, "older-campaigns")
        link = re.search(r'href="([^"]+)"', older)
        assert link is not None
        second = client.get(link[1].replace("&amp;", "&")).text
    assert first.count('id="campaign-row-') == PAGE_SIZE
    assert f'id="campaign-row-{ids[0]}"' not in first
    assert second.count('id="campaign-row-') == 1 and f'id="campaign-row-{ids[0]}"' in second
    assert 'id="older-campaigns"' not in second


# -- a campaign -----------------------------------------------------------------------------


def test_a_campaign_shows_its_progress_and_what_became_of_it(
    signed_in: SignedIn, sending: int
) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get(f"/campaigns/{sending}").text

    assert element(page, "campaign-status") == "sending"
    assert 'max="6" value="5"' in tag(page, "progress")
    assert (element(page, "count-final"), element(page, "count-total")) == ("5", "6")
    assert element(page, "progress-percent") == "83%"
    counts = {key: element(page, f"count-{key}") for key in ("waiting", "in-flight")}
    counts |= {key: element(page, f"count-{key}") for key in ("delivered", "undelivered")}
    assert counts == {"waiting": "1", "in-flight": "0", "delivered": "3", "undelivered": "1"}
    assert element(page, "count-skipped") == "1"
    assert element(page, "delivery-rate") == "75.0%"
    # The funnel: each bar's value is in its tooltip, the summary and the hidden table.
    funnel = page[page.index('id="funnel-chart"') :].split("</figure>")[0]
    assert "<title>Delivered: 3 (50%)</title>" in funnel
    assert "Messages: 6 (100%); Skipped: 1 (16.7%); Waiting to send: 1 (16.7%)" in funnel
    assert "Sent: 4 (66.7%); With Sinch: 0 (0%); Delivered: 3 (50%); Not delivered: 1" in funnel
    # The timeline: 4 sent at 10:00, settled: 2 delivered and 1 failed at 10:00, 1 at 10:02:
    # two minutes, in buckets of 5 seconds.
    timeline = page[page.index('id="timeline-chart"') :].split("</figure>")[0]
    assert "<title>10:00:00: 4 Sent</title>" in timeline
    assert "<title>10:02:00: 1 Delivered</title>" in timeline
    assert "Messages per 5 seconds, 10:00:00 to 10:02:00 UTC" in timeline
    assert element(page, "timeline-bucket") == "per 5 seconds"
    assert "4 sent, 3 delivered, 1 not delivered." in timeline
    failures = element(page, "failures-table")
    assert "failed" in failures and "34" in failures and "Operator error 34" in failures
    assert "An SMPP or operator error reported by the SMSC" in failures
    skips = page[page.index('id="skips-table"') :].split("</table>")[0]
    assert '<span title="Code: opted_out">Opted out of your messages</span>' in skips
    assert '<span class="phone">+12015550004</span>' in skips  # who, under the reason
    assert tag(page, "export-csv").startswith(
        f'<a class="button secondary" id="export-csv" href="/api/v1/campaigns/{sending}/export.csv"'
    )
    assert 'data-poll="true"' in tag(page, "campaign")
    assert '<script src="/static/campaign.js" defer></script>' in page


def test_the_page_shows_the_figures_the_api_reads(signed_in: SignedIn, sending: int) -> None:
    """One definition: the page's progress is the API's `figures`, and adds up to the total."""
    with signed_in(Role.VIEWER) as client:
        page = client.get(f"/campaigns/{sending}").text
        api = client.get(f"/api/v1/campaigns/{sending}").json()
    figures = api["figures"]
    shown = dict(re.findall(r'<dd class="stat" id="count-([^"]+)">([^<]+)<', page))
    assert shown == {
        "waiting": str(figures["waiting"]),
        "in-flight": str(figures["with_sinch"]),
        "delivered": str(figures["delivered"]),
        "undelivered": str(figures["not_delivered"]),
        "skipped": str(figures["skipped"]),
    }
    assert sum(int(n) for n in shown.values()) == api["total"] == figures["messages"]
    assert element(page, "count-final") == str(api["final"]) == str(figures["final"])
    assert element(page, "count-sent") == str(figures["sent"])


def test_viewers_get_no_controls_and_editors_those_the_state_allows(
    signed_in: SignedIn, sending: int
) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get(f"/campaigns/{sending}").text
    for control in ("pause", "resume", "cancel"):
        assert f'id="{control}"' not in page
    assert 'id="export-csv"' in page

    with signed_in(Role.EDITOR) as client:
        page = client.get(f"/campaigns/{sending}").text
    pause, resume, cancel = (tag(page, c) for c in ("pause", "resume", "cancel"))
    assert f'data-api-action="POST /api/v1/campaigns/{sending}/pause"' in pause
    assert " hidden" not in pause and " hidden" not in cancel
    assert resume.endswith(" hidden>")
    assert 'class="danger"' in cancel and "data-confirm=" in cancel


def test_the_buttons_actions_change_the_state_they_show(signed_in: SignedIn, sending: int) -> None:
    with signed_in(Role.EDITOR) as client:
        page = client.get(f"/campaigns/{sending}").text
        method, path = re.findall(r'data-api-action="(\w+) ([^"]+)"', tag(page, "pause"))[0]
        assert client.request(method, path).status_code == 200
        paused = client.get(f"/campaigns/{sending}").text
        assert element(paused, "campaign-status") == "paused"
        assert element(paused, "status-reason") == "paused by a user"
        assert tag(paused, "pause").endswith(" hidden>")
        assert " hidden" not in tag(paused, "resume") and " hidden" not in tag(paused, "cancel")

        method, path = re.findall(r'data-api-action="(\w+) ([^"]+)"', tag(paused, "cancel"))[0]
        assert client.request(method, path).status_code == 200
        cancelled = client.get(f"/campaigns/{sending}").text
    assert element(cancelled, "campaign-status") == "cancelled"
    for control in ("pause", "resume", "cancel"):
        assert tag(cancelled, control).endswith(" hidden>")
    # Every message is final now (the queued one was skipped): nothing left to watch.
    assert 'data-poll="false"' in tag(cancelled, "campaign")
    assert "cancelled" in element(cancelled, "skips-table")


def test_a_completed_campaign_stops_polling_once_every_message_is_final(
    signed_in: SignedIn, database: Database, sending: int
) -> None:
    with database.write() as session:
        session.execute(update(Campaign).values(status=CampaignStatus.COMPLETED, completed_at=T0))
    with signed_in(Role.EDITOR) as client:
        waiting = client.get(f"/campaigns/{sending}").text
        settle(database, sending, *[{}] * 5, delivered(3))
        done = client.get(f"/campaigns/{sending}").text
    assert 'data-poll="true"' in tag(waiting, "campaign")  # one message is still queued
    assert 'data-poll="false"' in tag(done, "campaign")
    assert 'data-settled="completed cancelled failed"' in tag(done, "campaign")
    assert tag(done, "cancel").endswith(" hidden>")  # Sinch holds none of it


def test_a_campaign_without_messages_has_an_empty_page(
    signed_in: SignedIn, database: Database
) -> None:
    (empty,) = add_campaigns(database, 1, launched_at=T0, completed_at=T0)
    with signed_in(Role.EDITOR) as client:
        page = client.get(f"/campaigns/{empty}")
    assert page.status_code == 200
    assert 'max="1" value="0"' in tag(page.text, "progress")
    assert element(page.text, "progress-percent") == "0%"
    assert 'id="no-messages"' in page.text
    assert "no final outcome yet" in element(page.text, "delivery-rate")
    assert "No data yet" in page.text and "Nothing sent yet." in page.text
    assert 'data-poll="false"' in tag(page.text, "campaign")
    assert 'id="no-failures"' in page.text and 'id="no-skips"' in page.text


def test_a_draft_shows_its_message_and_audience_and_leads_to_its_plan(
    signed_in: SignedIn, database: Database
) -> None:
    with database.write() as session:
        spring = ContactList(name="Spring <customers>")
        session.add(spring)
        session.flush()
        draft = campaigns.create_campaign(
            session,
            campaigns.CampaignDraft(
                "Spring sale", "20% off & more", numbers(3), list_ids=[spring.id], budget=12.5
            ),
            "US",
        )
    with signed_in(Role.EDITOR, price_currency="EUR") as client:
        page = client.get(f"/campaigns/{draft.id}").text
    assert element(page, "campaign-status") == "draft"
    assert element(page, "campaign-body") == "20% off &amp; more"
    assert element(page, "audience-numbers") == "3"
    assert element(page, "audience-lists") == "Spring &lt;customers&gt;"
    assert element(page, "audience-segments") == "none"
    assert "12.50 EUR" in page
    assert tag(page, "plan-link") == (
        f'<a class="button" id="plan-link" href="/campaigns/{draft.id}/plan">'
    )
    assert element(page, "plan-link") == "Review the plan and send"
    for absent in ('id="progress"', 'id="pause"', "campaign.js", 'id="funnel-chart"'):
        assert absent not in page


def test_the_live_fragment_is_the_charts_and_tables_alone(
    signed_in: SignedIn, sending: int
) -> None:
    with signed_in(Role.VIEWER) as client:
        fragment = client.get(f"/campaigns/{sending}/live")
    assert fragment.status_code == 200
    assert fragment.headers["content-type"].startswith("text/html")
    assert 'id="funnel-chart"' in fragment.text and 'id="timeline-chart"' in fragment.text
    assert "<html" not in fragment.text and "<nav" not in fragment.text


@pytest.mark.parametrize(
    "path",
    ["/campaigns/999", "/campaigns/0", "/campaigns/99999999999999999999", "/campaigns/999/live"],
)
def test_an_unknown_campaign_is_a_404_page(signed_in: SignedIn, path: str) -> None:
    with signed_in(Role.VIEWER) as client:
        page = client.get(path)
    assert page.status_code == 404
    assert 'id="campaign-missing"' in page.text


def test_pages_carry_no_inline_script_style_or_event_handler(
    signed_in: SignedIn, database: Database, sending: int
) -> None:
    """The Content-Security-Policy allows scripts from our files only."""
    draft = make_campaign(database, numbers(1))
    with signed_in(Role.ADMIN) as client:
        pages = [
            client.get(path).text
            for path in (
                "/",
                "/campaigns",
                f"/campaigns/{sending}",
                f"/campaigns/{sending}/live",
                f"/campaigns/{draft.id}",
            )
        ]
    for page in pages:
        assert_no_inline_code(page)


def assert_no_inline_code(page: str) -> None:
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert not re.search(r"\sstyle\s*=", page)
    assert "javascript:" not in page


# -- issue 14: one definition of every figure, why messages wait, the messages, the list ----


def test_every_page_and_endpoint_reads_the_same_figures_mid_send(
    signed_in: SignedIn, database: Database
) -> None:
    """Mid-send: some with Sinch, some waiting, settled, refused, skipped. The list, the
    page, its live fragment, the progress API, the analytics API and the message list agree."""
    campaign = make_campaign(database, numbers(9), launch=True)
    settle(
        database,
        campaign.id,
        {"status": S.ACCEPTED, "sent_at": T0, "parts": 2},
        {"status": S.DISPATCHED, "status_code": 401, "sent_at": T0},
        delivered(1),
        FAILED_34,
        {"status": S.FAILED, "error": "403: refused"},
        OPTED_OUT,
        {"status": S.SUBMITTING},
    )
    with signed_in(Role.VIEWER) as client:
        listing = client.get("/campaigns").text
        page = client.get(f"/campaigns/{campaign.id}").text
        fragment = client.get(f"/campaigns/{campaign.id}/live").text
        progress = client.get(f"/api/v1/campaigns/{campaign.id}").json()
        result = client.get(f"/api/v1/campaigns/{campaign.id}/analytics").json()
        listed = client.get(f"/api/v1/campaigns/{campaign.id}/messages").json()["items"]
    f = progress["figures"]
    assert f == {
        "messages": 9,
        "skipped": 1,
        "waiting": 3,
        "refused": 1,
        "sent": 4,
        "with_sinch": 2,
        "delivered": 1,
        "not_delivered": 1,
        "final": 4,
        "delivery_rate": 1 / 3,
        "parts_planned": 9,
        "parts_sent": 5,
        "spent": pytest.approx(5 * 0.0079),
    }
    assert progress["total"] == f["messages"] and progress["final"] == f["final"]
    funnel, cost = result["funnel"], result["cost"]
    assert (funnel["total"], funnel["queued"], funnel["in_flight"]) == (9, 3, 2)
    assert (funnel["sent"], funnel["refused"], funnel["skipped"]) == (4, 1, 1)
    assert (cost["parts_sent"], cost["spent"]) == (f["parts_sent"], f["spent"])
    # The message list: the same messages sent, the same parts, the same cost.
    sent = [m for m in listed if m["cost"] is not None]
    assert len(sent) == f["sent"] and sum(m["parts"] for m in sent) == f["parts_sent"]
    assert sum(m["cost"] for m in sent) == pytest.approx(f["spent"])
    # The list's recipients are the page's messages.
    row = listing[listing.index(f'id="campaign-row-{campaign.id}"') :].split("</tr>")[0]
    assert f">{f['messages']}</td>" in row
    for shown in (page, fragment):
        assert element(shown, "count-total") == str(f["messages"])
        assert element(shown, "count-final") == str(f["final"])
        assert element(shown, "count-waiting") == str(f["waiting"])
        assert element(shown, "count-in-flight") == str(f["with_sinch"])
        assert element(shown, "count-delivered") == str(f["delivered"])
        assert element(shown, "count-undelivered") == str(f["not_delivered"])
        assert element(shown, "count-refused") == str(f["refused"])
        assert element(shown, "count-skipped") == str(f["skipped"])
        assert element(shown, "count-sent") == str(f["sent"])
        assert element(shown, "count-parts-sent") == str(f["parts_sent"])
        assert element(shown, "count-spent") == f"{f['spent']:.2f}"
        assert element(shown, "cost-spent") == f"{f['spent']:.2f} USD"
        funnel_chart = shown[shown.index('id="funnel-chart"') :].split("</figure>")[0]
        assert "Sent: 4 (44.4%); With Sinch: 2 (22.2%)" in funnel_chart


def test_the_page_says_why_messages_wait(signed_in: SignedIn, database: Database) -> None:
    campaign = make_campaign(database, numbers(3), launch=True)
    opening = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)  # 08:00 in New Jersey (201)
    settle(
        database,
        campaign.id,
        {"status": S.DEFERRED, "not_before": opening},
        {"status": S.ACCEPTED, "sent_at": T0},
    )
    with signed_in(Role.VIEWER) as client:
        page = client.get(f"/campaigns/{campaign.id}").text
    reasons = html.unescape(" ".join(element(page, "waiting-reasons").split()))
    assert "1 message in the queue" in reasons
    assert (
        "1 message held by the recipient's quiet hours until 08:00 their time "
        "(2030-05-01 12:00 UTC)." in reasons
    )
    assert "1 message with Sinch, waiting for its delivery report" in reasons


def test_the_message_list_filters_by_status_reason_and_number_and_pages(
    signed_in: SignedIn, database: Database
) -> None:
    phones = numbers(60)
    campaign = make_campaign(database, phones, launch=True)
    settle(database, campaign.id, FAILED_34, OPTED_OUT, delivered(1))
    with signed_in(Role.VIEWER) as client:
        first = client.get(f"/campaigns/{campaign.id}").text
        failed = client.get(f"/campaigns/{campaign.id}", params={"status": "failed"}).text
        skipped = client.get(
            f"/campaigns/{campaign.id}", params={"status": "skipped", "reason": "opted_out"}
        ).text
        one = client.get(f"/campaigns/{campaign.id}", params={"number": "(201) 555-0059"}).text
        none = client.get(f"/campaigns/{campaign.id}", params={"number": "999999"}).text
        link = re.search(
            r'id="messages-next" href="([^"]+)"|href="([^"]+)" id="messages-next"', first
        )
        assert link is not None
        second = client.get((link[1] or link[2]).replace("&amp;", "&")).text
        odd = client.get(f"/campaigns/{campaign.id}", params={"status": "lost"})
    table = element(first, "messages-table")
    assert first.count('<tr id="message-') == 50
    assert "Operator error 34" in table and "Opted out of your messages" in table
    assert failed.count('<tr id="message-') == 1 and "Operator error 34" in failed
    assert skipped.count('<tr id="message-') == 1
    assert '<span title="opted_out">Opted out of your messages</span>' in skipped
    assert one.count('<tr id="message-') == 1 and phones[59] in element(one, "messages-table")
    assert element(none, "no-messages-found") == "No message matches."
    assert second.count('<tr id="message-') == 10 and 'id="messages-first"' in second
    assert odd.status_code == 200 and odd.text.count('<tr id="message-') == 50


def test_the_list_searches_filters_and_sorts(signed_in: SignedIn, database: Database) -> None:
    spring, summer, winter = add_campaigns(database, 3)
    with database.write() as session:
        for campaign_id, name, status, recipients in (
            (spring, "Spring sale", CampaignStatus.COMPLETED, 5),
            (summer, "Summer sale", CampaignStatus.SENDING, 50),
            (winter, "Winter news", CampaignStatus.COMPLETED, 20),
        ):
            session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(name=name, status=status, recipient_count=recipients)
            )
    draft = make_campaign(database, numbers(2))  # recipients: its numbers (no lists)

    def rows(page: str) -> list[int]:
        return [int(n) for n in re.findall(r'id="campaign-row-(\d+)"', page)]

    with signed_in(Role.VIEWER) as client:
        sales = client.get("/campaigns", params={"q": "SALE"}).text
        done = client.get("/campaigns", params={"status": "completed", "sort": "name"}).text
        by_size = client.get("/campaigns", params={"sort": "recipients"}).text
        by_name = client.get("/campaigns", params={"sort": "name"}).text
        nothing = client.get("/campaigns", params={"q": "autumn"}).text
        odd = client.get("/campaigns", params={"status": "lost", "sort": "nonsense"})
    assert rows(sales) == [summer, spring]
    assert 'value="SALE"' in tag(sales, "campaign-search")
    assert rows(done) == [spring, winter]
    assert "selected" in done[done.index('<option value="completed"') :].split(">")[0]
    assert rows(by_size) == [summer, winter, spring, draft.id]
    assert rows(by_name) == [spring, summer, draft.id, winter]
    assert element(nothing, "no-campaigns") == "No campaign matches."
    assert odd.status_code == 200 and rows(odd.text) == [draft.id, winter, summer, spring]


def test_a_draft_in_the_list_counts_its_lists_as_the_launch_will(
    signed_in: SignedIn, database: Database
) -> None:
    """The plan said 48 where the list said 2: a draft's recipients include its lists."""
    with signed_in(Role.EDITOR) as client:
        members = numbers(5, start=100)
        created = client.post("/api/v1/lists", json={"name": "VIP"})
        assert created.status_code == 201, created.text
        list_id = created.json()["id"]
        ids = [client.post("/api/v1/contacts", json={"phone": p}).json()["id"] for p in members]
        added = client.post(f"/api/v1/lists/{list_id}/members", json={"contact_ids": ids})
        assert added.status_code == 200, added.text
        draft = client.post(
            "/api/v1/campaigns",
            json={"name": "VIP", "body": "Hi", "recipients": numbers(2), "lists": [list_id]},
        ).json()
        listing = client.get("/campaigns").text
        plan = client.post(f"/api/v1/campaigns/{draft['id']}/plan").json()
        client.post(f"/api/v1/campaigns/{draft['id']}/send")
        launched = client.get("/campaigns").text
    for shown in (listing, launched):
        row = shown[shown.index(f'id="campaign-row-{draft["id"]}"') :].split("</tr>")[0]
        assert re.search(r">7</td>", row), row
    assert plan["recipients"] == 7
