import pytest

from textcast.db import Database
from textcast.domain.audience import consent, contacts, lists
from textcast.domain.audience.contacts import ContactDraft, ContactFilter
from textcast.domain.errors import Conflict, InvalidInput
from textcast.models import ConsentKind, ContactStatus

KEY = b"test-key"


def _create(database: Database, phone: str, **fields: object) -> int:
    with database.write() as session:
        return contacts.create_contact(
            session, ContactDraft(phone, **fields), "FR", source="api", secret=KEY
        ).id  # type: ignore[arg-type]


def test_one_contact_per_number_whatever_its_spelling(database: Database) -> None:
    _create(database, "06 12 34 56 78")
    with pytest.raises(Conflict):
        _create(database, "+33612345678")


def test_country_and_time_zone_come_from_the_number_unless_given(database: Database) -> None:
    paris = _create(database, "0612345678")
    override = _create(database, "+12015550123", country="ca", time_zone="America/Toronto")
    with database.read() as session:
        first, second = (
            contacts.get_contact(session, paris),
            contacts.get_contact(session, override),
        )
    assert (first.country, first.time_zone) == ("FR", "Europe/Paris")
    assert (second.country, second.time_zone) == ("CA", "America/Toronto")


def test_bad_fields_are_named(database: Database) -> None:
    with pytest.raises(InvalidInput) as caught, database.write() as session:
        draft = ContactDraft(
            "nope", attributes={"tags": ["a"]}, country="XX", time_zone="Mars/Base"
        )
        contacts.create_contact(session, draft, "FR", source="api", secret=KEY)
    assert [p.field for p in caught.value.problems] == [
        "phone",
        "attributes.tags",
        "country",
        "time_zone",
    ]


def test_update_merges_attributes_and_null_removes_a_key(database: Database) -> None:
    contact_id = _create(database, "0612345678", attributes={"plan": "gold", "city": "Lyon"})
    with database.write() as session:
        contacts.update_contact(
            session, contact_id, {"first_name": "Ana", "attributes": {"city": None, "vip": True}}
        )
    with database.read() as session:
        contact = contacts.get_contact(session, contact_id)
    assert contact.first_name == "Ana"
    assert contact.attributes == {"plan": "gold", "vip": True}


def test_search_and_filters(database: Database) -> None:
    _create(database, "0612345678", first_name="Ana")
    _create(database, "+12015550123", first_name="Bob")
    with database.read() as session:
        found = contacts.list_contacts(session, ContactFilter(search="ana"))
        by_country = contacts.list_contacts(session, ContactFilter(country="us"))
        by_digits = contacts.list_contacts(session, ContactFilter(search="201555"))
    assert [c.first_name for c in found] == ["Ana"]
    assert [c.first_name for c in by_country] == ["Bob"]
    assert [c.first_name for c in by_digits] == ["Bob"]


def test_opt_out_and_back_in_is_recorded_with_evidence(database: Database) -> None:
    contact_id = _create(database, "0612345678", consent_evidence="signed up at the till")
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        consent.opt_out(session, KEY, contact, consent.Evidence("keyword", keyword="STOP"))
    with database.write() as session:
        contact = contacts.get_contact(session, contact_id)
        assert contact.status == ContactStatus.UNSUBSCRIBED
        consent.opt_in(session, KEY, contact, consent.Evidence("keyword", keyword="START"))
    with database.read() as session:
        events = consent.history(session, contact_id)
    assert [(e.kind, e.source, e.keyword) for e in events] == [
        (ConsentKind.OPT_IN, "api", None),
        (ConsentKind.OPT_OUT, "keyword", "STOP"),
        (ConsentKind.OPT_IN, "keyword", "START"),
    ]
    assert events[0].evidence == "signed up at the till"


def test_memberships_are_the_contacts_lists_by_name(database: Database) -> None:
    contact_id = _create(database, "0612345678")
    other = _create(database, "0612345679")
    with database.write() as session:
        for name in ("Spring", "Autumn", "Winter"):
            found = lists.create_list(session, name)
            lists.add_members(session, found.id, [other] if name == "Winter" else [contact_id])
    with database.read() as session:
        assert [m.name for m in contacts.list_memberships(session, contact_id)] == [
            "Autumn",
            "Spring",
        ]
