# ruff: noqa: RUF001 - look-alike characters (curly quotes, dashes) are what these bodies test

import pytest
from tests.encoding_table import CASES, Case

from textcast.domain.content import encoding
from textcast.domain.content.encoding import (
    REPLACEMENTS,
    Encoding,
    analyze,
    is_gsm7,
    segment,
    smart_encode,
)


@pytest.mark.parametrize(
    ("body", "encoding", "parts"),
    [
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),  # extension characters count two
        ("€" * 81, Encoding.GSM7, 2),
        ("a" * 159 + "^", Encoding.GSM7, 2),
        ("á" * 70, Encoding.UCS2, 1),
        ("á" * 71, Encoding.UCS2, 2),
        ("á" * 134, Encoding.UCS2, 2),
        ("á" * 135, Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),  # each emoji is two UTF-16 units
        ("😀" * 36, Encoding.UCS2, 2),
        ("Ç ok", Encoding.GSM7, 1),
        ("ç no", Encoding.UCS2, 1),
    ],
)
def test_counts_parts_like_sinch(body: str, encoding: Encoding, parts: int) -> None:
    info = segment(body)
    assert (info.encoding, info.parts) == (encoding, parts)


def test_reports_room_left_in_the_last_part() -> None:
    assert segment("a" * 150).remaining == 10
    assert segment("a" * 161).remaining == 2 * 153 - 161


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_counts_the_shared_table(case: Case) -> None:
    info = segment(case.body)
    assert (info.encoding, info.length, info.parts) == (
        Encoding(case.encoding),
        case.length,
        case.parts,
    )
    report = analyze(case.body)
    assert (report.encoding, report.length, report.parts, report.remaining) == (
        info.encoding,
        info.length,
        info.parts,
        info.remaining,
    )
    assert (report.offenders == ()) == (case.encoding == "GSM-7")


def test_form_feed_counts_as_an_extension_character() -> None:
    info = segment("a" * 159 + "\f")
    assert (info.encoding, info.length, info.parts) == (Encoding.GSM7, 161, 2)


def test_names_each_offender_with_its_position_and_replacement() -> None:
    report = analyze("“Olá” 😀")
    assert [(o.position, o.character, o.name, o.replacement) for o in report.offenders] == [
        (0, "“", "LEFT DOUBLE QUOTATION MARK", '"'),
        (3, "á", "LATIN SMALL LETTER A WITH ACUTE", "a"),
        (4, "”", "RIGHT DOUBLE QUOTATION MARK", '"'),
        (6, "😀", "GRINNING FACE", None),
    ]
    assert (report.encoding, report.length, report.parts) == (Encoding.UCS2, 8, 1)
    assert report.text_after_replacements == '"Ola" 😀'
    assert not report.gsm7_after_replacements


def test_positions_are_string_indexes_even_after_emoji() -> None:
    report = analyze("😀😀 café—ok")
    assert [(o.position, o.character) for o in report.offenders] == [
        (0, "😀"),
        (1, "😀"),
        (7, "—"),
    ]


def test_replacing_two_quotes_turns_three_ucs2_parts_into_one_gsm7_part() -> None:
    report = analyze("“" + "a" * 148 + "”")
    assert (report.encoding, report.length, report.parts) == (Encoding.UCS2, 150, 3)
    assert report.remaining == 3 * 67 - 150
    assert len(report.offenders) == 2
    assert report.gsm7_after_replacements
    assert report.parts_after_replacements == 1


