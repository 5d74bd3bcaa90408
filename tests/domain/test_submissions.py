"""A stranger's submission read into a sign-up request, or refused field by field with codes
the page words in its own language."""

from __future__ import annotations

from typing import Any

import pytest

from textcast.domain.signups import submissions
from textcast.domain.signups.submissions import InvalidSubmission, Problem
from textcast.models import SignupForm

EVIDENCE = submissions.Evidence(page_url="https://texts.example.com/join/vip", ip="203.0.113.9")


def _form(**changes: Any) -> SignupForm:
    values: dict[str, Any] = {
        "id": 7,
        "slug": "vip",
        "list_id": 3,
        "title": "Join",
        "fields": [
            {"name": "first_name", "required": True},
            {"name": "email"},
            {"name": "birthday"},
            {"name": "store", "label": "Favourite store"},
        ],
        "disclosure": "By signing up...",
        "disclosure_version": 2,
        "double_opt_in": True,
        "allowed_countries": ["US", "CA"],
        "confirmation_text": "Reply Y",
        "welcome_text": None,
        "confirmations_per_hour": 50,
    }
    values.update(changes)
    return SignupForm(**values)


def _problems(values: dict[str, str], **form: Any) -> list[Problem]:
    with pytest.raises(InvalidSubmission) as refused:
        submissions.read_submission(_form(**form), values, EVIDENCE, "US")
    return refused.value.codes


def test_a_good_submission_becomes_a_request_with_its_evidence() -> None:
    read = submissions.read_submission(
        _form(),
        {"phone": "201-555-0123", "first_name": " Ana ", "email": "", "junk": "x" * 10_000},
        EVIDENCE,
        "US",
    )
    assert read.phone == "+12015550123"
    request = read.request
    assert (request.form_id, request.list_id, request.confirmations_per_hour) == (7, 3, 50)
    assert (request.disclosure, request.disclosure_version) == ("By signing up...", 2)
    assert request.fields == {"phone": "201-555-0123", "first_name": "Ana"}
    assert request.page_url == EVIDENCE.page_url and request.ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, [Problem("phone", "required"), Problem("first_name", "required")]),
        ({"phone": "12", "first_name": "A"}, [Problem("phone", "invalid_phone")]),
        ({"phone": "+33612345678", "first_name": "A"}, [Problem("phone", "country_not_allowed")]),
        ({"phone": "1" * 41, "first_name": "A"}, [Problem("phone", "too_long", 40)]),
        (
            {"phone": "+12015550123", "first_name": "A", "email": "ana@"},
            [Problem("email", "invalid_email")],
        ),
        (
            {"phone": "+12015550123", "first_name": "A", "birthday": "1990-02-30"},
            [Problem("birthday", "invalid_date")],
        ),
        (
            {"phone": "+12015550123", "first_name": "A", "birthday": "2999-01-01"},
            [Problem("birthday", "invalid_date")],
        ),
        (
            {"phone": "+12015550123", "first_name": "A", "store": "s" * 201},
            [Problem("store", "too_long", 200)],
        ),
    ],
)
def test_each_field_at_fault_is_named_with_its_code(
    values: dict[str, str], expected: list[Problem]
) -> None:
    assert _problems(values) == expected


def test_a_country_not_allowed_counts_as_blocked() -> None:
    with pytest.raises(InvalidSubmission) as refused:
        submissions.read_submission(_form(), {"phone": "+447911123456"}, EVIDENCE, "US")
    assert refused.value.blocked
    assert not InvalidSubmission([Problem("phone", "required")]).blocked


def test_a_number_is_read_in_the_forms_first_country_and_a_form_without_any_takes_the_default() -> (
    None
):
    french = submissions.read_submission(
        _form(allowed_countries=["FR"], fields=[]), {"phone": "06 12 34 56 78"}, EVIDENCE, "US"
    )
    assert french.phone == "+33612345678"
    anywhere = _form(allowed_countries=[], fields=[])
    assert (
        submissions.read_submission(anywhere, {"phone": "2015550123"}, EVIDENCE, "US").phone
        == "+12015550123"
    )
    with pytest.raises(InvalidSubmission):
        submissions.read_submission(anywhere, {"phone": "+33612345678"}, EVIDENCE, "US")


def test_the_evidence_is_bounded() -> None:
    long = submissions.Evidence(
        page_url="https://x.example/" + "p" * 3000, user_agent="u" * 900, referer="r" * 3000
    )
    request = submissions.read_submission(
        _form(fields=[]), {"phone": "+12015550123"}, long, "US"
    ).request
    assert request.user_agent is not None and len(request.user_agent) == 500
    assert len(request.page_url or "") == 2000 and len(request.referer or "") == 2000


def test_an_embed_copied_before_the_disclosure_changed_is_recorded_with_its_own_version() -> None:
    form = _form(disclosure="Today's text", disclosure_version=3)

    def shown(version: str) -> tuple[str | None, int | None]:
        values = {"phone": "201-555-0123", "first_name": "Ana", "disclosure_version": version}
        request = submissions.read_submission(form, values, EVIDENCE, "US").request
        return request.disclosure, request.disclosure_version

    assert shown("3") == ("Today's text", 3)
    assert shown("") == ("Today's text", 3)  # the hosted page, or an embed without the field
    assert shown("1") == (None, 1)  # the text it showed is not the one kept: none is claimed
    assert shown("9") == ("Today's text", 3)  # no such version yet: nonsense is not evidence
    assert shown("abc") == ("Today's text", 3)
