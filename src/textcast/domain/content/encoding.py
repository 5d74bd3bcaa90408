"""GSM-7 versus UCS-2, SMS part counting as Sinch counts it, and the GSM-7 replacements that save
parts (curly quotes, dashes, odd spaces, accents GSM-7 lacks)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these is sent as ESC + character, so it costs two septets. Form feed is in 3GPP's table
# but not in Sinch's list (the simulator, following Sinch, sends it as UCS-2).
GSM7_EXTENSION = frozenset("|^€{}[]~\\\f")
GSM7_CHARS = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# The GSM-7 text suggested for a character that would force UCS-2. Only characters listed here
# are ever replaced; emoji and other scripts have no GSM-7 form and are left alone.
REPLACEMENTS: dict[str, str] = {
    # Left and right single quotation marks, single low-9 and high-reversed-9 quotation marks,
    # prime, backtick, acute accent, single angle quotation marks.
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4\u2039\u203a", "'"),
    # Left and right double quotation marks, double low-9 and high-reversed-9 quotation marks,
    # double prime, double angle quotation marks (guillemets).
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    # Hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus sign.
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    # Bullet, triangular bullet, hyphen bullet, white bullet, bullet operator.
    **dict.fromkeys("\u2022\u2023\u2043\u25e6\u2219", "-"),
    "\u2026": "...",  # horizontal ellipsis
    # Tab, no-break space, the en quad to hair space range, narrow no-break, medium mathematical
    # and ideographic spaces.
    **dict.fromkeys("\t\u00a0\u202f\u205f\u3000", " "),
    **{chr(code): " " for code in range(0x2000, 0x200B)},
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    # Invisible: zero-width space, word joiner, byte order mark, soft hyphen; and the joiners and
    # combining accents, which are only dropped when attached to text that becomes GSM-7
    # (see ATTACHED).
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad\u200c\u200d", ""),
    **{chr(code): "" for code in range(0x0300, 0x0370)},
    "\u2122": "TM",
    "\u00a9": "(C)",
    "\u00ae": "(R)",
}

# Letters GSM-7 lacks, by the GSM-7 letter they become. Case is kept even where GSM-7 has the
# same accent in the other case only: 'ç' becomes 'c', not 'Ç' (phones show GSM's 0x09 as a
# capital, so "garÇon"), and 'È' becomes 'E', not 'è'. Where GSM-7 has a close accent in the
# same case, that is used: Hungarian ő ű become ö ü, pinyin ǖ ǘ ǚ ǜ become ü.
LETTERS: dict[str, str] = {
    "A": "ÀÁÂÃĀĂĄ",
    "a": "áâãāăą",
    "C": "ĆĈĊČ",
    "c": "çćĉċč",
    "D": "ĎĐÐ",
    "d": "ďđð",
    "E": "ÈÊËĒĔĖĘĚ",
    "e": "êëēĕėęě",
    "G": "ĜĞĠĢ",
    "g": "ĝğġģ",
    "H": "ĤĦ",
    "h": "ĥħ",
    "I": "ÌÍÎÏĨĪĬĮİ",
    "i": "íîïĩīĭį\u0131",  # the last is the Turkish dotless i
    "J": "Ĵ",
    "j": "ĵ",
    "K": "Ķ",
    "k": "ķ",
    "L": "ĹĻĽĿŁ",
    "l": "ĺļľŀł",
    "N": "ŃŅŇ",
    "n": "ńņň",
    "O": "ÒÓÔÕŌŎ",
    "o": "óôõōŏ",
    "Ö": "Ő",
    "ö": "ő",
    "R": "ŔŖŘ",
    "r": "ŕŗř",
    "S": "ŚŜŞŠȘ",
    "s": "śŝşšș",
    "T": "ŢŤŦȚ",
    "t": "ţťŧț",
    "U": "ÙÚÛŨŪŬŮŲ",
    "u": "úûũūŭůų",
    "Ü": "ŰǕǗǙǛ",
    "ü": "űǖǘǚǜ",
    "W": "Ŵ",
    "w": "ŵ",
    "Y": "ÝŸŶ",
    "y": "ýÿŷ",
    "Z": "ŹŻŽ",
    "z": "źżž",
    "OE": "Œ",
    "oe": "œ",
    "Th": "Þ",
    "th": "þ",
    "SS": "ẞ",
    "IJ": "Ĳ",
    "ij": "ĳ",
}
REPLACEMENTS.update({letter: gsm for gsm, letters in LETTERS.items() for letter in letters})

# Joiners and combining accents belong to the character before them. Next to an emoji or a letter
# of another script (which stays UCS-2) they are kept: dropping a zero-width joiner would split
# 👩‍💻 in two, dropping a combining breve would turn a decomposed Cyrillic й into и.
ATTACHED = frozenset("\u200c\u200d") | {chr(code) for code in range(0x0300, 0x0370)}


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: Encoding
    length: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    parts: int
    remaining: int
    """Characters (septets or code units) left before the next part starts."""


@dataclass(frozen=True, slots=True)
class Offender:
    """A character that forces the whole message into UCS-2."""

    position: int
    """Index in the Python string (code points, not UTF-16 units)."""
    character: str
    name: str
    replacement: str | None
    """GSM-7 text to use instead, or None when there is none (emoji, other scripts)."""


@dataclass(frozen=True, slots=True)
class EncodingReport:
    encoding: Encoding
    length: int
    parts: int
    remaining: int
    offenders: tuple[Offender, ...]
    text_after_replacements: str
    gsm7_after_replacements: bool
    parts_after_replacements: int
    advice: PartsAdvice | None = None
    """What to remove to make it GSM-7, when a few characters without a GSM-7 form are all
    that keep it UCS-2."""


@dataclass(frozen=True, slots=True)
class PartsAdvice:
    """Removing `remove` (characters with no GSM-7 form: emoji, mostly), and replacing those
    that have one, makes the text GSM-7."""

    remove: tuple[str, ...]
    """Each character (an emoji with its modifiers and joiners is one), in order of appearance."""
    names: tuple[str, ...]
    replaced: bool
    """Other characters are replaced too (curly quotes, dashes...)."""
    text: str
    parts: int
    """Parts of `text`, in GSM-7."""


def is_gsm7(text: str) -> bool:
    return GSM7_CHARS.issuperset(text)


@lru_cache(maxsize=8192)
def segment(text: str) -> SegmentInfo:
    if is_gsm7(text):
        length = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return _count(Encoding.GSM7, length, GSM7_SINGLE, GSM7_PART)
    # Characters beyond the BMP (most emoji) take a surrogate pair: two UTF-16 units.
    units = len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    return _count(Encoding.UCS2, units, UCS2_SINGLE, UCS2_PART)


def analyze(text: str) -> EncodingReport:
    info = segment(text)
    offenders = tuple(
        Offender(index, char, _name(char), _replacement(text, index))
        for index, char in enumerate(text)
        if char not in GSM7_CHARS
    )
    replaced = smart_encode(text)
    after = segment(replaced)
    advice = None if info.encoding is Encoding.GSM7 else parts_advice(text)
    return EncodingReport(
        encoding=info.encoding,
        length=info.length,
        parts=info.parts,
        remaining=info.remaining,
        offenders=offenders,
        text_after_replacements=replaced,
        gsm7_after_replacements=after.encoding is Encoding.GSM7,
        parts_after_replacements=after.parts,
        advice=advice,
    )


ADVICE_MAX_CHARACTERS = 3
"""More distinct characters than this to remove is a rewrite, not advice."""
# What belongs to the character before it: joiners and combining accents, variation selectors
# (❤️ is ❤ and U+FE0F), skin tones and the tags of flags like 🏴󠁧󠁢󠁳󠁣󠁴󠁿.
_CLINGING = (
    ATTACHED
    | {chr(code) for code in range(0xFE00, 0xFE10)}
    | {chr(code) for code in range(0x1F3FB, 0x1F400)}
    | {chr(code) for code in range(0xE0020, 0xE0080)}
)


def parts_advice(text: str) -> PartsAdvice | None:
    """The few characters without a GSM-7 form whose removal (with the other replacements)
    makes `text` GSM-7; None when it is GSM-7 already or more would have to go."""
    replaced = smart_encode(text)
    clusters = _clusters(replaced)
    if not clusters:
        return None
    distinct = tuple(dict.fromkeys(replaced[start:end] for start, end in clusters))
    if len(distinct) > ADVICE_MAX_CHARACTERS:
        return None
    kept = []
    at = 0
    for start, end in clusters:
        piece = replaced[at:start]
        # "Hi 🌸 there" becomes "Hi there", not "Hi  there".
        if piece.endswith(" ") and (end == len(replaced) or replaced[end] in " \n.,!?"):
            piece = piece[:-1]
        kept.append(piece)
        at = end
    kept.append(replaced[at:])
    after = "".join(kept)
    if not is_gsm7(after):
        return None
    return PartsAdvice(
        remove=distinct,
        names=tuple(_name(cluster[0]) for cluster in distinct),
        replaced=replaced != text,
        text=after,
        parts=segment(after).parts,
    )


def _clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run that is not GSM-7: a character with what clings to it, and
    what a zero-width joiner joins to it (👩‍💻)."""
    found: list[tuple[int, int]] = []
    index = 0
    while index < len(text):
        if text[index] in GSM7_CHARS:
            index += 1
            continue
        start = index
        index += 1
        while index < len(text) and (text[index] in _CLINGING or text[index - 1] == "\u200d"):
            index += 1
        found.append((start, index))
    return found


@lru_cache(maxsize=8192)
def smart_encode(text: str) -> str:
    """`text` with every REPLACEMENTS suggestion applied; characters without one are kept."""
    if is_gsm7(text):
        return text
    out = []
    for index, char in enumerate(text):
        replacement = None if char in GSM7_CHARS else _replacement(text, index)
        out.append(char if replacement is None else replacement)
    return "".join(out)


def _replacement(text: str, index: int) -> str | None:
    if text[index] in ATTACHED and _base_stays_ucs2(text, index):
        return None
    return REPLACEMENTS.get(text[index])


def _base_stays_ucs2(text: str, index: int) -> bool:
    base = index - 1
    while base >= 0 and text[base] in ATTACHED:
        base -= 1
    return base >= 0 and text[base] not in GSM7_CHARS and text[base] not in REPLACEMENTS


def _name(char: str) -> str:
    # Control characters and surrogates have no Unicode name.
    return unicodedata.name(char, f"U+{ord(char):04X}")


def _count(encoding: Encoding, length: int, single: int, per_part: int) -> SegmentInfo:
    if length <= single:
        return SegmentInfo(encoding, length, 1, single - length)
    parts = -(-length // per_part)
    return SegmentInfo(encoding, length, parts, parts * per_part - length)
