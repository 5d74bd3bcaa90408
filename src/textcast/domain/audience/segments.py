"""Saved segments: filters over contacts, evaluated in SQL when used.

Rules are JSON: `{"match": "all" | "any", "conditions": [{"field", "op", "value"}]}` with

- `country`: `eq`, `ne`, `in`, `not_in` (ISO codes)
- `status`: `eq`, `ne` (`subscribed`, `unsubscribed`, `invalid`; the consent state)
- `list`: `in`, `not_in` (list ids)
- `attributes.<key>`: `eq`, `ne`, `in`, `not_in`, `contains`, `exists`, `not_exists`;
  values are compared as text, so `3` matches the attribute `"3"` and the number 3.

The shape is checked strictly, when a segment is saved and again whenever one is used: rules
stored before this check existed, or naming a list since deleted, must give a clear refusal
(`BrokenSegment`) and never reach SQL, where an odd attribute key or a huge id makes the driver
fail. Nothing nests beyond a condition's list of values, so the depth is bounded by the shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    delete,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactList,
    ContactStatus,
    ListMember,
    Segment,
)

OPS = {
    "country": {"eq", "ne", "in", "not_in"},
    "status": {"eq", "ne"},
    "list": {"in", "not_in"},
    "attributes": {"eq", "ne", "in", "not_in", "contains", "exists", "not_exists"},
}
RULE_KEYS = ("match", "conditions")
CONDITION_KEYS = ("field", "op", "value")
MAX_NAME = 200
MAX_CONDITIONS = 50
MAX_VALUES = 500
"""Values in one `in` / `not_in` condition."""
MAX_TEXT = 200
"""Characters in one compared value."""
MAX_NUMBER = 2**53
"""Beyond this, numbers lose digits in JSON (and in browsers)."""
MAX_LIST_ID = 2**63 - 1
"""Ids are signed 64-bit on both engines: a larger one overflows in the driver."""
ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
"""Attribute keys go into a JSON path in SQL: only these characters are safe on both engines."""
SHOWN_KEY = 40
"""An unknown key is quoted up to this many characters in a problem."""
USING_STATUSES = (CampaignStatus.DRAFT,)
"""Campaigns that still read their segments: launch resolves them into messages, so a
scheduled, sending or finished campaign no longer depends on them."""


class BrokenSegment(Conflict):
    """A stored segment whose rules no longer pass the check (HTTP 409): it cannot be sized,
    planned or sent until it is edited."""

    def __init__(self, segment: Segment, problems: list[FieldProblem]) -> None:
        reasons = "; ".join(f"{p.field}: {p.message}" for p in problems)
        super().__init__(
            f"the segment {segment.name!r} (id {segment.id}) cannot be used until its rules "
            f"are fixed: {reasons}"
        )
        self.segment_id = segment.id
        self.problems = problems


def check_rules(session: Session, rules: Any) -> list[FieldProblem]:
    """Every problem in `rules`, each naming where (`rules.conditions[2].value`) and why."""
    if not isinstance(rules, dict):
        return [FieldProblem("rules", "must be an object with `match` and `conditions`")]
    problems = _unknown_keys("rules", rules, RULE_KEYS, "the rules")
    if rules.get("match", "all") not in ("all", "any"):
        problems.append(FieldProblem("rules.match", "must be `all` or `any`"))
    conditions = rules.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        return [*problems, FieldProblem("rules.conditions", "must be a non-empty list")]
    if len(conditions) > MAX_CONDITIONS:
        return [
            *problems,
            FieldProblem(
                "rules.conditions",
                f"has {len(conditions)} conditions; a segment can have at most {MAX_CONDITIONS}",
            ),
        ]
    for index, condition in enumerate(conditions):
        problems.extend(_check_condition(session, f"rules.conditions[{index}]", condition))
    return problems


def _unknown_keys(
    where: str, found: dict[Any, Any], allowed: Iterable[str], what: str
) -> list[FieldProblem]:
    unknown = [str(key) for key in found if key not in allowed]
    if not unknown:
        return []
    shown = ", ".join(repr(key[:SHOWN_KEY]) for key in unknown[:3])
    more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
    return [
        FieldProblem(
            where,
            f"has unknown setting(s) {shown}{more}: {what} may only have "
            + ", ".join(f"`{key}`" for key in allowed),
        )
    ]


def _check_condition(session: Session, where: str, condition: Any) -> list[FieldProblem]:
    if not isinstance(condition, dict):
        return [FieldProblem(where, "must be an object with `field`, `op` and `value`")]
    problems = _unknown_keys(where, condition, CONDITION_KEYS, "a condition")
    field, op = condition.get("field"), condition.get("op")
    kind = field.split(".", 1)[0] if isinstance(field, str) else None
    if kind not in OPS or (kind == "attributes" and "." not in str(field)):
        return [
            *problems,
            FieldProblem(f"{where}.field", "must be country, status, list or attributes.<key>"),
        ]
    if kind == "attributes" and not ATTRIBUTE_KEY.fullmatch(str(field).split(".", 1)[1]):
        return [
            *problems,
            FieldProblem(
                f"{where}.field",
                "the attribute name after `attributes.` may only use letters, digits and _ "
                "(1 to 64 characters), as in attributes.plan",
            ),
        ]
    if op not in OPS[kind]:
        return [
            *problems,
            FieldProblem(f"{where}.op", f"must be one of {', '.join(sorted(OPS[kind]))}"),
        ]
    problems.extend(_check_value(session, f"{where}.value", kind, op, condition))
    return problems


def _check_value(
    session: Session, where: str, kind: str, op: str, condition: dict[str, Any]
) -> list[FieldProblem]:
    value: Any = condition.get("value")
    if op in ("exists", "not_exists"):
        if value is None:
            return []
        return [FieldProblem(where, f"`{op}` takes no value: leave `value` out")]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return [FieldProblem(where, "must be a non-empty list")]
        if len(value) > MAX_VALUES:
            return [FieldProblem(where, f"has {len(value)} values; at most {MAX_VALUES}")]
        values = value
    else:
        values = [value]
    check = {"country": _country_problem, "status": _status_problem, "list": _list_id_problem}
    for index, one in enumerate(values):
        at = f"{where}[{index}]" if op in ("in", "not_in") else where
        if (problem := check.get(kind, _text_problem)(one)) is not None:
            return [FieldProblem(at, problem)]
    if kind == "list":
        known = set(session.scalars(select(ContactList.id).where(ContactList.id.in_(values))))
        if unknown := [v for v in values if v not in known]:
            shown = ", ".join(str(v) for v in unknown[:10])
            return [FieldProblem(where, f"no such list: {shown} (it may have been deleted)")]
    return []


def _text_problem(value: Any) -> str | None:
    """Attribute values: text or a number, compared as text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "must be text or a number"
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"is {len(value)} characters long; at most {MAX_TEXT}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if not isinstance(value, str) and abs(value) > MAX_NUMBER:
        return f"is too large a number (at most {MAX_NUMBER:,} either way)"
    return None


