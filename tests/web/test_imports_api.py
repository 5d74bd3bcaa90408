import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import authorize

from textcast.config import load_settings
from textcast.db import Database
from textcast.models import ConsentEvent
from textcast.web.app import create_app

CSV = (
    "Prénom;Nom;Mobile;Ville\n"
    "Amélie;Poulain;06 12 34 56 78;Paris\n"
    "Jean;Dupont;+33 6 12 34 56 78;Lyon\n"
    "Bo;;n/a;\n"
    "Zoë;;+44 7400 123456;London\n"
)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url,
        sinch_webhook_secret=None,
        default_region="FR",
        secret_key="test-secret",
    )
    with TestClient(create_app(settings, dispatch=False, simulator=False)) as client:
        authorize(client, database_url)
        yield client


def upload(client: TestClient, content: bytes, **form: str) -> Any:
    files = {"file": ("customers.csv", content, "text/csv")}
    return client.post("/api/v1/imports", files=files, data={"consent_confirmed": "true", **form})


def wait_until_done(client: TestClient, import_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/v1/imports/{import_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"import {import_id} still {job['status']}")


def test_upload_poll_until_completed_then_download_the_rejections(client: TestClient) -> None:
    answer = upload(client, CSV.encode("utf-8-sig"), list="Spring")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "pending"
    assert accepted["filename"] == "customers.csv"
    job = wait_until_done(client, accepted["id"])
    assert job["status"] == "completed", job
    assert {k: job[k] for k in ("rows", "created", "duplicates", "rejected", "progress")} == {
        "rows": 4,
        "created": 2,
        "duplicates": 1,
        "rejected": 1,
        "progress": 1.0,
    }
    assert job["list_id"] is not None
    report = client.get(job["rejections_url"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert report.text.splitlines() == ["line,reason,value", "4,not a phone number,n/a"]


def test_recent_imports_are_listed_newest_first(client: TestClient) -> None:
    first = upload(client, b"phone\n0612345678\n").json()
    second = upload(client, b"phone\n0612345679\n").json()
    for job in (first, second):
        wait_until_done(client, job["id"])
    listed = client.get("/api/v1/imports").json()["items"]
    assert [job["id"] for job in listed] == [second["id"], first["id"]]


@pytest.mark.parametrize(
    ("content", "form", "field", "message"),
    [
        (b"phone\n0612345678\n", {"default_region": "Narnia"}, "default_region", "country code"),
        (b"", {}, "file", "the file is empty"),
        (b"name;city\nAna;Paris\n", {}, "file", "no phone column"),
    ],
)
def test_what_cannot_be_imported_is_refused_with_a_400_naming_the_field(
    client: TestClient, content: bytes, form: dict[str, str], field: str, message: str
) -> None:
    answer = upload(client, content, **form)
    assert answer.status_code == 400
    [problem] = answer.json()["problems"]
    assert problem["field"] == field
    assert message in problem["message"]
    assert client.get("/api/v1/imports").json()["items"] == []


def test_an_upload_without_a_file_is_a_400(client: TestClient) -> None:
    answer = client.post("/api/v1/imports", data={"list": "x"})
    assert answer.status_code == 400
    assert [p["field"] for p in answer.json()["problems"]] == ["file"]


def test_an_unknown_import_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/imports/42").status_code == 404
    assert client.get("/api/v1/imports/42/rejections.csv").status_code == 404


def test_rejections_csv_keeps_cells_from_running_as_spreadsheet_formulas(
    client: TestClient,
) -> None:
    hostile = 'Mobile\n"=HYPERLINK(""https://evil.example"")"\n+1+1\n'
    job = wait_until_done(client, upload(client, hostile.encode()).json()["id"])
    report = client.get(job["rejections_url"])
    assert report.text.splitlines()[1:] == [
        '2,not a phone number,"\'=HYPERLINK(""https://evil.example"")"',
        "3,not a phone number,'+1+1",
    ]


def test_without_consent_confirmed_the_import_is_a_400_naming_it_and_writes_nothing(
    client: TestClient,
) -> None:
    files = {"file": ("customers.csv", b"phone\n+12015550123\n", "text/csv")}
    for form in ({}, {"consent_confirmed": "false"}):
        answer = client.post("/api/v1/imports", files=files, data={"list": "Spring", **form})
        assert answer.status_code == 400, answer.text
        [problem] = answer.json()["problems"]
        assert problem["field"] == "consent_confirmed"
        assert problem["message"] == (
            "confirm that these contacts agreed to receive marketing texts from you"
        )
    assert client.get("/api/v1/imports").json()["items"] == []
    assert client.get("/api/v1/lists").json() == []


def test_each_contact_s_consent_names_who_confirmed_it_and_when(
    client: TestClient, database_url: str
) -> None:
    job = upload(client, b"phone\n+12015550123\n+12015550124\n").json()
    done = wait_until_done(client, job["id"])
    assert done["status"] == "completed"
    database = Database(database_url)
    with database.read() as session:
        events = session.execute(select(ConsentEvent.source, ConsentEvent.evidence)).all()
    database.dispose()
    assert len(events) == 2
    for source, evidence in events:
        assert source == f"import:{job['id']}"
        assert re.fullmatch(
            rf"CSV import customers\.csv, consent confirmed by \S+@\S+ \(key [^)]+\) at import "
            rf"{job['id']} on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC, line [23]",
            evidence,
        ), evidence
