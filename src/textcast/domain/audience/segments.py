"""Saved segments: filters over contacts, evaluated in SQL when used.

Rules are JSON: `{"match": "all" | "any", "conditions": [...]}`, where each condition is either
`{"field", "op", "value"}` or a group of its own, `{"match", "conditions"}` (groups nest up to
`MAX_DEPTH` deep, the rules counting as the first). The fields and their operators:

- `country`: `eq`, `ne`, `in`, `not_in` (ISO codes)
- `status`: `eq`, `ne` (`subscribed`, `unsubscribed`, `invalid`; the consent state)
- `list`: `in`, `not_in` (list ids)
- `first_name`, `last_name`: `eq`, `ne`, `contains`, `exists`, `not_exists`
- `created_at`: `before`, `after` (a date, `2024-05-01`, in UTC: added before that day began,
  or after it ended)
- `attributes.<key>`: `eq`, `ne`, `in`, `not_in`, `contains`, `exists`, `not_exists`;
  values are compared as text, so `3` matches the attribute `"3"` and the number 3. `gt` and
  `lt` take a number and compare the attributes that hold one (`"42"` or 42).

The shape is checked strictly, when a segment is saved and again whenever one is used: rules
stored before this check existed, or naming a list since deleted, must give a clear refusal
(`BrokenSegment`) and never reach SQL, where an odd attribute key or a huge id makes the driver
fail. The check stops at `MAX_DEPTH` groups, so the depth it walks is bounded however deep the
JSON is. A problem inside a group says which condition it is in words
("condition 2 of the group in condition 3: ...").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
    text,
    true,
)
from sqlalchemy.orm import Session

from textcast.db import number_in_text
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

TEXT_OPS = {"eq", "ne", "contains", "exists", "not_exists"}
OPS = {
    "country": {"eq", "ne", "in", "not_in"},
    "status": {"eq", "ne"},
    "list": {"in", "not_in"},
    "first_name": TEXT_OPS,
    "last_name": TEXT_OPS,
    "created_at": {"before", "after"},
    "attributes": {"in", "not_in", "gt", "lt", *TEXT_OPS},
}
FIELDS = "country, status, list, first_name, last_name, created_at or attributes.<key>"
RULE_KEYS = ("match", "conditions")
CONDITION_KEYS = ("field", "op", "value")
MAX_NAME = 200
MAX_CONDITIONS = 50
"""Conditions in all, groups and those inside them included."""
MAX_DEPTH = 3
"""Levels of groups: the rules, a group in them, and a group in that."""
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


def is_group(condition: Any) -> bool:
    """A condition that is a group of conditions (`match`, `conditions`), not a comparison."""
    return (
        isinstance(condition, dict)
        and "field" not in condition
        and ("conditions" in condition or "match" in condition)
    )


def check_rules(session: Session, rules: Any) -> list[FieldProblem]:
    """Every problem in `rules`, each naming where (`rules.conditions[2].value`) and why."""
    if not isinstance(rules, dict):
        return [FieldProblem("rules", "must be an object with `match` and `conditions`")]
    problems = _check_group(session, "rules", (), rules)
    if not problems and (total := _count(rules)) > MAX_CONDITIONS:
        problems.append(
            FieldProblem(
                "rules",
                f"has {total} conditions in all, groups included; a segment can have at most "
                f"{MAX_CONDITIONS}",
            )
        )
    return problems


def _count(group: dict[str, Any]) -> int:
    return sum(1 + (_count(c) if is_group(c) else 0) for c in group["conditions"])


def in_words(path: tuple[int, ...]) -> str:
    """Where a condition is, for people: `(3, 2)` is "condition 2 of the group in condition 3"."""
    words = f"condition {path[0] + 1}"
    for index in path[1:]:
        words = f"condition {index + 1} of the group in {words}"
    return words


def _check_group(
    session: Session, where: str, path: tuple[int, ...], group: dict[str, Any]
) -> list[FieldProblem]:
    """`path` is where the group is (empty for the rules themselves)."""
    own = _unknown_keys(where, group, RULE_KEYS, "a group" if path else "the rules")
    if group.get("match", "all") not in ("all", "any"):
        own.append(FieldProblem(f"{where}.match", "must be `all` or `any`"))
    conditions = group.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        own.append(FieldProblem(f"{where}.conditions", "must be a non-empty list"))
    elif len(conditions) > MAX_CONDITIONS:
        own.append(
            FieldProblem(
                f"{where}.conditions",
                f"has {len(conditions)} conditions; a segment can have at most {MAX_CONDITIONS}",
            )
        )
    problems = _placed(path, own)
    if not isinstance(conditions, list) or not conditions or len(conditions) > MAX_CONDITIONS:
        return problems
    for index, condition in enumerate(conditions):
        at, inner = f"{where}.conditions[{index}]", (*path, index)
        if not is_group(condition):
            problems.extend(_placed(inner, _check_condition(session, at, condition)))
        elif len(inner) >= MAX_DEPTH:
            problem = FieldProblem(
                at,
                f"groups nest at most {MAX_DEPTH} deep (the rules count as the first): move "
                "its conditions up a level",
            )
            problems.extend(_placed(inner, [problem]))
        else:
            problems.extend(_check_group(session, at, inner, condition))
    return problems


def _placed(path: tuple[int, ...], problems: list[FieldProblem]) -> list[FieldProblem]:
    """Problems of a condition inside a group start with where it is, in words."""
    if len(path) < 2:
        return problems
    words = in_words(path)
    return [FieldProblem(p.field, f"{words}: {p.message}") for p in problems]


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
            f"has {'an unknown setting' if len(unknown) == 1 else 'unknown settings'} "
            f"{shown}{more}: {what} may only have " + ", ".join(f"`{key}`" for key in allowed),
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
            FieldProblem(f"{where}.field", f"must be {FIELDS}"),
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
    check = {
        "country": _country_problem,
        "status": _status_problem,
        "list": _list_id_problem,
        "created_at": _date_problem,
    }.get(kind, _number_problem if op in ("gt", "lt") else _text_problem)
    for index, one in enumerate(values):
        at = f"{where}[{index}]" if op in ("in", "not_in") else where
        if (problem := check(one)) is not None:
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


def _number_problem(value: Any) -> str | None:
    """`gt` and `lt`: a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number, such as 10 or 2.5"
    return _text_problem(value)


