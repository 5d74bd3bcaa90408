"""Segment rules read out as a sentence, for people: "Subscribed contacts in France or Canada,
whose first name is set, and (on the list “VIP” or whose plan is “gold”)".

The dashboard, the API (a segment's `description`) and the CLI all show this one sentence.
It reads rules that passed `segments.check_rules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.audience.segments import is_group
from textcast.domain.phones.countries import country_name
from textcast.models import ContactList

STATUS_WORDS = {
    "subscribed": ("who are subscribed", "who are not subscribed"),
    "unsubscribed": ("who have unsubscribed", "who have not unsubscribed"),
    "invalid": ("whose number is invalid", "whose number is not invalid"),
}
LEADING = {"subscribed": "Subscribed contacts", "unsubscribed": "Unsubscribed contacts"}
"""A top-level `status eq` reads best in front: "Subscribed contacts in France"."""
FIELD_NAMES = {"first_name": "first name", "last_name": "last name"}
WITH_THE = ("Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives", "Comoros")


def describe(session: Session, rules: dict[str, Any]) -> str:
    """The rules as one sentence (they must have passed the check)."""
    return Words(_list_names(session, rules)).sentence(rules)


def _list_names(session: Session, rules: dict[str, Any]) -> dict[int, str]:
    ids = {i for c in _conditions(rules) if c.get("field") == "list" for i in c["value"]}
    if not ids:
        return {}
    query = select(ContactList.id, ContactList.name).where(ContactList.id.in_(ids))
    return {ident: name for ident, name in session.execute(query)}


def _conditions(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for condition in group["conditions"]:
        if is_group(condition):
            yield from _conditions(condition)
        else:
            yield condition


class Words:
    def __init__(self, list_names: dict[int, str]) -> None:
        self.list_names = list_names

    def sentence(self, rules: dict[str, Any]) -> str:
        conditions = list(rules["conditions"])
        subject = "Contacts"
        if rules.get("match", "all") == "all":
            leading = next(
                (
                    c
                    for c in conditions
                    if not is_group(c)
                    and c["field"] == "status"
                    and c["op"] == "eq"
                    and c["value"] in LEADING
                ),
                None,
            )
            if leading is not None:
                subject = LEADING[leading["value"]]
                conditions.remove(leading)
        if not conditions:
            return subject
        if len(conditions) == 1 and is_group(conditions[0]):  # no brackets around it all
            return f"{subject} {self.group(conditions[0])}"
        return f"{subject} {self.group({**rules, 'conditions': conditions})}"

    def group(self, group: dict[str, Any]) -> str:
        parts = [
            f"({self.group(c)})"
            if is_group(c) and len(c["conditions"]) > 1
            else self.group(c)
            if is_group(c)
            else self.condition(c)
            for c in group["conditions"]
        ]
        return joined(parts, "and" if group.get("match", "all") == "all" else "or")

    def condition(self, condition: dict[str, Any]) -> str:
        field: str = condition["field"]
        op: str = condition["op"]
        value: Any = condition.get("value")
        if field == "status":
            return STATUS_WORDS[value][op == "ne"]
        if field == "country":
            codes = value if isinstance(value, list) else [value]
            names = joined([_country(c) for c in codes], "or")
            return f"in {names}" if op in ("eq", "in") else f"not in {names}"
        if field == "list":
            names = joined([self._list(i) for i in value], "or")
            lists = "list" if len(value) == 1 else "lists"
            return f"on the {lists} {names}" if op == "in" else f"not on the {lists} {names}"
        if field == "created_at":
            day = date.fromisoformat(value)
            return f"added {op} {day.day} {day:%B %Y}"
        label = FIELD_NAMES.get(field) or field.split(".", 1)[1].replace("_", " ")
        return f"whose {label} {_compared(op, value)}"

    def _list(self, list_id: int) -> str:
        name = self.list_names.get(list_id)
        return f"“{name}”" if name is not None else f"{list_id} (deleted)"


def _compared(op: str, value: Any) -> str:
    if op == "exists":
        return "is set"
    if op == "not_exists":
        return "is not set"
    if op == "contains":
        return f"contains {_value(value)}"
    if op == "gt":
        return f"is more than {_value(value)}"
    if op == "lt":
        return f"is less than {_value(value)}"
    if op in ("in", "not_in"):
        values = [_value(v) for v in value]
        if op == "in":
            return f"is {joined(values, 'or')}"
        if len(values) == 1:
            return f"is not {values[0]}"
        return f"is neither {', '.join(values[:-1])} nor {values[-1]}"
    return f"is {_value(value)}" if op == "eq" else f"is not {_value(value)}"


def _value(value: Any) -> str:
    return (
        f"“{value}”"
        if isinstance(value, str)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def _country(code: str) -> str:
    name = country_name(code)
    if name.startswith("United ") or name.endswith("Islands") or name in WITH_THE:
        return f"the {name}"
    return name


def joined(parts: list[str], word: str) -> str:
    """ "A", "A and B", "A, B, and C"."""
    if len(parts) < 3:
        return f" {word} ".join(parts)
    return f"{', '.join(parts[:-1])}, {word} {parts[-1]}"
