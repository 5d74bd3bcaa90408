"""Logs never hold a full phone number, a message body or a secret, and JSON lines are JSON."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from rich.console import Console
from tests.factories import numbers
from tests.sending.stack import Stack, sending_stack
from uvicorn.logging import AccessFormatter

from textcast.cli.demo import run_demo
from textcast.logs import MaskPhoneNumbers, log_formatter, mask_phone, mask_phones
from textcast.simulator import SimulatorConfig

BODY = "Zephyrine's quokka sale: 37% off teal marmalade until Sunday"
REPLY = "Do the quokkas come in ochre too?"
WEBHOOK_SECRET = "whsec-log-canary-5c1d"
SINCH_TOKEN = "sinch-token-log-canary-77ab"
WRONG_PASSWORD = "hunter2-log-canary-Zq9"
INVALID_NUMBER = "+1201555012"  # one digit short
# Logged on purpose at the start: if it shows up verbatim, the capture is neither masked nor
# filtered, so the absence of the scenario's numbers means something.
CANARY = "+447700900123"
STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class CapturedLogs(logging.Handler):
    """Every record of every logger, as text with its extra fields, without any masking."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self._saved: dict[logging.Logger, tuple[int, bool, list[object]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD_FIELDS}
        self.lines.append(f"{self.format(record)} {extras!r}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def holding(self, needle: str) -> list[str]:
        return [line for line in self.lines if needle in line]

    def widen(self) -> None:
        """All loggers at DEBUG, enabled, unmasked; attached where records stop propagating.

        Servers starting (uvicorn) reconfigure their own loggers, so this runs again after.
        """
        root = logging.getLogger()
        others = [x for x in root.manager.loggerDict.values() if isinstance(x, logging.Logger)]
        for logger in [root, *others]:
            if logger not in self._saved:
                self._saved[logger] = (logger.level, logger.disabled, list(logger.filters))
            logger.disabled = False
            # SQL echo logs statement parameters and result rows by design (phones, bodies). It
            # is off unless an operator turns it on; nothing of ours does.
            quiet = logger.name.startswith("sqlalchemy.engine")
            logger.setLevel(logging.WARNING if quiet else logging.DEBUG)
            for mask in [f for f in logger.filters if isinstance(f, MaskPhoneNumbers)]:
                logger.removeFilter(mask)
            if (logger is root or not logger.propagate) and self not in logger.handlers:
                logger.addHandler(self)

    def restore(self) -> None:
        for logger, (level, disabled, filters) in self._saved.items():
            logger.setLevel(level)
            logger.disabled = disabled
            logger.filters[:] = filters
            if self in logger.handlers:
                logger.removeHandler(self)


@pytest.fixture
def captured() -> Iterator[CapturedLogs]:
    capture = CapturedLogs()
    capture.widen()
    try:
        yield capture
    finally:
        capture.restore()


def test_the_main_scenarios_log_no_number_body_or_secret(
    database_url: str, captured: CapturedLogs
) -> None:
    audience = numbers(20)
    imported = numbers(3, start=500)
    simulator = SimulatorConfig(
        api_token=SINCH_TOKEN,
        webhook_secret=WEBHOOK_SECRET,
        queued_delay=0.01,
        dispatch_delay=0.02,
        final_delay=0.1,
        seed=5,
    )
    with sending_stack(database_url, simulator, inbound=True) as stack:
        captured.widen()
        logging.getLogger("textcast.tests").info("canary %s", CANARY)
        logging.getLogger("uvicorn.error").info("canary %s", CANARY)
        api_key = stack.api.headers["Authorization"].removeprefix("Bearer ")

        _send_campaign(stack, audience)
        _stop_and_reply(stack, stopper=audience[0], replier=audience[1])
        _import_contacts(stack, imported)
        bad = stack.api.post("/api/v1/contacts", json={"phone": INVALID_NUMBER})
        assert bad.status_code == 400, bad.text
        _post_badly_signed_report(stack, audience[2])
        _fail_to_sign_in(str(stack.api.base_url))
    asyncio.run(run_demo(Console(file=io.StringIO()), 10, database_url))

    text = captured.text
    assert f"textcast.tests INFO canary {CANARY}" in text
    assert f"uvicorn.error INFO canary {CANARY}" in text
    # The scenarios did run under the capture.
    assert "POST /batches -> 201" in text
    assert "webhook refused" in text
    for phone in [*audience, *imported, INVALID_NUMBER]:
        assert captured.holding(phone.removeprefix("+")) == []  # with or without its `+`
    assert re.findall(r"\+[0-9]{8,15}", text.replace(CANARY, "")) == []
    bodies = (BODY, "Zephyrine", REPLY, "ochre")
    for forbidden in (*bodies, api_key, WRONG_PASSWORD, WEBHOOK_SECRET, SINCH_TOKEN):
        assert captured.holding(forbidden) == []


def _send_campaign(stack: Stack, audience: list[str]) -> None:
    created = stack.api.post(
        "/api/v1/campaigns", json={"name": "logs", "body": BODY, "recipients": audience}
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert stack.api.post(f"/api/v1/campaigns/{campaign_id}/send").status_code == 202
    state = stack.wait_until_final(campaign_id, timeout=60)
    assert set(state["counts"]) <= {"delivered", "failed", "expired"}  # reports arrived


def _stop_and_reply(stack: Stack, stopper: str, replier: str) -> None:
    stack.simulator.inject_inbound(stopper, "+12017777777", "STOP")
    stack.simulator.inject_inbound(replier, "+12017777777", REPLY)
    deadline = time.monotonic() + 30
    # Both acknowledged, and the STOP confirmed by a message of its own.
    while len(stack.simulator.inbound_acks()) < 2 or stack.simulator.ledger().count(stopper) < 2:
        assert time.monotonic() < deadline, "inbound messages not handled"
        time.sleep(0.05)


def _import_contacts(stack: Stack, phones: list[str]) -> None:
    rows = "".join(f"{phone},Ana\n" for phone in phones)
    csv = f"phone,first_name\n{rows}{INVALID_NUMBER},Bo\n"
    files = {"file": ("contacts.csv", csv.encode(), "text/csv")}
    answer = stack.api.post("/api/v1/imports", files=files, data={"consent_confirmed": "true"})
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 30
    while (job := stack.api.get(f"/api/v1/imports/{answer.json()['id']}").json())["status"] in (
        "pending",
        "running",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert (job["status"], job["created"], job["rejected"]) == ("completed", 3, 1), job


def _post_badly_signed_report(stack: Stack, phone: str) -> None:
    body = json.dumps(
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": "01JHFFHQ0P99JPPNQPJDV7JTBP",
            "recipient": phone.removeprefix("+"),
            "status": "Delivered",
            "code": 0,
            "at": "2025-01-13T09:22:40.914Z",
        }
    )
    headers = {
        "content-type": "application/json",
        "x-sinch-webhook-signature": "bm90IHRoZSBzaWduYXR1cmU=",
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
        "x-sinch-webhook-signature-nonce": "01JHFFHWYY7HSS4FWTMDTQEK8V",
        "x-sinch-webhook-signature-timestamp": str(int(time.time())),
    }
    answer = stack.api.post("/api/webhooks/delivery-reports", content=body, headers=headers)
    assert answer.status_code == 401, answer.text


def _fail_to_sign_in(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as browser:
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None and browser.cookies.get("textcast_login_csrf")
        form = {"email": "nobody@example.com", "password": WRONG_PASSWORD, "csrf_token": token[1]}
        assert browser.post("/login", data=form).status_code == 401


def test_mask_phone_keeps_the_calling_code_area_and_last_two_digits() -> None:
    assert mask_phone("+14155552671") == "+1415*****71"
    assert mask_phone("+33612345678") == "+3361*****78"
    assert mask_phone("14155552671") == "1415*****71"
    assert mask_phone("+1 (415) 555-2671") == "+1415*****71"
    assert mask_phone("+12345678") == "+1*****78"


def test_mask_phones_finds_numbers_in_text_and_urls_only() -> None:
    text = "to +14155552671, GET /delivery_report/33612345678?to=14155552671&n=%2B33612345678"
    assert mask_phones(text) == (
        "to +1415*****71, GET /delivery_report/3361*****78?to=1415*****71&n=%2B3361*****78"
    )
    untouched = "batch 01JHFFHQ0P99JPPNQPJDV7JTBP: 2500 recipients in 1234.5 ms, +0.25 s"
    assert mask_phones(untouched) == untouched


def _handler(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_formatter(log_format))
    handler.addFilter(MaskPhoneNumbers())
    logger = logging.Logger(f"textcast.test_{log_format}", logging.DEBUG)
    logger.addHandler(handler)
    return logger, stream


def test_the_filter_masks_the_message_its_arguments_extras_and_traceback() -> None:
    logger, stream = _handler("text")
    logger.info("reply to %s queued", "+14155552671", extra={"sender": "+33612345678"})
    try:
        raise ValueError("not a number: +12015550123")
    except ValueError:
        logger.exception("from %s failed", "+12015550124")
    text = stream.getvalue()
    assert "reply to +1415*****71 queued" in text
    assert "from +1201*****24 failed" in text
    assert "ValueError: not a number: +1201*****23" in text
    assert "2671" not in text and "50123" not in text


def test_uvicorns_access_lines_keep_their_arguments_and_lose_the_number() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    line = '%(client_addr)s - "%(request_line)s" %(status_code)s'
    handler.setFormatter(AccessFormatter(line, use_colors=False))
    handler.addFilter(MaskPhoneNumbers())
    logger = logging.Logger("uvicorn.access", logging.INFO)
    logger.addHandler(handler)
    path = "/api/v1/contacts?search=%2B14155552671"
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    assert stream.getvalue() == (
        '127.0.0.1:5000 - "GET /api/v1/contacts?search=%2B1415*****71 HTTP/1.1" 200 OK\n'
    )


def test_json_lines_are_one_object_per_record_with_extra_fields() -> None:
    logger, stream = _handler("json")
    logger.warning("batch %s rejected", "B1", extra={"campaign_id": 7, "phone": "+14155552671"})
    try:
        raise RuntimeError("to +14155552671")
    except RuntimeError:
        logger.exception("crashed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "campaign_id", "phone")} == {
        "level": "WARNING",
        "logger": "textcast.test_json",
        "message": "batch B1 rejected",
        "campaign_id": 7,
        "phone": "+1415*****71",
    }
    assert first["time"].endswith("+00:00")
    assert second["message"] == "crashed"
    assert second["exc_info"].endswith("RuntimeError: to +1415*****71")


def test_configure_logging_writes_masked_json_lines_to_stderr() -> None:
    script = (
        "import logging\n"
        "from textcast.logs import configure_logging\n"
        "configure_logging('info', 'json')\n"
        "logging.getLogger('textcast.sending').info('to %s', '+14155552671', extra={'n': 1})\n"
        "logging.getLogger('uvicorn.error').warning('GET /x?to=%s', '14155552671')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("textcast.sending", "to +1415*****71"),
        ("uvicorn.error", "GET /x?to=1415*****71"),
    ]
    assert lines[0]["n"] == 1
