"""What a flow is made of: its trigger, its rules and its steps, read from JSON and checked.

A definition is the JSON a version stores (and the API, the CLI and the builder exchange):

    {"trigger": {"type": "event", "event": "cart_abandoned"},
     "reentry": "cooldown", "cooldown": "7d", "goal": "order_placed",
     "steps": [{"id": "s1", "type": "wait", "for": "1h"},
               {"id": "s2", "type": "send", "body": "Still thinking? {{ event.cart_url }}"},
               {"id": "s3", "type": "branch", "if": {"kind": "clicked", "within": "1d"},
                "yes": [{"id": "s4", "type": "exit"}], "no": [...]}]}

Steps are a list; a branch holds two more lists (its columns), which join again after it. There
is no way back to an earlier step, so every run ends: the checks only have to refuse what
could wait forever (an event wait without a timeout) or never be reached (after an exit).
Each step has an id, unique in the flow and kept across versions: runs find their place in a
newer version by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, Literal

from textcast.domain.content import templates
from textcast.domain.errors import FieldProblem, InvalidInput

TRIGGER_TYPES = ("subscribed", "keyword", "event", "date", "segment")
REENTRY = ("once", "always", "cooldown")
STEP_TYPES = ("send", "wait", "branch", "update", "exit")
CONDITION_KINDS = ("attribute", "segment", "list", "replied", "clicked", "event", "arrived")
OPERATORS = (
    "equals",
    "not_equals",
    "contains",
    "is_set",
    "is_not_set",
    "greater_than",
    "less_than",
)
VALUELESS = ("is_set", "is_not_set")
MAX_STEPS = 100
MAX_NESTING = 20
"""Branches inside branches: deeper is refused before it is read (reading recurses)."""
MAX_BODY_CHARS = 1_600
MAX_WAIT = timedelta(days=400)
EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_DURATION = re.compile(r"\s*(\d{1,5})\s*(w|d|h|m|s)\s*", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """`"90m"`, `"2h"`, `"1d 12h"`, `"1w"`, or a number of seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a duration such as 30m, 2h, 3d or 1w")
    position, total = 0, 0
    for match in _DURATION.finditer(value):
        if match.start() != position:
            break
        total += int(match[1]) * _UNIT_SECONDS[match[2].lower()]
        position = match.end()
    if position != len(value):
        raise ValueError(f"{value!r} is not a duration such as 30m, 2h, 3d or 1w")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The shortest of `parse_duration`'s spellings: 90 minutes is "1h 30m"."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0m"
    words = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            words.append(f"{count}{unit}")
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Trigger:
    type: Literal["subscribed", "keyword", "event", "date", "segment"]
    list_id: int | None = None
    """`subscribed`: only sign-ups to this list (None: any subscription)."""
    keyword: str | None = None
    event: str | None = None
    attribute: str | None = None
    """`date`: the contact attribute holding the date (YYYY-MM-DD, or MM-DD)."""
    at: time | None = None
    """`date`: the recipient's local time of day the run starts."""
    segment_id: int | None = None

    @property
    def key(self) -> str | None:
        """What `Flow.trigger_key` stores: the one value a trigger is looked up by."""
        if self.type == "subscribed":
            return None if self.list_id is None else str(self.list_id)
        if self.type == "keyword":
            return self.keyword
        if self.type == "event":
            return self.event
        if self.type == "date":
            return self.attribute
        return str(self.segment_id)


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str
    name: str | None = None
    """The attribute, or the event property."""
    op: str = "equals"
    value: str | None = None
    segment_id: int | None = None
    list_id: int | None = None
    within: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    type: Literal["send", "wait", "branch", "update", "exit"]
    body: str | None = None
    wait_for: timedelta | None = None
    until_time: time | None = None
    until_date: str | None = None
    """A wait until the date in this attribute (at `until_time`, 09:00 when not given)."""
    until_event: str | None = None
    timeout: timedelta | None = None
    condition: Condition | None = None
    yes: tuple[Step, ...] = ()
    no: tuple[Step, ...] = ()
    set_attributes: Mapping[str, str | None] = field(default_factory=dict)
    add_to_list: int | None = None
    remove_from_list: int | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    trigger: Trigger
    steps: tuple[Step, ...]
    reentry: Literal["once", "always", "cooldown"] = "once"
    cooldown: timedelta | None = None
    goal: str | None = None
    """An event that ends the contact's run where it is (a purchase ends the reminders)."""
    create_contacts: bool = False
    """An event for a phone with no contact creates one (subscribed: the event's sender
    vouches for the number) instead of being stored as unknown."""

    def walk(self) -> Iterator[Step]:
        """Every step, depth first, in the order the builder shows them."""
        yield from _walk(self.steps)

    @property
    def first(self) -> str | None:
        return self.steps[0].id if self.steps else None


