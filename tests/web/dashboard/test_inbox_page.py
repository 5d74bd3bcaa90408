"""/inbox/texts: texts people sent back, newest first, with their contact and campaign."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.factories import make_campaign, numbers
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import add_contact, section, text_in

from textcast.db import Database
from textcast.models import InboundMessage, Role


def rows(page: str) -> list[str]:
    return re.findall(r"<tr data-inbound-id.*?</tr>", section(page, "inbox-table"), re.S)


def test_texts_are_listed_newest_first_with_contact_campaign_and_keyword(
    signed_in: SignedIn, database: Database
) -> None:
    phone, stranger = numbers(2)
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        contact = add_contact(editor, phone, first_name="Ana", last_name="Lima")
        campaign = make_campaign(database, [phone], launch=True)
        text_in(viewer, phone, "Is the sale on <today>?")
        text_in(viewer, phone, "HELP")
        text_in(viewer, stranger, "Who is this?")

        page = viewer.get("/inbox/texts")
        assert page.status_code == 200
        newest, help_, reply = rows(page.text)
        assert "Who is this?" in newest and stranger in newest
        assert 'href="/contacts/' not in newest and 'href="/campaigns/' not in newest
        assert ">reply<" in newest
        assert "keyword-help" in help_ and ">help<" in help_
        assert f'<a href="/contacts/{contact["id"]}">Ana Lima</a>' in reply
        assert f'<a href="/campaigns/{campaign.id}">Test campaign</a>' in reply
        assert "Is the sale on &lt;today&gt;?" in reply  # escaped, never markup
        assert f'<option value="{campaign.id}">Test campaign' in page.text

        theirs = viewer.get("/inbox/texts", params={"contact_id": str(contact["id"])}).text
        assert len(rows(theirs)) == 2 and "Who is this?" not in theirs
        assert f'Only texts from <a href="/contacts/{contact["id"]}">Ana Lima</a>' in theirs


def test_replies_only_and_campaign_filters(signed_in: SignedIn, database: Database) -> None:
    answering, other = numbers(2)
    with signed_in(Role.VIEWER) as client:
        campaign = make_campaign(database, [answering], launch=True)
        text_in(client, answering, "Count me in")
        text_in(client, answering, "STOP")
        text_in(client, other, "Wrong number")

        def bodies(**query: str) -> list[str]:
            page = client.get("/inbox/texts", params=query).text
            return [re.sub(r"<[^>]+>|\s+", " ", row) for row in rows(page)]

        assert len(bodies()) == 3
        only_replies = bodies(replies_only="1")
        assert len(only_replies) == 2 and not any("STOP" in row for row in only_replies)
        answered = bodies(campaign_id=str(campaign.id))
        assert len(answered) == 2 and not any("Wrong number" in row for row in answered)
        both = bodies(campaign_id=str(campaign.id), replies_only="1")
        assert len(both) == 1 and "Count me in" in both[0]
        page = client.get("/inbox/texts", params={"replies_only": "1"}).text
        assert 'name="replies_only" value="1" checked' in page
        assert client.get("/inbox/texts", params={"campaign_id": "nope"}).status_code == 200


def test_the_inbox_is_paged_backwards(signed_in: SignedIn, database: Database) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.VIEWER) as client:
        start = datetime.now(UTC) - timedelta(hours=1)
        with database.write() as session:
            session.add_all(
                InboundMessage(
                    provider_id=f"mo-{n}",
                    from_phone=phone,
                    to="12017777777",
                    body=f"message {n}",
                    received_at=start + timedelta(seconds=n),
                )
                for n in range(51)
            )
        first = client.get("/inbox/texts").text
        assert len(rows(first)) == 50 and "message 50" in rows(first)[0]
        older = re.search(r'<a href="([^"]+)" rel="next">', first)
        assert older is not None
        second = client.get(older[1].replace("&amp;", "&")).text
        assert len(rows(second)) == 1 and "message 0<" in rows(second)[0]
        assert 'rel="next"' not in second and ">Newest<" in second
