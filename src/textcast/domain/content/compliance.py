"""What a marketing text lacks that recipients (and carriers) expect: a way to opt out and the
name of who is texting. A hint for its author, never a refusal: the editor, the encoding API
and the plan all say it the same way, from `missing`.

Keyword replies and test messages are not marketing and follow rules of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

OPT_OUT_SUFFIX = " Reply STOP to opt out"
"""What the editor's one-click button appends to a text without opt-out wording."""

_OPT_OUT_PHRASES = re.compile(r"\b(opt[\s-]?out|unsubscribe)\b", re.IGNORECASE)
_ASKING = r"\b(?:reply|text|txt|send|sms)\s+[\"'\u201c\u2018]?"


class Lack(StrEnum):
    OPT_OUT = "no_opt_out"
    BRAND = "no_brand"


@dataclass(frozen=True, slots=True)
class Rules:
    """What counts: the brand name (None: not checked) and the opt-out keywords."""

    brand: str | None
    opt_out_keywords: tuple[str, ...] = ("STOP",)

    @classmethod
    def of(cls, brand: str | None, opt_out_keywords: Iterable[str]) -> Rules:
        words = tuple(w.strip() for w in opt_out_keywords if w.strip())
        return cls((brand or "").strip() or None, words or ("STOP",))


@dataclass(frozen=True, slots=True)
class Hint:
    lack: Lack
    message: str


def missing(body: str, rules: Rules) -> tuple[Hint, ...]:
    """What a marketing `body` lacks, in words for its author; empty when nothing."""
    if not body.strip():
        return ()
    hints = []
    if not has_opt_out(body, rules.opt_out_keywords):
        hints.append(
            Hint(
                Lack.OPT_OUT,
                "No opt-out wording: tell recipients how to stop these texts, for example "
                f'"{OPT_OUT_SUFFIX.strip()}".',
            )
        )
    if rules.brand is not None and not has_brand(body, rules.brand):
        hints.append(
            Hint(
                Lack.BRAND,
                f'The brand name "{rules.brand}" does not appear: recipients should know who '
                "is texting them.",
            )
        )
    return tuple(hints)


def has_opt_out(body: str, keywords: Iterable[str]) -> bool:
    """ "opt out", "unsubscribe", a keyword after "reply"/"text" ("Reply stop"), or a keyword
    written in capitals ("STOP to end"): a capitalised STOP is an instruction, "don't stop
    shopping" is not."""
    if _OPT_OUT_PHRASES.search(body):
        return True
    asking, capitals = _keyword_patterns(tuple(keywords))
    return bool(asking.search(body) or capitals.search(body))


def has_brand(body: str, brand: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(brand)}(?!\w)", body, re.IGNORECASE) is not None


@lru_cache(maxsize=16)
def _keyword_patterns(keywords: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    words = "|".join(re.escape(w) for w in sorted(keywords, key=len, reverse=True))
    asking = re.compile(rf"{_ASKING}(?:{words})(?!\w)", re.IGNORECASE)
    capitals = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(w.upper()) for w in keywords)})(?!\w)")
    return asking, capitals
