"""STOP, START and HELP: matched on the whole message, ignoring case, spaces and punctuation.

The lists' own keywords (VIP) and the confirmation replies (Y) are matched the same way, by
`signups.keywords` and `replies`; `Keyword` names what a message turned out to be."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from textcast.domain.content.words import normalise as normalise


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"
    """A CONFIRM_KEYWORDS reply (Y) that confirmed the number's pending sign-up."""
    SIGNUP = "signup"
    """A list's keyword (VIP) that started a sign-up."""
    ALREADY_MEMBER = "already_member"
    """A list's keyword from a subscribed member of that list (`InboundMessage.keyword`
    holds 16 characters: "already_subscribed" would not fit)."""


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
