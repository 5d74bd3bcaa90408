"""Validation of send, replace and update bodies, with Sinch's error codes and wording."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from textcast.simulator.errors import (
    ApiError,
    bad_parameter_value,
    constraint_violation,
    invalid_format,
    invalid_json,
)
from textcast.simulator.ids import format_timestamp, parse_timestamp
from textcast.simulator.parameters import Template

MAX_RECIPIENTS = 1000
MAX_BODY = 2000
MAX_REFERENCE = 2048
MAX_URL = 2048
MAX_LIFETIME = 3 * 24 * 3600.0
REPORT_MODES = ("none", "summary", "full", "per_recipient", "per_recipient_final")
MESSAGE_TYPES = ("mt_text", "mt_binary")

MSISDN = re.compile(r"\+?[1-9][0-9]{6,14}")
MSISDN_LINES = re.compile(r"(?:\+?[1-9][0-9]{6,14}\n)*\+?[1-9][0-9]{6,14}")
GROUP_ID = re.compile(r"[0-9A-Z]{26}")
HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")

JSONObject = dict[str, Any]


@dataclass(slots=True)
class BatchSpec:
    """A validated send request. `echo` holds the request fields as the batch shows them."""

    recipients: list[str]
    body: str
    type: str
    delivery_report: str
    send_at: float | None
    expire_at: float
    received_at: float
    echo: JSONObject = field(default_factory=dict)
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    _template: Template | None = field(default=None, repr=False, compare=False)

    @property
    def callback_url(self) -> str | None:
        return self.echo.get("callback_url")

    @property
    def client_reference(self) -> str | None:
        return self.echo.get("client_reference")

    @property
    def max_parts(self) -> int | None:
        return self.echo.get("max_number_of_message_parts")

    @property
    def truncate_concat(self) -> bool:
        return bool(self.echo.get("truncate_concat"))

    def template(self) -> Template:
        if self._template is None:
            self._template = Template(self.body, self.parameters)
        return self._template


def parse_send_request(
    data: object,
    *,
    now: float,
    default_callback_url: str | None,
    allowed_callback_urls: frozenset[str] | None = None,
    check_callback: bool = True,
) -> BatchSpec:
    if not isinstance(data, dict):
        raise invalid_json("The request body must be a JSON object.")
    message_type = data.get("type", "mt_text")
    if message_type not in MESSAGE_TYPES:
        raise bad_parameter_value("type", message_type, "message type")
    recipients = _recipients(data)
    body = _body(data, message_type)
    echo: JSONObject = {"to": recipients}
    sender = _optional_str(data, "from", 128)
    if sender is not None:
        echo["from"] = sender.removeprefix("+") if MSISDN.fullmatch(sender) else sender
    echo["body"] = body
    echo["type"] = message_type
    mode = data.get("delivery_report", "none")
    if mode not in REPORT_MODES:
        raise bad_parameter_value("delivery_report", mode, "delivery report type")
    echo["delivery_report"] = mode
    send_at, expire_at = _schedule(data, now)
    if send_at is not None:
        echo["send_at"] = format_timestamp(send_at)
    echo["expire_at"] = format_timestamp(expire_at)
    _copy_options(data, echo, message_type)
    url = echo.get("callback_url")
    if url is not None and allowed_callback_urls is not None and url not in allowed_callback_urls:
        raise invalid_format(
            f"The parameter 'callback_url' is invalid; value '{url}' is not one of the callback "
            "URLs configured for this service plan."
        )
    parameters = _parameters(data, message_type)
    if parameters:
        echo["parameters"] = data["parameters"]
    if check_callback and mode != "none" and not (echo.get("callback_url") or default_callback_url):
        raise ApiError(
            403, "missing_callback_url", "Requesting delivery report without any callback URL."
        )
    return BatchSpec(
        recipients, body, message_type, mode, send_at, expire_at, now, echo, parameters
    )


UPDATABLE = (
    "from",
    "body",
    "type",
    "delivery_report",
    "send_at",
    "expire_at",
    "callback_url",
    "client_reference",
    "feedback_enabled",
    "parameters",
    "flash_message",
    "truncate_concat",
    "max_number_of_message_parts",
    "from_ton",
    "from_npi",
    "udh",
)
FIXED_ONCE_SENT = (
    "to",
    "body",
    "type",
    "parameters",
    "send_at",
    "udh",
    "truncate_concat",
    "max_number_of_message_parts",
)


def merge_update(current: JSONObject, data: object) -> JSONObject:
    """The send body a partial update (POST /batches/{id}) turns the batch into."""
    if not isinstance(data, dict):
        raise invalid_json("The request body must be a JSON object.")
    merged = {k: v for k, v in current.items() if k != "to"}
    recipients = list(current["to"])
    if data.get("to_add") is not None:
        recipients += normalize_recipients(data["to_add"], "to_add", low=1, high=100)
    if data.get("to_remove") is not None:
        removed = set(normalize_recipients(data["to_remove"], "to_remove", low=1, high=100))
        recipients = [r for r in recipients if r not in removed]
    merged["to"] = recipients
    if "send_at" in data and "expire_at" not in data:
        merged.pop("expire_at", None)  # recomputed from the new send time
    for name, value in data.items():
        if name not in UPDATABLE:
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def normalize_recipients(values: object, name: str, *, low: int, high: int) -> list[str]:
    if not isinstance(values, list):
        raise invalid_json(f"Parameter '{name}' must be a list of phone numbers or group IDs.")
    if not low <= len(values) <= high:
        raise constraint_violation(
            f"Parameter '{name}' must contain between {low} and {high} elements, got {len(values)}."
        )
    try:
        lines = "\n".join(values)
    except TypeError:
        lines = ""
    # One regex pass over all numbers; the count guards against a number containing a newline.
    if MSISDN_LINES.fullmatch(lines) and lines.count("\n") == len(values) - 1:
        return lines.replace("+", "").split("\n")
    for index, value in enumerate(values):
        if isinstance(value, str) and MSISDN.fullmatch(value):
            continue
        if isinstance(value, str) and GROUP_ID.fullmatch(value):
            raise ApiError(403, "unknown_group", f"Group '{value}' is unknown.")
        raise bad_parameter_value(f"{name}[{index}]", value, "MSISDN or group ID")
    raise AssertionError("unreachable: some recipient failed the joined check")


def _recipients(data: Mapping[str, Any]) -> list[str]:
    if "to" not in data:
        raise constraint_violation("Missing required parameter 'to'.")
    return normalize_recipients(data["to"], "to", low=1, high=MAX_RECIPIENTS)


def _body(data: Mapping[str, Any], message_type: str) -> str:
    body = data.get("body")
    if body is None:
        raise constraint_violation("Missing required parameter 'body'.")
    if not isinstance(body, str):
        raise invalid_json("Parameter 'body' must be a string.")
    if message_type == "mt_text":
        if len(body) > MAX_BODY:
            raise constraint_violation(f"Parameter 'body' must be at most {MAX_BODY} characters.")
        return body
    udh = data.get("udh")
    if udh is None:
        raise constraint_violation("Missing required parameter 'udh'.")
    if not isinstance(udh, str) or not HEX.fullmatch(udh):
        raise bad_parameter_value("udh", udh, "hex string")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise bad_parameter_value("body", "...", "Base64 string") from None
    if len(raw) + len(udh) // 2 > 140:
        raise constraint_violation("Binary body and UDH together must be at most 140 bytes.")
    return body


def _schedule(data: Mapping[str, Any], now: float) -> tuple[float | None, float]:
    send_at = _optional_time(data, "send_at")
    expire_at = _optional_time(data, "expire_at")
    start = now if send_at is None else max(send_at, now)
    if expire_at is None:
        return send_at, (now if send_at is None else send_at) + MAX_LIFETIME
    base = now if send_at is None else send_at
    if expire_at <= start:
        raise constraint_violation("Parameter 'expire_at' must be after 'send_at'.")
    if expire_at > base + MAX_LIFETIME + 0.001:
        raise constraint_violation("Parameter 'expire_at' must be at most 3 days after 'send_at'.")
    return send_at, expire_at


def _copy_options(data: Mapping[str, Any], echo: JSONObject, message_type: str) -> None:
    url = _optional_str(data, "callback_url", MAX_URL)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise bad_parameter_value("callback_url", url, "URL")
        echo["callback_url"] = url
    reference = _optional_str(data, "client_reference", MAX_REFERENCE)
    if reference is not None:
        echo["client_reference"] = reference
    for name in ("feedback_enabled", "flash_message", "truncate_concat"):
        value = data.get(name, False if name != "truncate_concat" else None)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise bad_parameter_value(name, value, "boolean")
        echo[name] = value
    for name, low, high in (
        ("max_number_of_message_parts", 1, None),
        ("from_ton", 0, 6),
        ("from_npi", 0, 18),
    ):
        if data.get(name) is not None:
            echo[name] = _bounded_int(data[name], name, low, high)
    if message_type == "mt_binary":
        echo["udh"] = data["udh"]


def _parameters(data: Mapping[str, Any], message_type: str) -> dict[str, dict[str, str]]:
    raw = data.get("parameters")
    if raw is None:
        return {}
    if message_type != "mt_text":
        raise constraint_violation("Parameter 'parameters' is only allowed for mt_text.")
    if not isinstance(raw, dict):
        raise invalid_json("Parameter 'parameters' must be an object.")
    result: dict[str, dict[str, str]] = {}
    for key, values in raw.items():
        if not isinstance(values, dict):
            raise invalid_json(f"Parameter 'parameters.{key}' must be an object.")
        for number, value in values.items():
            if not isinstance(value, str):
                raise bad_parameter_value(f"parameters.{key}.{number}", value, "string")
        result[key] = values
    return result


def _optional_str(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_parameter_value(name, value, "string")
    if len(value) > limit:
        raise constraint_violation(f"Parameter '{name}' must be at most {limit} characters.")
    return value


def _optional_time(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        return parse_timestamp(value)
    except ValueError:
        raise bad_parameter_value(name, value, "ISO-8601 date-time") from None


def _bounded_int(value: object, name: str, low: int, high: int | None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_parameter_value(name, value, "integer")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise constraint_violation(f"Parameter '{name}' must be at least {low}{upper}.")
    return value
