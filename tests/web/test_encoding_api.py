from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize

from textcast.config import load_settings
from textcast.web.app import create_app


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url, sinch_webhook_secret=None, default_region="US"
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def test_reports_parts_offenders_and_the_gsm7_alternative(client: TestClient) -> None:
    text = "“Olá” — " + "a" * 150 + "😀"
    answer = client.post("/api/v1/encoding", json={"text": text})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # 8 + 150 characters and an emoji taking two UTF-16 units: 160 units, ceil(160 / 67) = 3.
    assert (report["encoding"], report["length"], report["parts"]) == ("UCS-2", 160, 3)
    assert report["remaining"] == 3 * 67 - 160
    offenders = report["offenders"]
    assert set(offenders[0]) == {"position", "character", "name", "replacement"}
    assert [tuple(o.values()) for o in offenders] == [
        (0, "“", "LEFT DOUBLE QUOTATION MARK", '"'),
        (3, "á", "LATIN SMALL LETTER A WITH ACUTE", "a"),
        (4, "”", "RIGHT DOUBLE QUOTATION MARK", '"'),
        (6, "—", "EM DASH", "-"),
        (158, "😀", "GRINNING FACE", None),
    ]
    assert report["with_replacements"] == {
        "text": '"Ola" - ' + "a" * 150 + "😀",
        "encoding": "UCS-2",
        "parts": 3,
    }


def test_a_body_that_can_become_gsm7_says_so(client: TestClient) -> None:
    answer = client.post("/api/v1/encoding", json={"text": "“" + "a" * 148 + "”"})
    report = answer.json()
    assert (report["encoding"], report["parts"]) == ("UCS-2", 3)
    assert report["with_replacements"]["encoding"] == "GSM-7"
    assert report["with_replacements"]["parts"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "is required"),
        ({"text": "a" * 2001}, "must be at most 2,000 characters"),
        ({"text": 42}, "must be text"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_text_field(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    answer = client.post("/api/v1/encoding", json=body)
    assert answer.status_code == 400
    assert answer.json()["problems"] == [{"field": "text", "message": message}]


def test_the_longest_body_sinch_takes_is_accepted(client: TestClient) -> None:
    answer = client.post("/api/v1/encoding", json={"text": "€" * 2000})
    assert answer.status_code == 200
    assert (answer.json()["length"], answer.json()["parts"]) == (4000, 27)
