"""The API against its own OpenAPI document: generated requests, valid and not, never a 5xx.

Schemathesis draws requests for every operation of the document and checks each answer: no
server error, a documented status, content type and headers, a body matching the documented
schema, schema-violating input refused, a missing key refused, a wrong method answered 405.
A bounded run is part of `make test`; `make fuzz` runs the long one and prints its count.

Every operation is fuzzed against one served app per engine, seeded with one of everything
(id 1 of each), so that generated ids find things to read, change and delete, and what one
operation creates the next may find.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from sqlalchemy import select
from tests.databases import empty_database
from tests.factories import bearer, make_api_key, make_campaign, numbers
from tests.servers import free_port, serving

from textcast.config import Settings, instance_secret, load_settings
from textcast.db import Database
from textcast.domain import flows
from textcast.domain.accounts import api_keys
from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import contacts, lists, segments
from textcast.domain.imports import jobs as imports
from textcast.domain.inbox import quick_replies, threads
from textcast.models import ImportJob, ImportStatus, InboundMessage, Role, utcnow
from textcast.web.app import create_app

BOUNDED_EXAMPLES = 8
"""Per operation and generation mode (valid, invalid) in `make test`, after the schema-derived
boundary cases: about 1,900 requests per engine, the same ones each run."""
LONG_EXAMPLES = 150
"""Per operation and mode in `make fuzz`: over 8,000 requests per engine, new ones each run."""

# Not `positive_data_acceptance`: a request the schema allows may still be refused with a 400
# (a number that is no phone number, a list that does not exist). Not the stateful checks
# (`use_after_free`, `ensure_resource_availability`, `object_level_authorization`): they
# follow links between operations, which these runs do not.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]


SEED_FLOW = {
    "trigger": {"type": "event", "event": "cart_abandoned"},
    "goal": "order_placed",
    "steps": [
        {"id": "wait_1h", "type": "wait", "for": "1h"},
        {"id": "reminder", "type": "send", "body": "Your cart is waiting. Reply STOP to opt out."},
    ],
}


def fuzz_settings(database_url: str, base_url: str = "http://127.0.0.1:8000") -> Settings:
    return load_settings(
        database_url=database_url,
        # Its own address: the Sinch check and short links call this server, nothing else.
        base_url=base_url,
        sinch_webhook_secret=None,
        default_region="US",
        secret_key="fuzz",
        # The fuzzer is one caller sending thousands of requests a minute.
        api_rate_limit="1000000/minute",
    )


def _openapi() -> dict[str, Any]:
    # The document does not depend on the database: one never connected to is enough.
    never_opened = "postgresql+psycopg://openapi.invalid/textcast"
    return create_app(fuzz_settings(never_opened), dispatch=False, simulator=False).openapi()


schema = schemathesis.openapi.from_dict(_openapi())


class Credentials:
    """An admin key that keeps working: the fuzzer may revoke it, or disable or demote its owner."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.key = make_api_key(database, Role.ADMIN)

    def headers(self) -> dict[str, str]:
        with self.database.read() as session:
            found = api_keys.principal_for_key(session, self.key)
        if found is None or not found[0].can(Permission.ADMIN):
            self.key = make_api_key(self.database, Role.ADMIN)
        return bearer(self.key)


class Tally:
    """Counts the generated requests, and says how many at the end of the session."""

    def __init__(self) -> None:
        self.cases: Counter[tuple[str, str]] = Counter()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.cases:
            return
        engines: Counter[str] = Counter()
        for (engine, _), count in self.cases.items():
            engines[engine] += count
        each = ", ".join(f"{count} on {engine}" for engine, count in engines.items())
        operations = len({operation for _, operation in self.cases})
        terminalreporter.write_line(
            f"fuzz: {self.cases.total()} generated requests ({each}) over {operations} operations"
        )


