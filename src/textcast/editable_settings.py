"""The settings an admin may change while textcast runs, and how they overlay the environment.

Only settings an operator changes often, and that are safe to change on a running system, are
here: the sender, quiet hours, prices, the frequency cap, the keyword replies and the sending
limits. Never a secret, the database, the host or port, or how callbacks are authenticated.

The environment (and `.env`) gives each one's initial value; a value stored in the database
(`domain/settings/stored.py`) replaces it on every node until it is reset. Stored values are
checked by the same rules as the environment's (`config.Settings`), and problems are said in
words naming the setting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from textcast.config import Settings
from textcast.domain.content.words import normalise
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.settings.stored import StoredSetting
from textcast.wording import validation_in_words

log = logging.getLogger("textcast")


class Group(StrEnum):
    SENDING = "sending"
    QUIET_HOURS = "quiet_hours"
    PRICES = "prices"
    KEYWORD_REPLIES = "keyword_replies"
    LIMITS = "limits"


GROUP_TITLES = {
    Group.SENDING: "Sending",
    Group.QUIET_HOURS: "Quiet hours",
    Group.PRICES: "Prices",
    Group.KEYWORD_REPLIES: "Keyword replies",
    Group.LIMITS: "Limits",
}

Kind = Literal["text", "long_text", "number", "whole_number", "json"]
Source = Literal["default", "environment", "dashboard"]


@dataclass(frozen=True, slots=True)
class Editable:
    name: str
    """The environment variable, e.g. `SEND_RATE`: the setting's name everywhere."""
    group: Group
    label: str
    help: str
    kind: Kind

    @property
    def field(self) -> str:
        """The attribute of `Settings`."""
        return self.name.lower()


EDITABLE: tuple[Editable, ...] = (
    Editable(
        "SINCH_NUMBER",
        Group.SENDING,
        "Sender",
        "The default `from` of new campaigns and of keyword replies: a number in E.164 "
        "(+12015550100), a short code or an alphanumeric sender, 1 to 16 characters.",
        "text",
    ),
    Editable(
        "SEND_RATE",
        Group.SENDING,
        "Send rate",
        "Message parts per second (recipients x parts); 0: no limit.",
        "number",
    ),
    Editable(
        "FREQUENCY_CAP",
        Group.SENDING,
        "Frequency cap",
        "At most this many marketing messages per number per window; 0: no cap.",
        "whole_number",
    ),
    Editable(
        "FREQUENCY_WINDOW_HOURS",
        Group.SENDING,
        "Frequency window (hours)",
        "The window the frequency cap counts over.",
        "number",
    ),
    Editable(
        "QUIET_HOURS",
        Group.QUIET_HOURS,
        "Send window",
        "When marketing messages may go out, in each recipient's local time, e.g. "
        "08:00-21:00 (00:00-24:00: always). Legal limits still narrow it.",
        "text",
    ),
    Editable(
        "QUIET_HOURS_RULES",
        Group.QUIET_HOURS,
        "Windows per country or US state",
        'JSON, e.g. {"FR": "08:00-20:00", "US-FL": "09:00-20:00"}; {} for none.',
        "json",
    ),
    Editable(
        "PRICES",
        Group.PRICES,
        "Price per part, by country",
        'JSON, e.g. {"US": 0.0079, "FR": 0.065}, over the built-in estimates; {} for none.',
        "json",
    ),
    Editable(
        "PRICE_DEFAULT",
        Group.PRICES,
        "Price per part elsewhere",
        "For countries the table does not list.",
        "number",
    ),
    Editable(
        "PRICE_CURRENCY",
        Group.PRICES,
        "Currency",
        "Three letters, e.g. USD or EUR.",
        "text",
    ),
    Editable(
        "BRAND_NAME",
        Group.KEYWORD_REPLIES,
        "Brand name",
        "Stands for {brand} in the replies, 1 to 40 characters.",
        "text",
    ),
    Editable(
        "HELP_CONTACT",
        Group.KEYWORD_REPLIES,
        "Help contact",
        "Stands for {contact} in the replies, up to 80 characters.",
        "text",
    ),
    Editable(
        "OPT_OUT_REPLY",
        Group.KEYWORD_REPLIES,
        "Reply to STOP",
        "May use {brand} and {contact}.",
        "long_text",
    ),
    Editable(
        "OPT_IN_REPLY",
        Group.KEYWORD_REPLIES,
        "Reply to START",
        "May use {brand} and {contact}.",
        "long_text",
    ),
    Editable(
        "HELP_REPLY",
        Group.KEYWORD_REPLIES,
        "Reply to HELP",
        "May use {brand} and {contact}.",
        "long_text",
    ),
    Editable(
        "OPT_OUT_KEYWORDS",
        Group.KEYWORD_REPLIES,
        "Opt-out keywords",
        "Comma-separated; a whole message matching one (ignoring case, spaces and "
        "punctuation) opts the number out.",
        "text",
    ),
    Editable(
        "OPT_IN_KEYWORDS",
        Group.KEYWORD_REPLIES,
        "Opt-in keywords",
        "Comma-separated.",
        "text",
    ),
    Editable(
        "HELP_KEYWORDS",
        Group.KEYWORD_REPLIES,
        "Help keywords",
        "Comma-separated.",
        "text",
    ),
    Editable(
        "CONFIRM_KEYWORDS",
        Group.KEYWORD_REPLIES,
        "Confirmation replies",
        "Comma-separated; a whole message matching one confirms the number's latest sign-up "
        "waiting for it (a list's keyword or a form). With none waiting, an opt-in keyword "
        "among them (YES) keeps meaning START. None may be an opt-out keyword.",
        "text",
    ),
    Editable(
        "CONFIRMATION_HOURS",
        Group.KEYWORD_REPLIES,
        "Confirmation window (hours)",
        "A sign-up not confirmed within this time expires.",
        "number",
    ),
    Editable(
        "REPLY_PERIOD_HOURS",
        Group.KEYWORD_REPLIES,
        "Reply period (hours)",
        "A number gets each kind of reply at most once per period.",
        "number",
    ),
    Editable(
        "KEYWORD_REPLIES_PER_HOUR",
        Group.KEYWORD_REPLIES,
        "Keyword replies per hour",
        "To all numbers together; 0: no cap. Beyond it, keywords are applied, not answered.",
        "whole_number",
    ),
    Editable(
        "MAX_RECIPIENTS_PER_CAMPAIGN",
        Group.LIMITS,
        "Recipients per campaign",
        "0: no limit.",
        "whole_number",
    ),
    Editable(
        "DAILY_RECIPIENT_QUOTA",
        Group.LIMITS,
        "Recipients per 24 hours",
        "All campaigns together, keyword replies included; 0: no limit.",
        "whole_number",
    ),
    Editable(
        "INVALID_AFTER_FAILURES",
        Group.LIMITS,
        "Invalid after failures (list hygiene)",
        "A contact whose texts fail permanently (an unknown or deactivated number) this many "
        "times in a row becomes invalid and is left out of campaigns; 0: never.",
        "whole_number",
    ),
)
BY_NAME = {item.name: item for item in EDITABLE}