def _country_problem(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return None
    return "must be a two-letter country code, such as FR or US"


def _status_problem(value: Any) -> str | None:
    if isinstance(value, str) and value in set(ContactStatus):
        return None
    return "must be subscribed, unsubscribed or invalid"


def _list_id_problem(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LIST_ID:
        return None
    return "must be a list id: a whole number from the lists table"


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
            return text.contains(str(value), autoescape=True)  # % and _ as themselves
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


SHOWN_DEPTH = 4
"""Valid rules nest 4 deep (rules, conditions, a condition, its values); deeper stored ones
are not echoed, since rendering them can exhaust the stack."""


def shown_rules(segment: Segment) -> dict[str, Any] | None:
    """The stored rules, if they are an object that can be shown safely; else None."""
    rules = segment.rules
    if not isinstance(rules, dict):
        return None
    level: list[Any] = [rules]
    for _ in range(SHOWN_DEPTH):
        level = [
            item
            for value in level
            for item in (value.values() if isinstance(value, dict) else value)
            if isinstance(item, dict | list)
        ]
    return None if level else rules


def usable_rules(session: Session, segment: Segment) -> dict[str, Any]:
    """The segment's rules, checked again as they are now; `BrokenSegment` if they fail."""
    if problems := check_rules(session, segment.rules):
        raise BrokenSegment(segment, problems)
    return segment.rules


def audience_condition(session: Session, audience: dict[str, Any]) -> ColumnElement[bool] | None:
    """The condition picking the contacts of a campaign's `{"lists": [...], "segments": [...]}`
    (None when it names neither)."""
    chosen: list[ColumnElement[bool]] = []
    if list_ids := audience.get("lists"):
        chosen.append(
            Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids)))
        )
    for segment_id in audience.get("segments") or []:
        found = session.get(Segment, segment_id)
        if found is None:
            raise Conflict(
                f"segment {segment_id} was deleted; choose the audience again in a new campaign"
            )
        chosen.append(condition_sql(usable_rules(session, found)))
    return or_(false(), *chosen) if chosen else None


