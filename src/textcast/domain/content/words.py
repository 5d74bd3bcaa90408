"""Words people text us, as we match them: the whole message, ignoring case, spaces and
punctuation. STOP, START and HELP (`inbox.keywords`) and the lists' own keywords
(`signups.keywords`) are matched alike."""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """`" Stop. "` → `STOP`, `opt-out!` → `OPTOUT`: letters and digits only, upper case."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch.isalnum())