def test_a_gsm7_body_has_no_offenders_and_stays_as_it_is() -> None:
    report = analyze("Hi Ann, 20% off {today} at Café Ñu!")
    assert report.offenders == ()
    assert report.text_after_replacements == "Hi Ann, 20% off {today} at Café Ñu!"
    assert report.gsm7_after_replacements
    assert report.parts_after_replacements == report.parts == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("‘single’ ‚low‛ `tick´ ‹angle›", "'single' 'low' 'tick' 'angle'"),
        ("“double” „low‟ «guillemets»", '"double" "low" "guillemets"'),
        ("en – em — minus − bar ―", "en - em - minus - bar -"),
        ("wait…", "wait..."),
        (
            "no\u00a0break thin\u2009narrow\u202fideo\u3000tab\tend",
            "no break thin narrow ideo tab end",
        ),
        ("zero\u200bwidth\u2060joiner\ufeffsoft\u00adhyphen", "zerowidthjoinersofthyphen"),
        ("• one\n◦ two", "- one\n- two"),
        ("Olá! Aquí, adiós, Perú", "Ola! Aqui, adios, Peru"),
        ("Ação, fête, ça, naïve, Noël, São", "Acao, fete, ca, naive, Noel, Sao"),
        ("ÀÁÂÃ ÈÊË ÌÍÎÏ ÒÓÔÕ ÙÚÛ", "AAAA EEE IIII OOOO UUU"),
        ("âîôû ãõ", "aiou ao"),
        ("Łódź, Kraków, Brno, Škoda", "Lodz, Krakow, Brno, Skoda"),
        ("Győr, Műegyetem, lǜ", "Györ, Müegyetem, lü"),
        ("œuvre, Þing", "oeuvre, Thing"),
        ("Brand™ ©2025 ®", "BrandTM (C)2025 (R)"),
    ],
)
def test_smart_encode_applies_the_replacement_table(text: str, expected: str) -> None:
    assert smart_encode(text) == expected
    assert segment(expected).encoding is Encoding.GSM7


def test_smart_encode_keeps_what_has_no_replacement() -> None:
    assert smart_encode("Привет “Ann” 😀") == 'Привет "Ann" 😀'


def test_gsm7_accents_are_never_touched() -> None:
    text = "é è ù ì ò à Ç ä ö ñ ü É Ä Ö Ñ Ü Å å Ø ø Æ æ ß"
    assert analyze(text).offenders == ()
    assert smart_encode(text) == text


def test_case_is_kept_rather_than_borrowing_the_other_case_from_gsm7() -> None:
    assert smart_encode("garçon È") == "garcon E"


def test_joiners_and_accents_inside_emoji_or_other_scripts_are_kept() -> None:
    coder = "👩\u200d💻"
    flag = "🏳\ufe0f\u200d🌈"
    decomposed_short_i = "и\u0306"
    text = f"{coder} {flag} {decomposed_short_i} a\u200db e\u0301"
    assert smart_encode(text) == f"{coder} {flag} {decomposed_short_i} ab e"
    kept = [o.character for o in analyze(text).offenders if o.replacement is None]
    assert "\u200d" in kept and "\u0306" in kept


def test_characters_without_a_unicode_name_are_named_by_code_point() -> None:
    (offender,) = analyze("a\x07b").offenders
    assert (offender.name, offender.replacement) == ("U+0007", None)


def test_every_replacement_is_gsm7_and_replaces_only_non_gsm7_characters() -> None:
    for char, replacement in REPLACEMENTS.items():
        assert is_gsm7(replacement), char
        assert not is_gsm7(char), char


def test_an_emoji_alone_making_a_text_ucs2_is_named_with_the_parts_its_removal_saves() -> None:
    text = "Spring sale " + "x" * 130 + " \U0001f338 today"
    report = encoding.analyze(text)
    assert (report.encoding, report.parts) == (encoding.Encoding.UCS2, 3)
    advice = report.advice
    assert advice is not None
    assert advice.remove == ("\U0001f338",) and advice.names == ("CHERRY BLOSSOM",)
    assert advice.text == "Spring sale " + "x" * 130 + " today"  # one space, not two
    assert (advice.parts, advice.replaced) == (1, False)


def test_advice_keeps_an_emoji_with_its_modifiers_and_applies_the_replacements() -> None:
    advice = encoding.parts_advice("\u201cHi\u201d \u2764\ufe0f \U0001f469\u200d\U0001f4bb")
    assert advice is not None
    assert advice.remove == ("\u2764\ufe0f", "\U0001f469\u200d\U0001f4bb")
    assert advice.text == '"Hi"' and advice.replaced


def test_no_advice_for_gsm7_another_script_or_many_emoji() -> None:
    assert encoding.parts_advice("Hello") is None
    assert encoding.parts_advice("Привет \U0001f338") is None  # Cyrillic stays UCS-2
    assert encoding.parts_advice("\U0001f338 \U0001f389 \U0001f381 \U0001f380") is None
