"""Bodies with their encoding and part count, worked out by hand from Sinch's rules
(docs/sinch.md, "Encoding and message parts"): GSM-7 160 septets in one part or 153 per part, its
extension characters `| ^ € { } [ ] ~ \\` costing two; anything else forces UCS-2 for the whole
body, 70 UTF-16 units in one part or 67 per part, emoji costing two. parts = 1 when length <=
single, else ceil(length / per_part).

Both textcast's counter (tests/domain/test_encoding.py) and the simulator's dry run
(tests/simulator/test_simulator_encoding.py) are checked against this one table.

Left out on purpose: form feed (an extension character in 3GPP 23.038 that textcast counts as
GSM-7, but not in Sinch's list, so the simulator sends it as UCS-2), and bodies whose count would
change if an SMSC moved an escape pair or surrogate pair that straddles a part boundary into the
next part (e.g. 153 `[`: 2 parts by the formula, 3 without splitting pairs; unconfirmed for Sinch).
"""

# ruff: noqa: RUF001 - look-alike characters (curly quotes, dashes) are what these bodies test

from __future__ import annotations

from dataclasses import dataclass

GSM = "GSM-7"
UCS = "UCS-2"


@dataclass(frozen=True)
class Case:
    label: str
    body: str
    encoding: str
    length: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""
    parts: int


EMOJI = "\U0001f600"  # GRINNING FACE, outside the BMP: a surrogate pair in UTF-16

CASES = [
    Case("empty", "", GSM, 0, 1),
    # GSM-7 single and part boundaries.
    Case("gsm-160", "a" * 160, GSM, 160, 1),
    Case("gsm-161", "a" * 161, GSM, 161, 2),
    Case("gsm-306", "a" * 306, GSM, 306, 2),
    Case("gsm-307", "a" * 307, GSM, 307, 3),
    Case("gsm-459", "a" * 459, GSM, 459, 3),
    Case("gsm-460", "a" * 460, GSM, 460, 4),
    # Extension characters count two.
    Case("158+euro", "a" * 158 + "€", GSM, 160, 1),
    Case("159+euro", "a" * 159 + "€", GSM, 161, 2),
    Case("159+caret", "a" * 159 + "^", GSM, 161, 2),
    Case("80-euros", "€" * 80, GSM, 160, 1),
    Case("81-euros", "€" * 81, GSM, 162, 2),
    Case("every-extension", "|^€{}[]~\\", GSM, 18, 1),
    # ... and at the 153 boundary: the escape pair ends part one exactly, or spills one over.
    Case("151+euro+153", "a" * 151 + "€" + "a" * 153, GSM, 306, 2),
    Case("152+euro+153", "a" * 152 + "€" + "a" * 153, GSM, 307, 3),
    Case("304+brace", "a" * 304 + "{", GSM, 306, 2),
    Case("305+brace", "a" * 305 + "}", GSM, 307, 3),
    Case("76-brackets+154", "[" * 76 + "a" * 154, GSM, 306, 2),
    Case("154-brackets", "]" * 154, GSM, 308, 3),
    # Accents GSM-7 has, one septet each.
    Case("gsm-accents", "é è ù ì ò à Ç ä ö ñ ü", GSM, 21, 1),
    Case("160-e-acute", "é" * 160, GSM, 160, 1),
    Case("161-e-acute", "é" * 161, GSM, 161, 2),
    Case("inverted-exclamation", "¡SALUD!", GSM, 7, 1),
    Case("gsm-symbols", "@£$¥¤§¿_", GSM, 8, 1),
    Case("greek-capitals", "ΔΦΓΛΩΠΨΣΘΞ", GSM, 10, 1),
    Case("newlines", "line one\nline two\r\nend", GSM, 22, 1),
    Case("161-newlines", "\n" * 161, GSM, 161, 2),
    # Accents GSM-7 lacks: the whole body becomes UCS-2.
    Case("chavez", "Chávez", UCS, 6, 1),
    Case("a-acute", "Olá", UCS, 3, 1),
    Case("i-acute", "Aquí", UCS, 4, 1),
    Case("o-acute", "Adiós", UCS, 5, 1),
    Case("u-acute", "Perú", UCS, 4, 1),
    Case("c-cedilla", "ça va", UCS, 5, 1),
    Case("e-circumflex", "fête", UCS, 4, 1),
    Case("capital-e-grave", "È vero", UCS, 6, 1),
    Case("backtick", "Don`t", UCS, 5, 1),
    Case("curly-quotes", "“Hi”", UCS, 4, 1),
    Case("tab", "a\tb", UCS, 3, 1),
    # UCS-2 single and part boundaries.
    Case("ucs-70", "á" * 70, UCS, 70, 1),
    Case("ucs-71", "á" * 71, UCS, 71, 2),
    Case("ucs-134", "á" * 134, UCS, 134, 2),
    Case("ucs-135", "á" * 135, UCS, 135, 3),
    Case("ucs-201", "á" * 201, UCS, 201, 3),
    Case("ucs-202", "ç" * 202, UCS, 202, 4),
    # One non-GSM character turns 160 septets into 160 UCS-2 units: three parts.
    Case("159+apostrophe", "a" * 159 + "’", UCS, 160, 3),
    # In UCS-2 the euro sign is one unit like any other.
    Case("35-euros+a-acute", "€" * 35 + "á", UCS, 36, 1),
    Case("70-euros+a-acute", "€" * 70 + "á", UCS, 71, 2),
    # Emoji are surrogate pairs: two units each.
    Case("68+emoji", "a" * 68 + EMOJI, UCS, 70, 1),
    Case("69+emoji", "a" * 69 + EMOJI, UCS, 71, 2),
    Case("35-emoji", EMOJI * 35, UCS, 70, 1),
    Case("36-emoji", EMOJI * 36, UCS, 72, 2),
]