MAX_SENDER_LENGTH = 16
"""A campaign's sender is 1 to 16 characters (`domain/campaigns/drafts.py`)."""


def editable(name: str) -> Editable:
    """The setting of this name (any case), or InvalidInput saying it cannot be changed here."""
    found = BY_NAME.get(name.strip().upper())
    if found is None:
        raise InvalidInput([FieldProblem(name, _not_editable(name))])
    return found


def _not_editable(name: str) -> str:
    return (
        "is not a setting that can be changed while textcast runs; those are "
        + ", ".join(BY_NAME)
        + " (set the others in the environment, and restart)"
    )


def value_of(settings: Settings, item: Editable) -> Any:
    """The setting's value in these settings, as JSON."""
    return settings.model_dump(mode="json", include={item.field})[item.field]


def environment_source(environment: Settings, item: Editable) -> Source:
    """Whether the environment (or `.env`) sets it, or it keeps textcast's default."""
    return "environment" if item.field in environment.model_fields_set else "default"


@dataclass(frozen=True, slots=True)
class SettingState:
    """One setting as the settings page, the API and `textcast settings show` present it."""

    item: Editable
    value: Any
    """In effect, as JSON."""
    source: Source
    changed_by: str | None = None
    """With `dashboard`: who stored it (`alice@example.com`, `cli`), and when."""
    changed_at: datetime | None = None
    environment_value: Any = None
    """What a reset gives back: the environment's value, or the default."""


def states(
    environment: Settings, settings: Settings, stored: Mapping[str, StoredSetting]
) -> list[SettingState]:
    """Every editable setting: its value in `settings` and where it comes from."""
    found = []
    for item in EDITABLE:
        own = stored.get(item.name)
        found.append(
            SettingState(
                item,
                value_of(settings, item),
                "dashboard" if own is not None else environment_source(environment, item),
                own.changed_by if own is not None else None,
                own.changed_at if own is not None else None,
                value_of(environment, item),
            )
        )
    return found