def create_segment(session: Session, name: str, rules: Any) -> Segment:
    name = name.strip()
    problems = [*_name_problems(name), *check_rules(session, rules)]
    if problems:
        raise InvalidInput(problems)
    _refuse_taken_name(session, name)
    segment = Segment(name=name, rules=rules)
    session.add(segment)
    session.flush()
    return segment


@dataclass(frozen=True, slots=True)
class UpdatedSegment:
    segment: Segment
    changed: list[str]
    """What changed, `name` and/or `rules`: empty when nothing did (the same name again)."""


def update_segment(
    session: Session,
    segment_id: int,
    *,
    name: str | None = None,
    rules: Any = None,
) -> UpdatedSegment:
    """A new name, new rules, or both (None leaves one as it is); checked as on creation."""
    segment = get_segment(session, segment_id)
    problems: list[FieldProblem] = []
    if name is not None:
        name = name.strip()
        problems += _name_problems(name)
    if rules is not None:
        problems += check_rules(session, rules)
    if problems:
        raise InvalidInput(problems)
    changed: list[str] = []
    if name is not None and name != segment.name:
        _refuse_taken_name(session, name, besides=segment.id)
        segment.name = name
        changed.append("name")
    if rules is not None:
        segment.rules = rules
        changed.append("rules")
    session.flush()
    return UpdatedSegment(segment, changed)


def delete_segment(session: Session, segment_id: int) -> Segment:
    """Refused while a draft campaign still names it: its audience would change silently.
    Returns the segment deleted.

    Launched campaigns resolved their segments into messages and keep them."""
    segment = get_segment(session, segment_id)
    users = campaigns_using(session, segment_id)
    if users:
        named = ", ".join(f"{name!r} (id {ident})" for ident, name in users[:10])
        more = f" and {len(users) - 10} more" if len(users) > 10 else ""
        raise Conflict(
            f"the segment {segment.name!r} is the audience of draft campaign(s) {named}{more}; "
            "send or cancel those drafts first (a draft's audience cannot be changed)"
        )
    session.execute(delete(Segment).where(Segment.id == segment.id))
    return segment


def campaigns_using(session: Session, segment_id: int) -> list[tuple[int, str]]:
    """Ids and names of the campaigns whose audience still reads the segment."""
    drafts = session.execute(
        select(Campaign.id, Campaign.name, Campaign.audience)
        .where(Campaign.status.in_(USING_STATUSES))
        .order_by(Campaign.id)
    )
    return [
        (ident, name)
        for ident, name, audience in drafts
        if segment_id in ((audience or {}).get("segments") or [])
    ]


def _name_problems(name: str) -> list[FieldProblem]:
    if not name or len(name) > MAX_NAME:
        return [FieldProblem("name", f"must be 1 to {MAX_NAME} characters")]
    return []


def _refuse_taken_name(session: Session, name: str, besides: int | None = None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.name == name))
    if taken is not None and taken != besides:
        raise Conflict(f"a segment named {name!r} already exists")


def get_segment(session: Session, segment_id: int) -> Segment:
    found = session.get(Segment, segment_id)
    if found is None:
        raise NotFound("segment", segment_id)
    return found


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


@dataclass(frozen=True, slots=True)
class SizedSegment:
    """A segment as the lists page shows it: its sizes, or why it cannot be used."""

    segment: Segment
    rules: dict[str, Any] | None
    """As stored, when they can be shown (`shown_rules`)."""
    problems: list[FieldProblem]
    contacts: int = 0
    subscribed: int = 0


def sized_segments(session: Session) -> list[SizedSegment]:
    """Every segment with its sizes now; a broken one with its problems instead, so that one
    bad segment never takes the page down."""
    sized = []
    for segment in list_segments(session):
        problems = check_rules(session, segment.rules)
        sizes = (0, 0) if problems else _sizes(session, condition_sql(segment.rules))
        sized.append(SizedSegment(segment, shown_rules(segment), problems, *sizes))
    return sized


def segment_size(session: Session, segment_id: int) -> tuple[int, int]:
    """Contacts matching now, and how many of them are subscribed (`BrokenSegment` when its
    rules no longer pass)."""
    return _sizes(session, condition_sql(usable_rules(session, get_segment(session, segment_id))))


def _sizes(session: Session, where: ColumnElement[bool]) -> tuple[int, int]:
    total = session.scalar(select(func.count()).select_from(Contact).where(where)) or 0
    subscribed = session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(where, Contact.status == ContactStatus.SUBSCRIBED)
    )
    return total, subscribed or 0