def _date_problem(value: Any) -> str | None:
    if isinstance(value, str) and _date(value) is not None:
        return None
    return "must be a date written as year-month-day, such as 2024-05-01"


def _date(value: str) -> date | None:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
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
    parts = [condition_sql(c) if is_group(c) else _condition(c) for c in rules["conditions"]]
    return and_(true(), *parts) if rules.get("match", "all") == "all" else or_(false(), *parts)


NAME_COLUMNS = {"first_name": Contact.first_name, "last_name": Contact.last_name}


def _condition(condition: dict[str, Any]) -> ColumnElement[bool]:
    field: str = condition["field"]
    op: str = condition["op"]
    value: Any = condition.get("value")
    if field == "list":
        members = select(ListMember.contact_id).where(ListMember.list_id.in_(list(value)))
        return Contact.id.in_(members) if op == "in" else Contact.id.not_in(members)
    if field == "created_at":
        day = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        if op == "before":
            return Contact.created_at < day
        return Contact.created_at >= day + timedelta(days=1)
    if field in NAME_COLUMNS:
        return _text_condition(NAME_COLUMNS[field].expression, op, value)
    if field.startswith("attributes."):
        text = cast(Contact.attributes[field.split(".", 1)[1]].as_string(), String)
        number: ColumnElement[float] = number_in_text(text)
        if op in ("gt", "lt"):
            compared: ColumnElement[bool] = number > value if op == "gt" else number < value
            return compared
        return _text_condition(text, op, value)
    if field == "country":
        upper = [str(v).upper() for v in value] if op.endswith("in") else str(value).upper()
        return _compare(Contact.country.expression, op, upper)
    return _compare(Contact.status.expression, op, value)


def _text_condition(text: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "exists":
        return text.is_not(None)
    if op == "not_exists":
        return text.is_(None)
    if op == "contains":
        return text.contains(str(value), autoescape=True)  # % and _ as themselves
    return _compare(text, op, [str(v) for v in value] if op.endswith("in") else str(value))


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        return column.is_not_distinct_from(value)
    if op == "ne":
        return or_(column != value, column.is_(None))
    return column.in_(value) if op == "in" else not_(column.in_(value))


SHOWN_DEPTH = 2 * MAX_DEPTH + 2
"""Valid rules nest this deep (a group and its conditions for each level, then a condition
and its values); deeper stored ones are not echoed, since rendering them can exhaust the
stack."""


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
            f"the segment {segment.name!r} is the audience of "
            f"{'the draft campaign' if len(users) == 1 else 'the draft campaigns'} {named}{more}; "
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


SAMPLE = 5
"""Contacts a preview shows."""


@dataclass(frozen=True, slots=True)
class Preview:
    """What rules not saved yet would match now."""

    contacts: int
    subscribed: int
    sample: list[Contact]
    """The first few matching contacts, by id."""


def preview(session: Session, rules: Any, sample: int = SAMPLE) -> Preview:
    """Sizes and a sample for rules being edited; `InvalidInput` naming each problem."""
    if problems := check_rules(session, rules):
        raise InvalidInput(problems)
    where = condition_sql(rules)
    shown = session.scalars(select(Contact).where(where).order_by(Contact.id).limit(sample))
    return Preview(*_sizes(session, where), sample=list(shown))


def members(
    session: Session, segment_id: int, *, after_id: int = 0, limit: int = 100
) -> list[Contact]:
    """The segment's contacts now, by id, after `after_id` (`BrokenSegment` when its rules
    no longer pass)."""
    where = condition_sql(usable_rules(session, get_segment(session, segment_id)))
    query = select(Contact).where(where, Contact.id > after_id).order_by(Contact.id).limit(limit)
    return list(session.scalars(query))


NEWEST_CONTACTS = 5_000
"""Contacts whose attribute names `attribute_keys` reads: the newest, so that it stays quick."""
MAX_KEYS = 200


def attribute_keys(session: Session) -> list[str]:
    """The attribute names the newest contacts have, that rules can name, sorted."""
    if session.get_bind().dialect.name == "postgresql":
        query = text(
            "SELECT DISTINCT json_object_keys(attributes) FROM (SELECT attributes FROM contacts"
            " WHERE json_typeof(attributes) = 'object' ORDER BY id DESC LIMIT :newest) AS c"
        )
    else:
        query = text(
            "SELECT DISTINCT j.key FROM (SELECT attributes FROM contacts"
            " WHERE json_type(attributes) = 'object' ORDER BY id DESC LIMIT :newest) AS c,"
            " json_each(c.attributes) AS j"
        )
    found = session.scalars(query, {"newest": NEWEST_CONTACTS})
    return sorted(key for key in found if isinstance(key, str) and ATTRIBUTE_KEY.fullmatch(key))[
        :MAX_KEYS
    ]
