"""Saved segments: filters over contacts, evaluated in SQL when used.

Rules are JSON: `{"match": "all" | "any", "conditions": [{"field", "op", "value"}]}` with

- `country`: `eq`, `ne`, `in`, `not_in` (ISO codes)
- `status`: `eq`, `ne` (`subscribed`, `unsubscribed`, `invalid`; the consent state)
- `list`: `in`, `not_in` (list ids)
- `attributes.<key>`: `eq`, `ne`, `in`, `not_in`, `contains`, `exists`, `not_exists`;
  values are compared as text, so `3` matches the attribute `"3"` and the number 3.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import Contact, ContactList, ContactStatus, ListMember, Segment

OPS = {
    "country": {"eq", "ne", "in", "not_in"},
    "status": {"eq", "ne"},
    "list": {"in", "not_in"},
    "attributes": {"eq", "ne", "in", "not_in", "contains", "exists", "not_exists"},
}
MAX_CONDITIONS = 50


def check_rules(session: Session, rules: Any) -> list[FieldProblem]:
    if not isinstance(rules, dict):
        return [FieldProblem("rules", "must be an object with `match` and `conditions`")]
    problems = []
    if rules.get("match", "all") not in ("all", "any"):
        problems.append(FieldProblem("rules.match", "must be `all` or `any`"))
    conditions = rules.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        return [*problems, FieldProblem("rules.conditions", "must be a non-empty list")]
    if len(conditions) > MAX_CONDITIONS:
        problems.append(FieldProblem("rules.conditions", f"at most {MAX_CONDITIONS}"))
    for index, condition in enumerate(conditions):
        problems.extend(_check_condition(session, f"rules.conditions[{index}]", condition))
    return problems


def _check_condition(session: Session, where: str, condition: Any) -> list[FieldProblem]:
    if not isinstance(condition, dict):
        return [FieldProblem(where, "must be an object with `field`, `op` and `value`")]
    field, op = condition.get("field"), condition.get("op")
    value: Any = condition.get("value")
    kind = field.split(".", 1)[0] if isinstance(field, str) else None
    if kind not in OPS or (kind == "attributes" and "." not in str(field)):
        return [FieldProblem(f"{where}.field", "must be country, status, list or attributes.<key>")]
    if op not in OPS[kind]:
        return [FieldProblem(f"{where}.op", f"must be one of {', '.join(sorted(OPS[kind]))}")]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return [FieldProblem(f"{where}.value", "must be a non-empty list")]
    elif op not in ("exists", "not_exists") and not isinstance(value, str | int | float):
        return [FieldProblem(f"{where}.value", "must be a string or a number")]
    if kind == "status" and value not in set(ContactStatus):
        return [FieldProblem(f"{where}.value", "must be subscribed, unsubscribed or invalid")]
    if kind == "list":
        ids = [v for v in value if isinstance(v, int)]
        known = set(session.scalars(select(ContactList.id).where(ContactList.id.in_(ids))))
        if unknown := [v for v in value if v not in known]:
            return [FieldProblem(f"{where}.value", f"no such list: {unknown}")]
    return []


def condition_sql(rules: dict[str, Any]) -> ColumnElement[bool]:
    """The WHERE clause on `contacts` for rules that passed `check_rules`."""
    parts = [_condition(c) for c in rules["conditions"]]
    return and_(true(), *parts) if rules.get("match", "all") == "all" else or_(false(), *parts)


def _condition(condition: dict[str, Any]) -> ColumnElement[bool]:
    field: str = condition["field"]
    op: str = condition["op"]
    value: Any = condition.get("value")
    if field == "list":
        members = select(ListMember.contact_id).where(ListMember.list_id.in_(list(value)))
        return Contact.id.in_(members) if op == "in" else Contact.id.not_in(members)
    if field.startswith("attributes."):
        text = cast(Contact.attributes[field.split(".", 1)[1]].as_string(), String)
        if op == "exists":
            return text.is_not(None)
        if op == "not_exists":
            return text.is_(None)
        if op == "contains":
            return text.contains(str(value))
        return _compare(text, op, [str(v) for v in value] if op.endswith("in") else str(value))
    if field == "country":
        upper = [str(v).upper() for v in value] if op.endswith("in") else str(value).upper()
        return _compare(Contact.country.expression, op, upper)
    return _compare(Contact.status.expression, op, value)


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        return column.is_not_distinct_from(value)
    if op == "ne":
        return or_(column != value, column.is_(None))
    return column.in_(value) if op == "in" else not_(column.in_(value))


def audience_condition(session: Session, audience: dict[str, Any]) -> ColumnElement[bool] | None:
    """The condition picking the contacts of a campaign's `{"lists": [...], "segments": [...]}`
    (None when it names neither)."""
    chosen: list[ColumnElement[bool]] = []
    if list_ids := audience.get("lists"):
        chosen.append(
            Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids)))
        )
    for segment_id in audience.get("segments") or []:
        chosen.append(condition_sql(get_segment(session, segment_id).rules))
    return or_(false(), *chosen) if chosen else None


def create_segment(session: Session, name: str, rules: Any) -> Segment:
    problems = check_rules(session, rules)
    if not name.strip():
        problems.insert(0, FieldProblem("name", "must not be empty"))
    if problems:
        raise InvalidInput(problems)
    if session.scalar(select(Segment.id).where(Segment.name == name.strip())) is not None:
        raise Conflict(f"a segment named {name.strip()!r} already exists")
    segment = Segment(name=name.strip(), rules=rules)
    session.add(segment)
    session.flush()
    return segment


def get_segment(session: Session, segment_id: int) -> Segment:
    found = session.get(Segment, segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    return found


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def segment_size(session: Session, segment_id: int) -> tuple[int, int]:
    """Contacts matching now, and how many of them are subscribed."""
    where = condition_sql(get_segment(session, segment_id).rules)
    total = session.scalar(select(func.count()).select_from(Contact).where(where)) or 0
    subscribed = session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(where, Contact.status == ContactStatus.SUBSCRIBED)
    )
    return total, subscribed or 0
