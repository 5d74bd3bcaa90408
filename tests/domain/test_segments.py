"""Segment rules: nested groups, names, dates and numbers, checked with problems in words,
matched in SQL on both engines, and read out as a sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from tests.factories import numbers

from textcast.db import Database
from textcast.domain.audience import contacts, lists, segments
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.audience.segment_words import describe
from textcast.domain.errors import InvalidInput
from textcast.models import Contact, ContactStatus

KEY = b"test-key"


def _add(database: Database, **fields: Any) -> int:
    phone = fields.pop("phone")
    created_at = fields.pop("created_at", None)
    with database.write() as session:
        contact = contacts.create_contact(
            session, ContactDraft(phone, **fields), "US", source="api", secret=KEY
        )
        if created_at is not None:
            session.execute(
                update(Contact).where(Contact.id == contact.id).values(created_at=created_at)
            )
        return contact.id


def _matching(database: Database, rules: dict[str, Any]) -> set[int]:
    with database.read() as session:
        assert segments.check_rules(session, rules) == []
        return {c.id for c in segments.preview(session, rules, sample=100).sample}


def _condition(field: str, op: str, value: Any = None) -> dict[str, Any]:
    found = {"field": field, "op": op}
    return found if value is None else {**found, "value": value}


def test_nested_groups_names_dates_and_numbers_match_on_both_engines(database: Database) -> None:
    phones = numbers(5)
    ann = _add(
        database,
        phone=phones[0],
        first_name="Ann",
        country="FR",
        attributes={"points": "120", "plan": "gold"},
        created_at=datetime(2024, 1, 10, 12, tzinfo=UTC),
    )
    bob = _add(
        database,
        phone=phones[1],
        first_name="Bob",
        country="CA",
        attributes={"points": 7},
        created_at=datetime(2024, 5, 1, 23, 59, tzinfo=UTC),
    )
    cy = _add(
        database,
        phone=phones[2],
        country="US",
        attributes={"points": "lots", "plan": "free"},
        created_at=datetime(2024, 5, 2, tzinfo=UTC),
    )
    dee = _add(
        database, phone=phones[3], last_name="Dee", country="US", attributes={"points": "12 apples"}
    )
    with database.write() as session:
        vip = lists.create_list(session, "VIP").id
        lists.add_members(session, vip, [cy])
        session.execute(
            update(Contact).where(Contact.id == dee).values(status=ContactStatus.UNSUBSCRIBED)
        )

    assert _matching(database, {"conditions": [_condition("first_name", "exists")]}) == {ann, bob}
    assert _matching(database, {"conditions": [_condition("first_name", "not_exists")]}) == {
        cy,
        dee,
    }
    assert _matching(database, {"conditions": [_condition("last_name", "contains", "e")]}) == {dee}
    assert _matching(database, {"conditions": [_condition("first_name", "ne", "Ann")]}) == {
        bob,
        cy,
        dee,
    }
    assert _matching(
        database, {"conditions": [_condition("created_at", "before", "2024-05-01")]}
    ) == {ann}
    assert _matching(
        database, {"conditions": [_condition("created_at", "after", "2024-05-01")]}
    ) >= {cy}
    assert bob not in _matching(
        database, {"conditions": [_condition("created_at", "after", "2024-05-01")]}
    )
    # Numbers compare with attributes holding one, as text or as a number; others never match.
    assert _matching(database, {"conditions": [_condition("attributes.points", "gt", 10)]}) == {ann}
    assert _matching(database, {"conditions": [_condition("attributes.points", "lt", 10.5)]}) == {
        bob
    }

    nested = {
        "match": "all",
        "conditions": [
            _condition("status", "eq", "subscribed"),
            {
                "match": "any",
                "conditions": [
                    _condition("country", "in", ["FR", "CA"]),
                    {
                        "match": "all",
                        "conditions": [
                            _condition("list", "in", [vip]),
                            _condition("attributes.plan", "eq", "free"),
                        ],
                    },
                ],
            },
        ],
    }
    assert _matching(database, nested) == {ann, bob, cy}
    with database.read() as session:
        found = segments.preview(session, nested)
        assert (found.contacts, found.subscribed) == (3, 3)
        assert describe(session, nested) == (
            "Subscribed contacts in France or Canada or "
            "(on the list “VIP” and whose plan is “free”)"
        )


def test_saved_flat_rules_keep_working(database: Database) -> None:
    phones = numbers(2)
    fr = _add(database, phone=phones[0], country="FR")
    _add(database, phone=phones[1], country="US")
    flat = {"match": "all", "conditions": [_condition("country", "eq", "FR")]}
    with database.write() as session:
        saved = segments.create_segment(session, "France", flat)
    with database.read() as session:
        assert segments.segment_size(session, saved.id) == (1, 1)
        assert [c.id for c in segments.members(session, saved.id)] == [fr]
        assert describe(session, flat) == "Contacts in France"


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        (
            {"conditions": [{"conditions": [_condition("country", "eq", "France")]}]},
            "rules.conditions[0].conditions[0].value",
            "condition 1 of the group in condition 1: must be a two-letter country code",
        ),
        (
            {
                "conditions": [
                    _condition("status", "eq", "subscribed"),
                    {"match": "any", "conditions": [{"match": "all", "conditions": []}]},
                ]
            },
            "rules.conditions[1].conditions[0].conditions",
            "condition 1 of the group in condition 2: must be a non-empty list",
        ),
        (
            {
                "conditions": [
                    {"match": "every", "conditions": [_condition("status", "eq", "invalid")]}
                ]
            },
            "rules.conditions[0].match",
            "must be `all` or `any`",
        ),
        (
            {"conditions": [{"conditions": [{"conditions": [{"conditions": []}]}]}]},
            "rules.conditions[0].conditions[0].conditions[0]",
            "groups nest at most 3 deep",
        ),
        (
            {"conditions": [_condition("created_at", "before", "2024-02-30")]},
            "rules.conditions[0].value",
            "must be a date written as year-month-day",
        ),
        (
            {"conditions": [_condition("attributes.points", "gt", "10")]},
            "rules.conditions[0].value",
            "must be a number",
        ),
        (
            {"conditions": [_condition("first_name", "in", ["Ann"])]},
            "rules.conditions[0].op",
            "must be one of contains, eq, exists, ne, not_exists",
        ),
        (
            {"conditions": [{"conditions": [_condition("status", "eq", "subscribed")] * 30}] * 2},
            "rules",
            "has 62 conditions in all",
        ),
    ],
)
def test_problems_name_the_condition_in_words(
    database: Database, rules: dict[str, Any], field: str, message: str
) -> None:
    with database.read() as session:
        problems = segments.check_rules(session, rules)
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message
    with database.read() as session, pytest.raises(InvalidInput):
        segments.preview(session, rules)


def test_sentences_read_every_field(database: Database) -> None:
    with database.write() as session:
        vip = lists.create_list(session, "VIP").id
        leads = lists.create_list(session, "Leads").id
        rules = {
            "match": "any",
            "conditions": [
                _condition("status", "eq", "subscribed"),
                _condition("status", "ne", "invalid"),
                _condition("country", "not_in", ["US", "GB"]),
                _condition("list", "not_in", [vip, leads]),
                _condition("last_name", "eq", "Dee"),
                _condition("created_at", "after", "2024-05-01"),
                _condition("attributes.loyalty_points", "lt", 2.5),
                _condition("attributes.plan", "not_in", ["gold", "free"]),
                _condition("attributes.plan", "not_exists"),
            ],
        }
        assert describe(session, rules) == (
            "Contacts who are subscribed, whose number is not invalid, "
            "not in the United States or the United Kingdom, "
            "not on the lists “VIP” or “Leads”, whose last name is “Dee”, "
            "added after 1 May 2024, whose loyalty points is less than 2.5, "
            "whose plan is neither “gold” nor “free”, or whose plan is not set"
        )
