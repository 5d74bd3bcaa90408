"""Logging set-up: text or JSON lines, and phone numbers masked whatever a line holds.

The code never logs a body, a secret or a full number; the mask is the safety net under it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeAlias

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# uvicorn configures these itself and stops them propagating, so our handler never sees them.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# `+` (or its URL encoding) and 8-15 digits, a space, dash, dot or parenthesis between them.
_PLUS_NUMBER = re.compile(r"(\+|%2[Bb])([0-9](?:[ ().-]{0,2}[0-9]){7,14})(?![0-9])")
# Sinch writes numbers without the `+`: a bare run in a path, a query string or a quoted value.
_BARE_NUMBER = re.compile(r"(?<=[/=\"'])([0-9]{10,15})(?![\w])")
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]


def mask_phone(phone: str) -> str:
    """`+14155552671` -> `+1415*****71`: the calling code and area, the last two digits."""
    plus = "+" if phone.lstrip().startswith("+") else ""
    return plus + _masked_digits(re.sub(r"[^0-9]", "", phone))


def mask_phones(text: str) -> str:
    text = _PLUS_NUMBER.sub(lambda m: m[1] + _masked_digits(re.sub(r"[^0-9]", "", m[2])), text)
    return _BARE_NUMBER.sub(lambda m: _masked_digits(m[1]), text)


def _masked_digits(digits: str) -> str:
    shown_head = max(0, min(4, len(digits) - 7))
    shown_tail = 2 if len(digits) > 4 else 0
    hidden = len(digits) - shown_head - shown_tail
    return digits[:shown_head] + "*" * hidden + digits[len(digits) - shown_tail :]


def _masked_if_text(value: object) -> object:
    return mask_phones(value) if isinstance(value, str) else value


class MaskPhoneNumbers(logging.Filter):
    """Rewrites the final message, string extras, traceback and stack of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments are masked in place first: some formatters (uvicorn's access log) read them.
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_if_text(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _masked_if_text(arg) for key, arg in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it as usual
            return True
        masked = mask_phones(message)
        if masked != message:  # a number only the whole line shows (or in a non-text argument)
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, key, mask_phones(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones(record.stack_info)
        return True


class JsonLines(JsonFormatter):
    """One JSON object per record: time (UTC), level, logger, message and any `extra` fields."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        # JsonFormatter formats `exc_info` afresh rather than reading the masked `exc_text`.
        return mask_phones(logging.Formatter.formatException(self, ei))


def log_formatter(log_format: str) -> logging.Formatter:
    return JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    handler.addFilter(MaskPhoneNumbers())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPhoneNumbers) for f in logger.filters):
            logger.addFilter(MaskPhoneNumbers())
    # httpx logs full URLs at INFO; ours already say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # httpcore's DEBUG lines echo whole response headers, cookies included.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    # Migrations on start-up: alembic lists every plugin it loads at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)
