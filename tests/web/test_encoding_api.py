from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import authorize

from textcast.config import load_settings
from textcast.models import Role
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
        "parts_saved": 0,
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


def test_a_marketing_text_without_opt_out_or_brand_gets_warnings(client: TestClient) -> None:
    bare = client.post("/api/v1/encoding", json={"text": "Spring sale today"}).json()
    assert [w["code"] for w in bare["warnings"]] == ["no_opt_out", "no_brand"]
    assert "Reply STOP to opt out" in bare["warnings"][0]["message"]
    assert '"textcast"' in bare["warnings"][1]["message"]  # BRAND_NAME's default
    fixed = "textcast: spring sale today. Reply STOP to opt out"
    assert client.post("/api/v1/encoding", json={"text": fixed}).json()["warnings"] == []


def test_the_brand_name_checked_is_the_one_in_effect_now(database_url: str) -> None:
    settings = load_settings(database_url=database_url, sinch_webhook_secret=None)
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url, Role.ADMIN)
        changed = client.patch("/api/v1/settings", json={"BRAND_NAME": "Bloom"})
        assert changed.status_code == 200, changed.text
        text = "Bloom sale. Reply STOP to opt out"
        assert client.post("/api/v1/encoding", json={"text": text}).json()["warnings"] == []


def test_an_emoji_that_alone_makes_the_text_ucs2_gets_advice_with_its_saving(
    client: TestClient,
) -> None:
    text = "Spring sale " + "x" * 60 + " \U0001f338"
    report = client.post("/api/v1/encoding", json={"text": text}).json()
    assert (report["encoding"], report["parts"]) == ("UCS-2", 2)
    advice = report["advice"]
    assert advice["remove"] == ["\U0001f338"] and advice["names"] == ["CHERRY BLOSSOM"]
    assert (advice["parts"], advice["parts_saved"], advice["recipients"]) == (1, 1, None)
    assert advice["cost_saved"] == 0.0079  # one US part (DEFAULT_REGION)
    assert advice["message"] == "Remove \U0001f338: 2 parts → 1, saves 0.0079 USD per message."
    assert client.post("/api/v1/encoding", json={"text": "Hi"}).json()["advice"] is None


def test_advice_for_a_draft_is_priced_on_its_audience(client: TestClient) -> None:
    numbers = [f"+1201555{n:04d}" for n in range(100, 110)]
    draft = client.post(
        "/api/v1/campaigns", json={"name": "Spring", "body": "Hi", "recipients": numbers}
    ).json()
    text = "Spring sale " + "x" * 60 + " \U0001f338"
    report = client.post("/api/v1/encoding", json={"text": text, "campaign_id": draft["id"]}).json()
    advice = report["advice"]
    assert (advice["recipients"], advice["cost_saved"]) == (10, 0.079)
    assert advice["message"].endswith("saves 0.079 USD on this audience (10 recipients).")
    missing = client.post("/api/v1/encoding", json={"text": text, "campaign_id": 999999})
    assert missing.status_code == 404


def test_replace_all_says_when_it_saves_no_part_or_makes_the_text_longer(
    client: TestClient,
) -> None:
    # 60 ellipses: 60 UCS-2 units (1 part); replaced, 180 GSM-7 septets (2 parts).
    longer = client.post("/api/v1/encoding", json={"text": "\u2026" * 60}).json()
    replaced = longer["with_replacements"]
    assert (longer["parts"], replaced["parts"], replaced["parts_saved"]) == (1, 2, -1)
    same = client.post("/api/v1/encoding", json={"text": "\u201cHi\u201d"}).json()
    assert same["with_replacements"]["parts_saved"] == 0
    saving = "\u201cHi\u201d " + "a" * 100
    assert (
        client.post("/api/v1/encoding", json={"text": saving}).json()["with_replacements"][
            "parts_saved"
        ]
        == 1
    )
