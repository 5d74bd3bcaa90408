"""/inbox as conversations: tabs whose counts agree with their lists, the unread badge, a
thread both ways, answering (queued, or refused with the reason for a number that opted out),
state, assignee and note, saving an unknown sender, the updates the pages poll, and the
quick replies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from tests.factories import make_campaign, numbers
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import add_contact, section, text_in

from textcast.db import Database
from textcast.domain.inbox import threads
from textcast.models import (
    AgentReply,
    Campaign,
    CampaignKind,
    Contact,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
    QuickReply,
    Role,
    User,
)


def csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token[1]


def conversation_id(database: Database, phone: str) -> int:
    with database.read() as session:
        found = threads.find_conversation(session, phone)
        assert found is not None
        return found.id


def listed(page: str) -> list[str]:
    if 'id="conversation-table"' not in page:
        return []
    return re.findall(
        r"<tr data-conversation-id.*?</tr>", section(page, "conversation-table"), re.S
    )


def tab_counts(page: str) -> dict[str, int]:
    return {k: int(n) for k, n in re.findall(r'data-count="(\w+)">(\d+)<', page)}


def badge(page: str) -> int | None:
    found = re.search(r'id="nav-unread" data-unread="(\d+)"( hidden)?', page)
    assert found is not None
    return None if found[2] else int(found[1])


def post_form(client: TestClient, path: str, **fields: str) -> Response:
    token = csrf(client.get("/inbox").text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def user_id(database: Database, page: str) -> int:
    email = re.search(r'<span class="who">([^ <]+)', page)
    assert email is not None
    with database.read() as session:
        return session.scalars(select(User.id).where(User.email == email[1])).one()


def test_each_tab_lists_as_many_conversations_as_its_count_says(
    signed_in: SignedIn, database: Database
) -> None:
    asking, closing, helped, mine = numbers(4)
    with signed_in(Role.EDITOR) as editor:
        add_contact(editor, asking, first_name="Ana", last_name="Lima")
        text_in(editor, asking, "Is the sale on <today>?")
        text_in(editor, closing, "Thanks, all good")
        text_in(editor, helped, "HELP")
        text_in(editor, mine, "Can someone call me?")
        me = user_id(database, editor.get("/").text)
        closed = conversation_id(database, closing)
        assert post_form(editor, f"/inbox/{closed}/change", state="closed").status_code == 303
        ours = conversation_id(database, mine)
        assert post_form(editor, f"/inbox/{ours}/change", assignee_id=str(me)).status_code == 303

        page = editor.get("/inbox").text
        counts = tab_counts(page)
        assert counts == {"open": 3, "needs_reply": 2, "unread": 3, "closed": 1, "mine": 1}
        for tab, count in counts.items():
            shown = editor.get("/inbox", params={"show": tab}).text
            assert len(listed(shown)) == count, tab
            assert tab_counts(shown) == counts

        newest, _, oldest = listed(page)
        assert "Can someone call me?" in newest and "user" in newest  # its assignee
        assert '<a href="/inbox/' in oldest and ">Ana Lima</a>" in oldest
        assert "Is the sale on &lt;today&gt;?" in oldest  # escaped, never markup
        assert "1 unread" in oldest and "needs reply" in oldest
        assert "Thanks, all good" in listed(editor.get("/inbox?show=closed").text)[0]
        assert badge(page) == 3


def test_opening_a_thread_marks_it_read_and_the_badge_follows(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.VIEWER) as viewer:
        text_in(viewer, phone, "First")
        text_in(viewer, phone, "Second")
        assert badge(viewer.get("/contacts").text) == 1  # on every page
        thread = viewer.get(f"/inbox/{conversation_id(database, phone)}")
        assert thread.status_code == 200
        assert badge(thread.text) is None
        second, first = re.findall(r'<li class="thread-item thread-in".*?</li>', thread.text, re.S)
        assert "Second" in second and "First" in first  # newest first
        assert badge(viewer.get("/inbox").text) is None
        assert viewer.get("/inbox/999999").status_code == 404


def test_an_editor_answers_and_the_answer_is_queued_with_its_author(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        text_in(editor, phone, "Do you ship to Canada?")
        ident = conversation_id(database, phone)
        page = editor.get(f"/inbox/{ident}").text
        assert 'id="reply-form"' in page and 'data-count="parts"' in page
        assert '<script src="/static/editor.js" defer></script>' in page

        answer = post_form(editor, f"/inbox/{ident}/reply", body="Yes, in 5 days.")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/inbox/{ident}?done=sent"
        with database.read() as session:
            campaign = session.scalars(select(Campaign).join(AgentReply)).one()
            message = session.scalars(select(Message)).one()
            conversation = session.get(Conversation, ident)
            assert conversation is not None and not conversation.needs_reply
        assert campaign.kind == CampaignKind.CONVERSATION
        assert (message.phone, message.status) == (phone, MessageStatus.QUEUED)

        page = editor.get(answer.headers["location"]).text
        out = re.findall(r'<li class="thread-item thread-out".*?</li>', page, re.S)
        assert len(out) == 1 and "Yes, in 5 days." in out[0]
        assert re.search(r"Agent reply by user\d+@example.com", out[0])
        assert 'data-status="queued"' in out[0]
        assert "Answer queued" in page

        empty = post_form(editor, f"/inbox/{ident}/reply", body="   ")
        assert empty.status_code == 422 and "write the answer to send" in empty.text


def test_an_answer_to_a_number_that_opted_out_is_refused_with_the_reason(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        add_contact(editor, phone, first_name="Ana")
        text_in(editor, phone, "What time do you open?")
        ident = conversation_id(database, phone)
        before = editor.get(f"/inbox/{ident}").text
        assert 'id="reply-refusal" role="alert" data-source="refusal" hidden' in before
        text_in(editor, phone, "STOP")  # while the page was open

        refused = post_form(editor, f"/inbox/{ident}/reply", body="We open at 9.")
        assert refused.status_code == 409
        reason = section(refused.text, "reply-refusal")
        assert "opted out (STOP)" in reason and "until they text START" in reason
        assert "We open at 9." in refused.text  # the answer typed is kept
        with database.read() as session:
            assert session.scalars(select(AgentReply)).all() == []

        page = editor.get(f"/inbox/{ident}").text  # the form is disabled, with the reason
        assert "opted out (STOP)" in section(page, "reply-refusal")
        assert re.search(r'<button type="submit" id="reply-send" disabled>', page)
        assert "keyword-opt_out" in section(page, "thread-items")


def test_a_viewer_reads_threads_but_cannot_answer_or_change_them(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.VIEWER) as viewer:
        text_in(viewer, phone, "Hello?")
        ident = conversation_id(database, phone)
        page = viewer.get(f"/inbox/{ident}").text
        assert "Hello?" in page
        assert 'id="reply-form"' not in page and 'id="close-conversation"' not in page
        assert 'id="save-sender-form"' not in page
        assert post_form(viewer, f"/inbox/{ident}/reply", body="Hi").status_code == 403
        assert post_form(viewer, f"/inbox/{ident}/change", state="closed").status_code == 403
        assert post_form(viewer, "/inbox/quick-replies", name="a", body="b").status_code == 403
    with database.read() as session:
        assert session.scalars(select(AgentReply)).all() == []


def test_a_form_without_the_session_token_changes_nothing(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        text_in(editor, phone, "Hello?")
        ident = conversation_id(database, phone)
        answer = editor.post(f"/inbox/{ident}/change", data={"state": "closed"})
        assert answer.status_code == 403
    with database.read() as session:
        conversation = session.get(Conversation, ident)
        assert conversation is not None and conversation.state == ConversationState.OPEN


def test_close_reopen_mark_unread_assign_and_note(signed_in: SignedIn, database: Database) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        text_in(editor, phone, "Hello?")
        ident = conversation_id(database, phone)
        me = user_id(database, editor.get("/").text)
        path = f"/inbox/{ident}/change"

        assert post_form(editor, path, state="closed").headers["location"].endswith("done=closed")
        page = editor.get(f"/inbox/{ident}").text
        assert 'id="reopen-conversation"' in page and "It opens again when they text" not in page
        assert post_form(editor, path, state="open").status_code == 303
        assert post_form(editor, path, assignee_id=str(me)).status_code == 303
        assert post_form(editor, path, note="Wants a call back after 5").status_code == 303
        page = editor.get(f"/inbox/{ident}").text
        assert f'<option value="{me}" selected>' in page
        assert "Wants a call back after 5</textarea>" in page

        unread = post_form(editor, path, unread="1")
        assert unread.headers["location"] == "/inbox"
        assert badge(editor.get("/inbox").text) == 1
        assert post_form(editor, path, assignee_id="0").status_code == 303
        with database.read() as session:
            conversation = session.get(Conversation, ident)
            assert conversation is not None
            assert (conversation.state, conversation.assignee_id, conversation.note) == (
                ConversationState.OPEN,
                None,
                "Wants a call back after 5",
            )

        too_long = post_form(editor, path, note="x" * 4001)
        assert too_long.status_code == 422
        assert "at most 4000 characters" in section(too_long.text, "change-refusal")
        nobody = post_form(editor, path, assignee_id="99999")
        assert nobody.status_code == 422 and "no active user has this id" in nobody.text


def test_an_unknown_sender_is_saved_as_a_contact_from_the_thread(
    signed_in: SignedIn, database: Database
) -> None:
    stranger = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        text_in(editor, stranger, "Hi, it's Bo")
        ident = conversation_id(database, stranger)
        page = editor.get(f"/inbox/{ident}").text
        form = section(page, "save-sender-form")
        assert 'value="Texted us first"' in form
        inbound = re.search(r'name="inbound_id" value="(\d+)"', form)
        assert inbound is not None

        no_evidence = post_form(
            editor, f"/inbox/{ident}/contact", inbound_id=inbound[1], consent_evidence=" "
        )
        assert no_evidence.status_code == 422
        assert "say how this person agreed" in section(no_evidence.text, "save-sender-refusal")
        saved = post_form(
            editor,
            f"/inbox/{ident}/contact",
            inbound_id=inbound[1],
            first_name="Bo",
            consent_evidence="Texted us first",
        )
        assert saved.status_code == 303
        with database.read() as session:
            contact = session.scalars(select(Contact).where(Contact.phone == stranger)).one()
        page = editor.get(f"/inbox/{ident}").text
        assert 'id="save-sender-form"' not in page and "<h1>Bo</h1>" in page
        assert f'<a href="/contacts/{contact.id}">Contact</a>' in page
        again = post_form(
            editor, f"/inbox/{ident}/contact", inbound_id=inbound[1], consent_evidence="x"
        )
        assert again.status_code == 409 and "already a contact" in again.text


def test_the_updates_a_thread_polls_bring_new_texts_and_mark_them_read_in_view(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.VIEWER) as viewer:
        text_in(viewer, phone, "One")
        ident = conversation_id(database, phone)
        version = re.search(r'data-version="(\w+)"', viewer.get(f"/inbox/{ident}").text)
        assert version is not None
        same = viewer.get(f"/inbox/{ident}/updates", params={"version": version[1]}).json()
        assert same == {"version": version[1], "unread": 0, "refusal": None}

        text_in(viewer, phone, "Two")
        away = viewer.get(f"/inbox/{ident}/updates", params={"version": version[1]}).json()
        assert away["unread"] == 1 and "Two" in away["html"] and away["version"] != version[1]
        seen = viewer.get(f"/inbox/{ident}/updates", params={"seen": "1"}).json()
        assert seen["unread"] == 0

        text_in(viewer, phone, "STOP")
        stopped = viewer.get(f"/inbox/{ident}/updates").json()
        assert "opted out (STOP)" in stopped["refusal"]
        assert viewer.get("/inbox/999999/updates").status_code == 404


def test_the_updates_the_list_polls_bring_counts_badge_and_rows(
    signed_in: SignedIn, database: Database
) -> None:
    first, second = numbers(2)
    with signed_in(Role.VIEWER) as viewer:
        text_in(viewer, first, "Hello")
        version = re.search(r'data-version="(\w+)"', viewer.get("/inbox").text)
        assert version is not None
        quiet = viewer.get("/inbox/updates", params={"version": version[1]}).json()
        assert "html" not in quiet and quiet["unread"] == 1
        text_in(viewer, second, "Me too")
        news = viewer.get("/inbox/updates", params={"version": version[1]}).json()
        assert news["unread"] == 2 and news["counts"]["open"] == 2
        assert len(listed(news["html"])) == 2 and "Me too" in listed(news["html"])[0]


def test_quick_replies_are_added_edited_deleted_and_offered_in_a_thread(
    signed_in: SignedIn, database: Database
) -> None:
    phone = numbers(1)[0]
    with signed_in(Role.EDITOR) as editor:
        added = post_form(editor, "/inbox/quick-replies", name="Hours", body="9 to 6.")
        assert added.headers["location"] == "/inbox/quick-replies?done=added"
        page = editor.get(added.headers["location"]).text
        assert "Quick reply added." in page and "9 to 6." in section(page, "quick-reply-list")
        with database.read() as session:
            ident = session.scalars(select(QuickReply.id)).one()

        clash = post_form(editor, "/inbox/quick-replies", name="Hours", body="Other")
        assert clash.status_code == 422 and "already named &#39;Hours&#39;" in clash.text
        assert 'value="Hours"' in section(clash.text, "add-quick-reply-form")
        edited = post_form(
            editor, f"/inbox/quick-replies/{ident}", name="Hours", body="9 to 7, Mon-Sat."
        )
        assert edited.status_code == 303
        empty = post_form(editor, f"/inbox/quick-replies/{ident}", name="Hours", body="")
        assert empty.status_code == 422 and "write the text it inserts" in empty.text

        text_in(editor, phone, "When are you open?")
        thread = editor.get(f"/inbox/{conversation_id(database, phone)}").text
        assert f'<option value="{ident}" data-body="9 to 7, Mon-Sat.">Hours</option>' in thread

        deleted = post_form(editor, f"/inbox/quick-replies/{ident}/delete")
        assert deleted.headers["location"] == "/inbox/quick-replies?done=deleted"
        assert "No quick replies yet." in editor.get("/inbox/quick-replies").text
        assert post_form(editor, f"/inbox/quick-replies/{ident}/delete").status_code == 404


def test_a_thread_names_what_each_text_was_and_why_one_was_not_delivered(
    signed_in: SignedIn, database: Database
) -> None:
    delivered, skipped = numbers(2)
    campaign = make_campaign(database, [delivered, skipped], launch=True)
    with database.write() as session:
        for message in session.scalars(select(Message)):
            if message.phone == skipped:
                message.status, message.error = MessageStatus.SKIPPED, "opted_out"
            else:
                message.status = MessageStatus.DELIVERED
    with signed_in(Role.VIEWER) as viewer:
        text_in(viewer, delivered, "HELP")
        text_in(viewer, skipped, "Why no text?")
        page = viewer.get(f"/inbox/{conversation_id(database, delivered)}").text
        items = section(page, "thread-items")
        assert f'<a href="/campaigns/{campaign.id}">Campaign: Test campaign</a>' in items
        assert 'data-status="delivered"' in items and "Spring sale" in items
        assert "keyword-help" in items and "Keyword reply" in items  # HELP's answer
        assert "data-detail" not in items
        other = section(
            viewer.get(f"/inbox/{conversation_id(database, skipped)}").text, "thread-items"
        )
        assert "Skipped: Opted out of your messages" in other


def test_the_list_is_paged_backwards(signed_in: SignedIn, database: Database) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    with database.write() as session:
        session.add_all(
            Conversation(phone=phone, last_message_at=start + timedelta(seconds=n))
            for n, phone in enumerate(numbers(51))
        )
    with signed_in(Role.VIEWER) as viewer:
        first = viewer.get("/inbox").text
        assert len(listed(first)) == 50 and tab_counts(first)["open"] == 51
        older = re.search(r'<a href="([^"]+)" rel="next">', first)
        assert older is not None
        second = viewer.get(older[1].replace("&amp;", "&")).text
        assert len(listed(second)) == 1 and numbers(51)[0] in listed(second)[0]
        assert 'rel="next"' not in second and ">Newest<" in second
        polled = re.search(r'data-poll="([^"]+)"', second)
        assert polled is not None and "cursor=" in polled[1]  # its polls keep to this page
        assert len(listed(viewer.get("/inbox", params={"cursor": "nonsense"}).text)) == 50


def test_a_contact_page_links_to_its_conversation(signed_in: SignedIn, database: Database) -> None:
    phone, silent = numbers(2)
    with signed_in(Role.EDITOR) as editor:
        contact = add_contact(editor, phone, first_name="Ana")
        quiet = add_contact(editor, silent, first_name="Bo")
        text_in(editor, phone, "Hi!")
        page = editor.get(f"/contacts/{contact['id']}").text
        ident = conversation_id(database, phone)
        assert (
            f'<a href="/inbox/{ident}" id="contact-conversation">Conversation</a> (1 unread)'
            in page
        )
        assert 'id="contact-conversation"' not in editor.get(f"/contacts/{quiet['id']}").text