def read_text(item: Editable, text: str) -> Any:
    """A value typed as text (the command line, a form) as the API takes it: JSON settings
    are parsed, the others stay text for the settings' own rules to read."""
    if item.kind != "json":
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # refused with the setting's own words by `check_changes`


def check_changes(
    environment: Settings, stored: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The changes (name to value, None to go back to the environment's), checked together
    against the environment and the stored values, every problem named: the normalised JSON
    values to store, and None for the names to forget."""
    problems: list[FieldProblem] = []
    wanted: dict[str, Any] = {}
    for name, value in changes.items():
        item = BY_NAME.get(name.strip().upper())
        if item is None:
            problems.append(FieldProblem(name, _not_editable(name)))
            continue
        if isinstance(value, str) and item.kind == "json":
            value = read_text(item, value)
        if isinstance(value, str) and item.kind != "long_text":
            value = value.strip()
        problem = _own_rule(item, value)
        if problem:
            problems.append(FieldProblem(item.name, problem))
            continue
        wanted[item.name] = value
    layered = {**stored, **wanted}
    values = {name: value for name, value in layered.items() if value is not None}
    try:
        effective = _validated(environment, values)
    except ValidationError as exc:
        problems += [FieldProblem(_name_of(error), _said(error)) for error in exc.errors()]
    else:
        problems += _clashes(effective, wanted)
    if problems:
        raise InvalidInput(problems)
    return {
        name: None if value is None else value_of(effective, BY_NAME[name])
        for name, value in wanted.items()
    }


def _own_rule(item: Editable, value: Any) -> str | None:
    """The rules the environment does not have, for values changed here."""
    if value is None:
        return None
    if item.name == "SINCH_NUMBER" and not (
        isinstance(value, str) and 1 <= len(value) <= MAX_SENDER_LENGTH
    ):
        return f"must be 1 to {MAX_SENDER_LENGTH} characters (reset it to use the environment's)"
    if item.kind == "json" and not isinstance(value, dict):
        example = '{"FR": "08:00-20:00"}' if item.name == "QUIET_HOURS_RULES" else '{"FR": 0.065}'
        return f"must be a JSON object, such as {example} ({{}} for none)"
    if item.kind in ("number", "whole_number") and isinstance(value, bool | dict | list):
        return "must be a number"
    if item.kind in ("text", "long_text") and not isinstance(value, str):
        return "must be text"
    return None


def _clashes(settings: Settings, wanted: Mapping[str, Any]) -> list[FieldProblem]:
    """A confirmation reply that is also an opt-out word: a STOP must always mean STOP. Said
    of whichever of the two is being changed."""
    if not {"CONFIRM_KEYWORDS", "OPT_OUT_KEYWORDS"} & set(wanted):
        return []
    stops = {normalise(w) for w in settings.opt_out_keywords.split(",")}
    both = [w.strip() for w in settings.confirm_keywords.split(",") if normalise(w) in stops]
    if not both:
        return []
    name = "CONFIRM_KEYWORDS" if "CONFIRM_KEYWORDS" in wanted else "OPT_OUT_KEYWORDS"
    return [
        FieldProblem(
            name,
            f"{', '.join(both)} would be both a confirmation reply and an opt-out keyword: "
            "a message of an opt-out keyword must always unsubscribe",
        )
    ]


def overlay(environment: Settings, stored: Mapping[str, Any]) -> Settings:
    """The settings in effect: the environment's, with the stored values over them. A stored
    value the rules no longer accept (after an upgrade) is left out, with a warning."""
    values = {name: value for name, value in stored.items() if name in BY_NAME}
    while values:
        try:
            return _validated(environment, values)
        except ValidationError as exc:
            refused = {_name_of(error) for error in exc.errors()} & set(values)
            if not refused:
                raise
            for name in sorted(refused):
                log.warning("the stored setting %s is not valid any more; it is ignored", name)
                del values[name]
    return environment


def _validated(environment: Settings, values: Mapping[str, Any]) -> Settings:
    data = {field: getattr(environment, field) for field in Settings.model_fields}
    data.update({BY_NAME[name].field: value for name, value in values.items()})
    return Settings.model_validate(data)


def _name_of(error: ErrorDetails) -> str:
    return str(error["loc"][0]).upper() if error["loc"] else "settings"


def _said(error: ErrorDetails) -> str:
    """In words, with the key at fault in a JSON setting (`FR: must be a number`)."""
    key = f"{error['loc'][1]}: " if len(error["loc"]) > 1 else ""
    return key + in_words(error)


def in_words(error: ErrorDetails) -> str:
    """A validation error as a person would say it (pydantic's own phrasing reads oddly)."""
    return validation_in_words(error)
