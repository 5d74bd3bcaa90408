"""The editor's preview: a body as one contact receives it, counted as it will be sent."""

from __future__ import annotations

from typing import Any

import pytest

from textcast.db import Database
from textcast.domain.audience import contacts
from textcast.domain.campaigns import previews
from textcast.domain.content.encoding import Encoding
from textcast.domain.errors import InvalidInput, NotFound


def _contact(database: Database, phone: str = "+12015550100", **fields: Any) -> int:
    with database.write() as session:
        contact = contacts.create_contact(
            session, contacts.ContactDraft(phone=phone, **fields), "US", "test", b"k" * 32
        )
    return contact.id


def test_renders_the_body_with_the_contacts_names_and_attributes(database: Database) -> None:
    _contact(database, "+12015550101", attributes={"city": "Paris"})
    ada = _contact(database, first_name="Ada", attributes={"plan": "gold", "visits": 3})
    body = (
        "Hi {{ first_name }}, your {{ plan }} plan: {{ visits }} visits. {{ city | default('') }}"
    )
    with database.read() as session:
        found = previews.preview(session, body, contact_id=ada)
    assert found.text == "Hi Ada, your gold plan: 3 visits. "
    assert (found.encoding, found.parts) == (Encoding.GSM7, 1)
    assert found.fields == ("first_name", "plan", "visits", "city")
    assert found.missing == ()
    assert found.contact is not None and found.contact.id == ada


def test_reports_fields_the_contact_lacks_and_leaves_them_empty(database: Database) -> None:
    _contact(database, "+12015550101", attributes={"plan": "gold"})
    bob = _contact(database, first_name="  ")  # blank is no value
    body = 'Hi {{ first_name }}{{ last_name | default(" friend") }}, {{ plan }}!'
    with database.read() as session:
        found = previews.preview(session, body, contact_id=bob)
    assert found.text == "Hi  friend, !"
    assert found.missing == ("first_name", "plan")


def test_without_a_contact_the_sample_has_a_value_for_every_field(database: Database) -> None:
    _contact(database, attributes={"plan": "gold"})  # makes `plan` a known field
    body = 'Hi {{ first_name | default("there") }} {{ last_name }}, from {{ phone }}: {{ plan }}'
    with database.read() as session:
        found = previews.preview(session, body)
    assert found.text == "Hi Alex Morgan, from +14155550100: sample value"
    # Still named: contacts without a value for these would be left out.
    assert found.missing == ("last_name", "phone", "plan")
    assert found.contact is None
    assert found.sample == {
        "first_name": "Alex",
        "last_name": "Morgan",
        "phone": "+14155550100",
        "plan": "sample value",
    }


def test_smart_encoding_applies_to_the_text_and_to_the_values(database: Database) -> None:
    zoe = _contact(database, first_name="Zoë")  # ë is not GSM-7
    body = "\u201cHi\u201d {{ first_name }} \u2013 sale"
    with database.read() as session:
        plain = previews.preview(session, body, contact_id=zoe)
        smart = previews.preview(session, body, contact_id=zoe, smart_encoding=True)
    assert (plain.text, plain.encoding) == ("\u201cHi\u201d Zoë \u2013 sale", Encoding.UCS2)
    assert (smart.text, smart.encoding) == ('"Hi" Zoe - sale', Encoding.GSM7)


def test_counts_a_long_personalised_text_in_parts(database: Database) -> None:
    ada = _contact(database, first_name="Ada" * 20)
    with database.read() as session:
        found = previews.preview(session, "{{ first_name }}" + "x" * 120, contact_id=ada)
    assert (found.length, found.parts) == (180, 2)


def test_short_links_count_at_the_length_launch_makes(database: Database) -> None:
    body = "Sale: https://shop.example/spring/a-very-long-path-indeed today"
    with database.read() as session:
        found = previews.preview(session, body, short_link_base="https://t.example/")
        unchanged = previews.preview(session, body)
    assert found.text == "Sale: https://t.example/l/xxxxxxxxxx today"
    assert unchanged.text == body


def test_an_unknown_field_is_refused_naming_it_and_where_it_is(database: Database) -> None:
    _contact(database, attributes={"plan": "gold"})
    with database.read() as session, pytest.raises(InvalidInput) as caught:
        previews.preview(session, "Your {{ plan }} {{shoe_size}}")
    [problem] = caught.value.problems
    assert problem.field == "body" and problem.value == "shoe_size"
    assert problem.message.startswith("at character 17: unknown merge field 'shoe_size'")
    assert "known: country, first_name, last_name, phone, plan" in problem.message


def test_a_malformed_field_is_refused(database: Database) -> None:
    with database.read() as session, pytest.raises(InvalidInput) as caught:
        previews.preview(session, "Hi {{ first name }}")
    assert "malformed merge field at character 4" in caught.value.problems[0].message


def test_an_unknown_contact_is_not_found(database: Database) -> None:
    with database.read() as session, pytest.raises(NotFound):
        previews.preview(session, "Hi", contact_id=12345)
