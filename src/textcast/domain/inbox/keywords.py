"""STOP, START and HELP: matched on the whole message, ignoring case, spaces and punctuation."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def normalise(text: str) -> str:
    """`" Stop. "` → `STOP`, `opt-out!` → `OPTOUT`: letters and digits only, upper case."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass(frozen=True, slots=True)
class KeywordRules:
    words: dict[str, Keyword]

    @classmethod
    def of(
        cls, opt_out: Iterable[str], opt_in: Iterable[str], help_: Iterable[str]
    ) -> KeywordRules:
        words: dict[str, Keyword] = {}
        for kind, listed in (
            (Keyword.OPT_OUT, opt_out),
            (Keyword.OPT_IN, opt_in),
            (Keyword.HELP, help_),
        ):
            for word in listed:
                if key := normalise(word):
                    # Opt-out is listed first and wins a clash: when in doubt, stop texting.
                    words.setdefault(key, kind)
        return cls(words)

    @classmethod
    def from_csv(cls, opt_out: str, opt_in: str, help_: str) -> KeywordRules:
        return cls.of(opt_out.split(","), opt_in.split(","), help_.split(","))

    def classify(self, body: str) -> Keyword | None:
        return self.words.get(normalise(body))