def _walk(steps: Sequence[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        if step.type == "branch":
            yield from _walk(step.yes)
            yield from _walk(step.no)


@dataclass(frozen=True, slots=True)
class Program:
    """A definition ready to run: each step by id, and where a run goes after it."""

    definition: Definition
    steps: Mapping[str, Step]
    after: Mapping[str, str | None]
    """The step that follows, once a step is done (a branch: once its column is done)."""

    @classmethod
    def of(cls, definition: Definition) -> Program:
        steps: dict[str, Step] = {}
        after: dict[str, str | None] = {}

        def place(column: Sequence[Step], then: str | None) -> None:
            for index, step in enumerate(column):
                following = column[index + 1].id if index + 1 < len(column) else then
                steps[step.id] = step
                after[step.id] = following
                if step.type == "branch":
                    place(step.yes, following)
                    place(step.no, following)

        place(definition.steps, None)
        return cls(definition, steps, after)

    def next_of(self, step: Step, answer: bool | None = None) -> str | None:
        """Where a run goes from `step`: a branch's answer picks its column."""
        if step.type == "branch":
            column = step.yes if answer else step.no
            return column[0].id if column else self.after[step.id]
        return self.after[step.id]

    def path_to(self, step_id: str) -> list[str]:
        """The steps above and before `step_id` (for the builder's "where would it land")."""
        return [s.id for s in self.definition.walk()][: self.order(step_id)]

    def order(self, step_id: str) -> int:
        for index, step in enumerate(self.definition.walk()):
            if step.id == step_id:
                return index
        raise KeyError(step_id)


# -- reading and checking ------------------------------------------------------------------


class _Reader:
    """Collects every problem with its place (`steps[2].yes[0].body`), then raises once."""

    def __init__(self, known_attributes: set[str] | None) -> None:
        self.problems: list[FieldProblem] = []
        self.known = known_attributes
        self.ids: set[str] = set()
        self.given: set[str] = set()
        """The ids the input names: a step without one gets another."""
        self.count = 0
        self.depth = 0
        """Branches the step being read is inside of."""

    def new_id(self) -> str:
        number = self.count
        while f"s{number}" in self.ids or f"s{number}" in self.given:
            number += 1
        return f"s{number}"

    def problem(self, where: str, message: str) -> None:
        self.problems.append(FieldProblem(where, message))

    def duration(self, where: str, value: object, *, positive: bool = True) -> timedelta | None:
        try:
            delta = parse_duration(value)
        except ValueError as exc:
            self.problem(where, str(exc))
            return None
        if positive and delta <= timedelta(0):
            self.problem(where, "must be longer than zero")
        elif delta > MAX_WAIT:
            self.problem(where, f"at most {MAX_WAIT.days} days")
        return delta

    def clock_time(self, where: str, value: object) -> time | None:
        if isinstance(value, str) and re.fullmatch(r"\d\d:\d\d", value):
            try:
                return time.fromisoformat(value)
            except ValueError:
                pass
        self.problem(where, "must be a time of day as HH:MM, e.g. 10:00")
        return None

    def identifier(self, where: str, value: object, what: str) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        self.problem(where, f"must be the id of a {what}")
        return None

    def event_name(self, where: str, value: object) -> str | None:
        if isinstance(value, str) and EVENT_NAME.fullmatch(value.strip()):
            return value.strip()
        self.problem(where, "must be an event name: letters, digits, _ . : - (e.g. order_placed)")
        return None

    def attribute(self, where: str, value: object) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.problem(where, "must name a contact attribute")
            return None
        name = value.strip()
        if self.known is not None and name not in self.known:
            known = ", ".join(sorted(self.known)) or "none yet"
            self.problem(where, f"no contact has an attribute {name!r} (known: {known})")
        return name


def read_definition(data: object, known_attributes: set[str] | None = None) -> Definition:
    """The definition in `data`, or `InvalidInput` naming every problem and where it is.

    `known_attributes`: the contact attributes in use (`drafts.known_fields`); a branch or a
    wait on any other is refused. None skips that check (reading a stored version).
    """
    reader = _Reader(known_attributes)
    if not isinstance(data, Mapping):
        raise InvalidInput([FieldProblem("definition", "must be an object")])
    reader.given = set(_given_ids(data.get("steps")))
    trigger = _trigger(reader, data.get("trigger"))
    reentry = data.get("reentry", "once")
    if reentry not in REENTRY:
        reader.problem("reentry", f"must be one of {', '.join(REENTRY)}")
        reentry = "once"
    cooldown = None
    if reentry == "cooldown":
        cooldown = reader.duration("cooldown", data.get("cooldown"))
    goal = data.get("goal")
    goal_event = None if goal in (None, "") else reader.event_name("goal", goal)
    create = data.get("create_contacts", False)
    if not isinstance(create, bool):
        reader.problem("create_contacts", "must be true or false")
        create = False
    steps = _steps(reader, data.get("steps"), "steps", has_event=trigger is not None)
    if not steps and not any(p.field.startswith("steps") for p in reader.problems):
        reader.problem("steps", "a flow needs at least one step")
    if reader.count > MAX_STEPS:
        reader.problem("steps", f"at most {MAX_STEPS} steps ({reader.count} given)")
    if reader.problems or trigger is None:
        raise InvalidInput(reader.problems)
    if trigger.type == "event" and goal_event == trigger.event:
        raise InvalidInput(
            [FieldProblem("goal", "the goal cannot be the event that starts the flow")]
        )
    return Definition(
        trigger=trigger,
        steps=tuple(steps),
        reentry=reentry,
        cooldown=cooldown,
        goal=goal_event,
        create_contacts=create,
    )


def _given_ids(steps: object) -> Iterator[str]:
    # A stack of its own, not recursion: a body nested hundreds of levels deep is refused
    # by the nesting check, not a RecursionError.
    pending = [steps]
    while pending:
        columns = pending.pop()
        if not isinstance(columns, list):
            continue
        for step in columns:
            if isinstance(step, Mapping):
                if isinstance(step.get("id"), str):
                    yield step["id"]
                pending += [step.get("yes"), step.get("no")]


def _trigger(reader: _Reader, data: object) -> Trigger | None:
    if not isinstance(data, Mapping):
        reader.problem("trigger", "must be an object with a type: " + ", ".join(TRIGGER_TYPES))
        return None
    kind = data.get("type")
    if kind == "subscribed":
        list_id = data.get("list_id")
        if list_id is None:
            return Trigger("subscribed")
        found = reader.identifier("trigger.list_id", list_id, "list")
        return Trigger("subscribed", list_id=found)
    if kind == "keyword":
        word = data.get("keyword")
        if not isinstance(word, str) or not word.strip() or len(word.strip()) > 40:
            reader.problem("trigger.keyword", "must be the keyword people text, e.g. VIP")
            return None
        return Trigger("keyword", keyword=word.strip())
    if kind == "event":
        name = reader.event_name("trigger.event", data.get("event"))
        return None if name is None else Trigger("event", event=name)
    if kind == "date":
        attribute = reader.attribute("trigger.attribute", data.get("attribute"))
        at = reader.clock_time("trigger.time", data.get("time", "10:00"))
        if attribute is None or at is None:
            return None
        return Trigger("date", attribute=attribute, at=at)
    if kind == "segment":
        segment_id = reader.identifier("trigger.segment_id", data.get("segment_id"), "segment")
        return None if segment_id is None else Trigger("segment", segment_id=segment_id)
    reader.problem("trigger.type", f"must be one of {', '.join(TRIGGER_TYPES)}")
    return None


def _steps(reader: _Reader, data: object, where: str, *, has_event: bool) -> list[Step]:
    if data is None:
        return []
    if not isinstance(data, list):
        reader.problem(where, "must be a list of steps")
        return []
    steps: list[Step] = []
    exited_at: str | None = None
    for index, item in enumerate(data):
        place = f"{where}[{index}]"
        if exited_at is not None:
            reader.problem(place, f"can never be reached: it comes after the exit step {exited_at}")
            continue
        step = _step(reader, item, place, has_event=has_event)
        if step is not None:
            steps.append(step)
            if step.type == "exit":
                exited_at = step.id
    return steps


def _step(reader: _Reader, data: object, where: str, *, has_event: bool) -> Step | None:
    reader.count += 1
    if not isinstance(data, Mapping):
        reader.problem(where, "must be an object with a type: " + ", ".join(STEP_TYPES))
        return None
    step_id = data.get("id") or reader.new_id()
    if not isinstance(step_id, str) or not STEP_ID.fullmatch(step_id):
        reader.problem(f"{where}.id", "must be 1 to 40 letters, digits, _ or -")
        return None
    if step_id in reader.ids:
        reader.problem(f"{where}.id", f"{step_id!r} is used by another step")
        return None
    reader.ids.add(step_id)
    kind = data.get("type")
    if kind == "send":
        return _send(reader, data, where, step_id)
    if kind == "wait":
        return _wait(reader, data, where, step_id)
    if kind == "branch":
        if reader.depth >= MAX_NESTING:
            reader.problem(where, f"branches may be nested at most {MAX_NESTING} deep")
            return None
        condition = _condition(reader, data.get("if"), f"{where}.if")
        reader.depth += 1
        yes = _steps(reader, data.get("yes"), f"{where}.yes", has_event=has_event)
        no = _steps(reader, data.get("no"), f"{where}.no", has_event=has_event)
        reader.depth -= 1
        if condition is None:
            return None
        return Step(step_id, "branch", condition=condition, yes=tuple(yes), no=tuple(no))
    if kind == "update":
        return _update(reader, data, where, step_id)
    if kind == "exit":
        return Step(step_id, "exit")
    reader.problem(f"{where}.type", f"must be one of {', '.join(STEP_TYPES)}")
    return None


def _send(reader: _Reader, data: Mapping[str, Any], where: str, step_id: str) -> Step | None:
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        reader.problem(f"{where}.body", "the text to send must not be empty")
        return None
    if len(body) > MAX_BODY_CHARS:
        reader.problem(f"{where}.body", f"at most {MAX_BODY_CHARS} characters (Sinch's limit)")
        return None
    try:
        template = templates.parse(body, f"{where}.body")
    except templates.TemplateError as exc:
        reader.problems.extend(exc.problems)
        return None
    if reader.known is not None:
        for name in (f.name for f in template.fields if f.default is None):
            if name.startswith(templates.EVENT_FIELD_PREFIX) or name in reader.known:
                continue
            known = ", ".join(sorted(reader.known))
            reader.problem(
                f"{where}.body",
                f"unknown merge field {name!r} (known: {known}, or event.NAME for a property "
                "of the event that started the run); give it a default to send without it",
            )
    return Step(step_id, "send", body=body)


def _wait(reader: _Reader, data: Mapping[str, Any], where: str, step_id: str) -> Step | None:
    given = [key for key in ("for", "until_time", "until_date", "until_event") if key in data]
    if len(given) != 1:
        reader.problem(
            where,
            "a wait needs exactly one of: for (a duration), until_time (HH:MM local), "
            "until_date (a date attribute) or until_event (an event name, with a timeout)",
        )
        return None
    kind = given[0]
    if kind == "for":
        delta = reader.duration(f"{where}.for", data["for"])
        return None if delta is None else Step(step_id, "wait", wait_for=delta)
    if kind == "until_time":
        at = reader.clock_time(f"{where}.until_time", data["until_time"])
        return None if at is None else Step(step_id, "wait", until_time=at)
    if kind == "until_date":
        attribute = reader.attribute(f"{where}.until_date", data["until_date"])
        at = reader.clock_time(f"{where}.time", data.get("time", "09:00"))
        if attribute is None or at is None:
            return None
        return Step(step_id, "wait", until_date=attribute, until_time=at)
    event = reader.event_name(f"{where}.until_event", data["until_event"])
    if "timeout" not in data:
        reader.problem(
            f"{where}.timeout",
            "a wait for an event needs a timeout, or a run whose event never comes would "
            "wait forever",
        )
        return None
    timeout = reader.duration(f"{where}.timeout", data["timeout"])
    if event is None or timeout is None:
        return None
    return Step(step_id, "wait", until_event=event, timeout=timeout)


def _condition(reader: _Reader, data: object, where: str) -> Condition | None:
    if not isinstance(data, Mapping):
        reader.problem(where, "a branch needs a condition: " + ", ".join(CONDITION_KINDS))
        return None
    kind = data.get("kind")
    if kind in ("attribute", "event"):
        if kind == "attribute":
            name = reader.attribute(f"{where}.name", data.get("name"))
        else:
            raw = data.get("name")
            name = raw.strip() if isinstance(raw, str) and raw.strip() else None
            if name is None:
                reader.problem(f"{where}.name", "must name a property of the event")
        op = data.get("op", "equals")
        if op not in OPERATORS:
            reader.problem(f"{where}.op", f"must be one of {', '.join(OPERATORS)}")
            return None
        value = data.get("value")
        if op not in VALUELESS and (value is None or isinstance(value, dict | list)):
            reader.problem(f"{where}.value", f"{op.replace('_', ' ')} needs a value to compare")
            return None
        if op in ("greater_than", "less_than") and not _is_number(value):
            reader.problem(f"{where}.value", f"{op.replace('_', ' ')} compares numbers")
            return None
        if name is None:
            return None
        text = None if op in VALUELESS else str(value)
        return Condition(kind, name=name, op=op, value=text)
    if kind == "segment":
        segment_id = reader.identifier(f"{where}.segment_id", data.get("segment_id"), "segment")
        return None if segment_id is None else Condition("segment", segment_id=segment_id)
    if kind == "list":
        list_id = reader.identifier(f"{where}.list_id", data.get("list_id"), "list")
        return None if list_id is None else Condition("list", list_id=list_id)
    if kind in ("replied", "clicked"):
        within = reader.duration(f"{where}.within", data.get("within", "1d"))
        return None if within is None else Condition(kind, within=within)
    if kind == "arrived":
        return Condition("arrived")
    reader.problem(f"{where}.kind", f"must be one of {', '.join(CONDITION_KINDS)}")
    return None


def _update(reader: _Reader, data: Mapping[str, Any], where: str, step_id: str) -> Step | None:
    values = data.get("set") or {}
    if not isinstance(values, Mapping):
        reader.problem(f"{where}.set", "must map attribute names to values")
        return None
    chosen: dict[str, str | None] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            reader.problem(f"{where}.set", "attribute names are 1 to 64 characters")
        elif value is not None and not isinstance(value, str | int | float | bool):
            reader.problem(f"{where}.set.{name}", "must be a text, a number, true/false or null")
        else:
            chosen[name.strip()] = None if value is None else str(value)
    add = data.get("add_to_list")
    remove = data.get("remove_from_list")
    add_id = None if add is None else reader.identifier(f"{where}.add_to_list", add, "list")
    remove_id = (
        None if remove is None else reader.identifier(f"{where}.remove_from_list", remove, "list")
    )
    if not chosen and add is None and remove is None:
        reader.problem(where, "an update sets an attribute or adds to or removes from a list")
        return None
    return Step(
        step_id, "update", set_attributes=chosen, add_to_list=add_id, remove_from_list=remove_id
    )


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


# -- writing -------------------------------------------------------------------------------


def to_json(definition: Definition) -> dict[str, Any]:
    """The stored form: what `read_definition` reads back to the same definition."""
    trigger: dict[str, Any] = {"type": definition.trigger.type}
    t = definition.trigger
    if t.type == "subscribed" and t.list_id is not None:
        trigger["list_id"] = t.list_id
    elif t.type == "keyword":
        trigger["keyword"] = t.keyword
    elif t.type == "event":
        trigger["event"] = t.event
    elif t.type == "date":
        trigger["attribute"] = t.attribute
        trigger["time"] = t.at.strftime("%H:%M") if t.at else None
    elif t.type == "segment":
        trigger["segment_id"] = t.segment_id
    data: dict[str, Any] = {"trigger": trigger, "reentry": definition.reentry}
    if definition.cooldown is not None:
        data["cooldown"] = format_duration(definition.cooldown)
    data["goal"] = definition.goal
    data["create_contacts"] = definition.create_contacts
    data["steps"] = [_step_json(step) for step in definition.steps]
    return data


def _step_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"id": step.id, "type": step.type}
    if step.type == "send":
        data["body"] = step.body
    elif step.type == "wait":
        if step.wait_for is not None:
            data["for"] = format_duration(step.wait_for)
        elif step.until_date is not None:
            data["until_date"] = step.until_date
            data["time"] = step.until_time.strftime("%H:%M") if step.until_time else None
        elif step.until_time is not None:
            data["until_time"] = step.until_time.strftime("%H:%M")
        else:
            data["until_event"] = step.until_event
            data["timeout"] = format_duration(step.timeout or timedelta(0))
    elif step.type == "branch":
        data["if"] = _condition_json(step.condition)
        data["yes"] = [_step_json(s) for s in step.yes]
        data["no"] = [_step_json(s) for s in step.no]
    elif step.type == "update":
        if step.set_attributes:
            data["set"] = dict(step.set_attributes)
        if step.add_to_list is not None:
            data["add_to_list"] = step.add_to_list
        if step.remove_from_list is not None:
            data["remove_from_list"] = step.remove_from_list
    return data


def _condition_json(condition: Condition | None) -> dict[str, Any]:
    if condition is None:
        return {}
    data: dict[str, Any] = {"kind": condition.kind}
    if condition.kind in ("attribute", "event"):
        data.update(name=condition.name, op=condition.op)
        if condition.value is not None:
            data["value"] = condition.value
    elif condition.kind == "segment":
        data["segment_id"] = condition.segment_id
    elif condition.kind == "list":
        data["list_id"] = condition.list_id
    elif condition.kind in ("replied", "clicked") and condition.within is not None:
        data["within"] = format_duration(condition.within)
    return data
