"""Managing a contact from the dashboard (issue 14, item 16): its edit form, its lists, an
opt-out with a reason that says who made it, the contact count, and an inbox sender saved as a
contact. The pages show the controls; what they send is the JSON API with the session's CSRF
token, as the page's script sends it."""

from __future__ import annotations

import re

from tests.factories import numbers
from tests.web.dashboard.conftest import SignedIn
from tests.web.dashboard.test_contact_pages import add_contact, section, text_in
from tests.web.dashboard.test_inbox_page import rows

from textcast.models import Role


def test_the_count_agrees_with_the_filter(signed_in: SignedIn) -> None:
    with signed_in(Role.EDITOR) as client:
        for phone in numbers(3):
            add_contact(client, phone, first_name="Ana")
        add_contact(client, "+33612345678", first_name="Bo")
        assert "4 contacts" in section(client.get("/contacts").text, "contacts-total")
        matching = client.get("/contacts", params={"search": "ana"}).text
        assert "3 contacts match" in section(matching, "contacts-total")
        one = client.get("/contacts", params={"country": "FR"}).text
        assert "1 contact matches" in section(one, "contacts-total")


def test_writers_get_the_edit_form_and_the_lists(signed_in: SignedIn) -> None:
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        contact = add_contact(
            editor,
            "+33612345678",
            first_name="Ana",
            attributes={"plan": "gold", "points": 120, "vip": True},
        )
        spring = editor.post("/api/v1/lists", json={"name": "Spring"}).json()
        editor.post("/api/v1/lists", json={"name": "Autumn"})
        editor.post(f"/api/v1/lists/{spring['id']}/members", json={"contact_ids": [contact["id"]]})
        path = f"/contacts/{contact['id']}"
        assert 'id="contact-edit-form"' not in viewer.get(path).text
        assert 'id="contact-list-form"' not in viewer.get(path).text

        page = editor.get(path).text
        form = section(page, "contact-edit")
        assert f'data-contact-edit="PATCH /api/v1/contacts/{contact["id"]}"' in form
        assert 'name="first_name"' in form and 'value="Ana"' in form
        assert "<option selected>Europe/Paris</option>" in form
        for key, value, kind in (("plan", "gold", "string"), ("points", "120", "number")):
            assert (
                f'data-original-key="{key}" data-original-value="{value}" '
                f'data-original-type="{kind}"'
            ) in form
        assert 'data-original-value="true" data-original-type="boolean"' in form
        assert 'data-max="50"' in form and 'maxlength="64"' in form
        lists = section(page, "contact-list-membership")
        assert (
            f'data-api-action="DELETE /api/v1/lists/{spring["id"]}/members/{contact["id"]}"'
        ) in lists
        # Only the lists it is not on yet are offered.
        offered = re.findall(r"<option value=\"\d+\">([^<]+)</option>", lists)
        assert offered == ["Autumn"]

        # What the form sends: names, a time zone, a changed, a removed and a new attribute.
        changes = {
            "first_name": "Anna",
            "last_name": None,
            "time_zone": "America/New_York",
            "attributes": {"plan": "platinum", "vip": None, "city": "Lyon"},
        }
        assert editor.patch(f"/api/v1/contacts/{contact['id']}", json=changes).is_success
        page = editor.get(path).text
        assert "Anna" in section(page, "contact-details")
        assert "America/New_York" in section(page, "contact-details")
        facts = section(page, "contact-attributes")
        assert "platinum" in facts and "Lyon" in facts and "vip" not in facts
        assert ">120<" in facts  # untouched, still a number

        # Over the caps: the error names the attribute, and nothing changes.
        refused = editor.patch(
            f"/api/v1/contacts/{contact['id']}", json={"attributes": {"city": "x" * 1001}}
        )
        assert refused.status_code == 400
        assert [p["field"] for p in refused.json()["problems"]] == ["attributes.city"]


def test_an_opt_out_asks_for_a_reason_and_a_confirmation_and_names_who(
    signed_in: SignedIn,
) -> None:
    with signed_in(Role.EDITOR) as editor:
        contact = add_contact(editor, "+33612345678", first_name="Ana")
        path = f"/contacts/{contact['id']}"
        form = section(editor.get(path).text, "contact-opt-out-form")
        assert "data-confirm=" in form and "Opt out Ana?" in form
        assert re.search(r'<input[^>]*name="evidence"[^>]*required', form)
        reason = {"evidence": "Asked at the till to stop"}
        assert editor.post(f"/api/v1/contacts/{contact['id']}/opt-out", json=reason).is_success
        history = section(editor.get(path).text, "consent-history")
        row = re.findall(r'<tr data-kind="opt_out".*?</tr>', history, re.S)
        assert len(row) == 1
        assert "Asked at the till to stop" in row[0] and "@example.com" in row[0]


def test_an_unknown_sender_is_offered_once_to_be_saved(signed_in: SignedIn) -> None:
    known, stranger = numbers(2)
    with signed_in(Role.VIEWER) as viewer, signed_in(Role.EDITOR) as editor:
        add_contact(editor, known, first_name="Ana")
        text_in(viewer, stranger, "Hello?")
        text_in(viewer, stranger, "Anyone there?")
        text_in(viewer, known, "Thanks")
        assert "Save as contact" not in viewer.get("/inbox/texts").text
        page = editor.get("/inbox/texts").text
        thanks, newest, older = rows(page)
        assert "Save as contact" not in thanks
        assert "Save as contact" in newest and "Save as contact" not in older
        form = re.search(r'<form id="save-sender-(\d+)"[^>]*>', newest)
        assert form is not None
        assert f'data-api-form="POST /api/v1/inbox/{form[1]}/contact"' in form[0]
        assert 'data-then="/contacts/{id}"' in form[0]
        assert 'value="Texted us first"' in newest
        assert '<script src="/static/contacts.js" defer></script>' in page

        saved = editor.post(f"/api/v1/inbox/{form[1]}/contact", json={"first_name": "Bo"})
        assert saved.status_code == 201, saved.text
        after = editor.get("/inbox/texts").text
        assert "Save as contact" not in after
        assert f'<a href="/contacts/{saved.json()["id"]}">Bo</a>' in after
