"""Static lists of contacts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import Contact, ContactList, ListMember, utcnow

MAX_NAME = 200


def create_list(session: Session, name: str) -> ContactList:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput([FieldProblem("name", f"must be 1 to {MAX_NAME} characters")])
    if session.scalar(select(ContactList.id).where(ContactList.name == name)) is not None:
        raise Conflict(f"a list named {name!r} already exists")
    contact_list = ContactList(name=name)
    session.add(contact_list)
    session.flush()
    return contact_list


def get_or_create_list(session: Session, name: str) -> ContactList:
    existing = session.scalars(select(ContactList).where(ContactList.name == name.strip())).first()
    return existing or create_list(session, name)


def get_list(session: Session, list_id: int) -> ContactList:
    found = session.get(ContactList, list_id)
    if found is None:
        raise NotFound("list", list_id)
    return found


def list_named(session: Session, name: str) -> ContactList:
    """The list of this name; one whose id it is when no list has that name."""
    found = session.scalars(select(ContactList).where(ContactList.name == name.strip())).first()
    if found is None and name.strip().isdigit():
        found = session.get(ContactList, int(name))
    if found is None:
        raise NotFound("list", name)
    return found


def list_lists(session: Session) -> list[tuple[ContactList, int]]:
    """Every list with its member count."""
    counts = (
        select(ListMember.list_id, func.count().label("members"))
        .group_by(ListMember.list_id)
        .subquery()
    )
    rows = session.execute(
        select(ContactList, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.list_id == ContactList.id)
        .order_by(ContactList.name)
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def add_members(session: Session, list_id: int, contact_ids: Sequence[int]) -> int:
    """Adds the contacts (already members are left alone); returns how many were new."""
    return len(join_list(session, list_id, contact_ids))


def join_list(session: Session, list_id: int, contact_ids: Sequence[int]) -> list[int]:
    """Adds the contacts (already members are left alone); the ids of those that were not
    members yet (a list's flows start for them)."""
    get_list(session, list_id)
    known = set(session.scalars(select(Contact.id).where(Contact.id.in_(contact_ids))))
    if missing := [i for i, cid in enumerate(contact_ids) if cid not in known]:
        raise InvalidInput([FieldProblem(f"contact_ids[{i}]", "no such contact") for i in missing])
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {"list_id": list_id, "contact_id": cid, "added_at": utcnow()}
        for cid in dict.fromkeys(contact_ids)
    ]
    if not rows:
        return []
    statement = insert(ListMember).on_conflict_do_nothing(index_elements=["list_id", "contact_id"])
    return [row[0] for row in session.execute(statement.returning(ListMember.contact_id), rows)]


def remove_member(session: Session, list_id: int, contact_id: int) -> None:
    get_list(session, list_id)
    session.execute(
        delete(ListMember).where(ListMember.list_id == list_id, ListMember.contact_id == contact_id)
    )
