import pytest

from textcast.domain.phones.numbers import InvalidPhone, mask_phone, normalise_phone, parse_numbers


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0612345678", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "US", "+33612345678"),
        ("0033612345678", "US", "+33612345678"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("  +1 201 555 0123 ", "FR", "+12015550123"),
    ],
)
def test_normalises_common_spellings_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("hello", "not a phone number"),
        ("12", "too short for a US number"),
        ("555-12", "too short for a US number"),
        ("2025550100999999", "too long for a US number"),
        ("+33 6 12", "too short for a FR number"),
        ("+999 1234 5678", "has an unknown country code"),
        ("+1 800 555 0100", "not a mobile number"),
    ],
)
def test_explains_why_a_number_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        normalise_phone(raw, "US")


def test_a_refusal_quotes_the_number_only_when_asked() -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalise_phone("555-12", "US")
    assert refused.value.quoting("555-12") == "'555-12' is too short for a US number"
    assert "555" not in str(refused.value)  # what may reach a log names no number


def test_parse_numbers_names_each_bad_entry_and_collapses_duplicates() -> None:
    parsed = parse_numbers(
        ["+12015550123", "nope", "(201) 555-0123", 42, "+12015550124"], "to", "US"
    )
    assert parsed.numbers == ["+12015550123", "+12015550124"]
    assert parsed.duplicates == 1
    assert [(p.field, p.message) for p in parsed.problems] == [
        ("to[1]", "Line 2: 'nope' is not a phone number"),
        ("to[3]", "Line 4: 42 is not text"),
    ]


def test_mask_keeps_country_and_last_two_digits() -> None:
    assert mask_phone("+14155550171") == "+1415*****71"
    assert "5550" not in mask_phone("+14155550171")