def seed(database: Database, settings: Settings) -> None:
    """Id 1 of each: a draft and a sending campaign, a contact, a list, a segment, an import,
    a live flow with a run, an event, the contact's conversation, a quick reply."""
    make_campaign(database)
    make_campaign(database, numbers(3, start=10), launch=True)
    secret = instance_secret(settings)
    with database.write() as session:
        contact = contacts.create_contact(
            session, contacts.ContactDraft(phone=numbers(1)[0]), "US", "api", secret
        )
        listed = lists.create_list(session, "Customers")
        lists.add_members(session, listed.id, [contact.id])
        rules = {"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "US"}]}
        segments.create_segment(session, "Americans", rules)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as file:
        file.write(f"phone,first_name\n{numbers(1, start=20)[0]},Ada\nnot a number,Bob\n")
    path = Path(file.name)
    with database.write() as session:
        job = imports.start_import(
            session, path=path, filename="seed.csv", default_region="US", consent_confirmed=True
        )
    imports.run_import(database, job.id, path, secret)
    path.unlink()
    with database.write() as session:
        flows.create_flow(session, "Cart", SEED_FLOW, publish=True)
        event = flows.EventInput("cart_abandoned", contact_id=contact.id)
        flows.record_event(session, event, "US", secret)
    with database.write() as session:
        # A thread (the contact's) and a quick reply for the conversations' routes.
        text = InboundMessage(
            provider_id="seed",
            from_phone=contact.phone,
            to="12017777777",
            body="Hi?",
            received_at=utcnow(),
        )
        session.add(text)
        session.flush()
        threads.note_inbound(session, text, None)
        quick_replies.save_quick_reply(session, "Hours", "We are open 9 to 6.")


@pytest.fixture(scope="module")
def fuzz_database_url(
    engine_name: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """As `database_url`, but for the module: every operation is fuzzed against one database."""
    return empty_database(engine_name, migrated_template, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def fuzz_database(fuzz_database_url: str) -> Iterator[Database]:
    database = Database(fuzz_database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def credentials(fuzz_database: Database) -> Credentials:
    return Credentials(fuzz_database)


@pytest.fixture(scope="module")
def base_url(fuzz_database_url: str, fuzz_database: Database) -> Iterator[str]:
    port = free_port()
    settings_ = fuzz_settings(fuzz_database_url, f"http://127.0.0.1:{port}")
    seed(fuzz_database, settings_)
    with serving(create_app(settings_, dispatch=False, simulator=False), port) as url:
        yield url
        _finish_imports(fuzz_database)


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Tally:
    tally = Tally()
    request.config.pluginmanager.register(tally)
    return tally


def _finish_imports(database: Database) -> None:
    """Uploads run in a thread of their own: let them end, and fail on any that crashed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.read() as session:
            jobs = session.scalars(select(ImportJob)).all()
        if all(j.status not in (ImportStatus.PENDING, ImportStatus.RUNNING) for j in jobs):
            crashed = [j.error for j in jobs if j.error and j.error.startswith("internal error")]
            assert not crashed
            return
        time.sleep(0.05)
    raise AssertionError("imports still running after 30 s")


def call_and_validate(
    case: schemathesis.Case, base_url: str, credentials: Credentials, tally: Tally, engine: str
) -> None:
    tally.cases[engine, case.operation.label] += 1
    case.call_and_validate(base_url=base_url, headers=credentials.headers(), checks=CHECKS)


FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    # The fuzzer's own health checks (slow or filtered generation) are no finding about the API.
    "suppress_health_check": list(HealthCheck),
}


@schema.parametrize()
@settings(max_examples=BOUNDED_EXAMPLES, derandomize=True, **FUZZ_SETTINGS)
def test_api_conforms_to_its_schema(
    case: schemathesis.Case, base_url: str, credentials: Credentials, tally: Tally, engine_name: str
) -> None:
    call_and_validate(case, base_url, credentials, tally, engine_name)


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=LONG_EXAMPLES, **FUZZ_SETTINGS)
def test_api_conforms_to_its_schema_at_length(
    case: schemathesis.Case, base_url: str, credentials: Credentials, tally: Tally, engine_name: str
) -> None:
    call_and_validate(case, base_url, credentials, tally, engine_name)


# What the fuzzer found, pinned down so that a bounded run cannot miss it again.
FOUND = [
    ("GET", "/api/v1/campaigns/9223372036854775808", {}, 400),  # 2**63: past BIGINT
    ("POST", "/api/v1/lists/1/members", {"json": {"contact_ids": [True]}}, 400),
    ("POST", "/api/v1/contacts", {"json": {"phone": "+12015550188", "first_name": "A\x00"}}, 400),
    ("GET", "/api/v1/contacts", {"params": {"search": "\x00"}}, 400),
    ("GET", "/l/ab%00cdefg", {}, 404),
    ("PATCH", "/api/v1/contacts/1", {"content": b"\xff\x1b"}, 400),  # not UTF-8 JSON
    ("OPTIONS", "/api/v1/campaigns", {}, 405),
    (
        "POST",
        "/api/v1/imports",
        {
            "files": {"file": ("mac.csv", b"phone\r+12015550199\r")},
            "data": {"consent_confirmed": "true"},
        },
        202,
    ),
    # Read in the background: `base_url` fails the module if an import crashed on it.
    (
        "POST",
        "/api/v1/imports",
        {
            "files": {"file": ("nul.csv", b"phone,name\n+12015550198,A\x00\n")},
            "data": {"consent_confirmed": "true"},
        },
        202,
    ),
]


@pytest.mark.parametrize(("method", "path", "request_", "expected"), FOUND)
def test_what_the_fuzzer_found_stays_fixed(
    base_url: str,
    credentials: Credentials,
    method: str,
    path: str,
    request_: dict[str, Any],
    expected: int,
) -> None:
    answer = httpx.request(method, base_url + path, headers=credentials.headers(), **request_)
    assert answer.status_code == expected, answer.text
    if expected >= 400 and path.startswith("/api/"):
        assert {"error", "message"} <= answer.json().keys()
    if expected == 405:
        assert answer.headers["allow"] == "GET, POST"
