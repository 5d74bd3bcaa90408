"""The built-in Sinch simulator as the dashboard sees it: its ledger, and a phone to text from.

The simulator imports nothing of textcast, so this talks to it the way anyone would, over its
own HTTP API: Sinch's (`/xms/v1/...`, with the simulator's token) for the batches it accepted
and the texts it received, and its control API (`/_simulator/...`) for the ledger and to inject
an inbound text. The requests go straight to the mounted app in this process (no network), past
the admins-only wrapper that guards the mount from outside: the callers here are admins already.

An injected text reaches us exactly as Sinch's would: the simulator posts it, signed, to this
server's inbound webhook, so keywords, replies and the inbox work as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from starlette.types import ASGIApp

RECENT_BATCHES = 20
RECENT_TEXTS = 20
RECIPIENTS_SHOWN = 10
"""Recipients listed per batch; the rest are counted."""


class SimulatorTrouble(Exception):
    """The simulator answered something unexpected (it runs in this process: a bug)."""


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: str
    code: int
    count: int


@dataclass(frozen=True, slots=True)
class SimulatedBatch:
    id: str
    created_at: datetime
    sender: str | None
    recipients: tuple[str, ...]
    """The first `RECIPIENTS_SHOWN`, in E.164."""
    recipient_count: int
    body: str
    canceled: bool
    statuses: tuple[StatusCount, ...]


@dataclass(frozen=True, slots=True)
class SimulatedText:
    """A text a simulated phone sent us (Sinch's "MO")."""

    id: str
    sender: str
    to: str
    body: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class SimulatorLedger:
    accepted_recipients: int
    distinct_recipients: int
    batches: int
    duplicates: int
    """Numbers the simulator was asked to text more than once."""
    callbacks_succeeded: int
    callbacks_pending: int
    callbacks_dropped: int


@dataclass(frozen=True, slots=True)
class SimulatorView:
    ledger: SimulatorLedger
    batches: tuple[SimulatedBatch, ...]
    texts: tuple[SimulatedText, ...]

    @property
    def recent_recipients(self) -> tuple[str, ...]:
        """Numbers texted lately, newest first, each once: who a reply could come from."""
        seen: dict[str, None] = {}
        for batch in self.batches:
            seen.update(dict.fromkeys(batch.recipients))
        return tuple(seen)


class SimulatorGateway:
    def __init__(self, app: ASGIApp, *, plan: str, token: str) -> None:
        self._app = app
        self._sinch = f"/xms/v1/{plan}"
        self._auth = {"Authorization": f"Bearer {token}"}

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._app), base_url="http://simulator"
        )

    async def view(self) -> SimulatorView:
        async with self._client() as client:
            ledger = await _json(client.get("/_simulator/ledger"))
            stats = await _json(client.get("/_simulator/stats"))
            batches = await _json(
                client.get(
                    f"{self._sinch}/batches",
                    params={"page_size": RECENT_BATCHES},
                    headers=self._auth,
                )
            )
            texts = await _json(
                client.get(
                    f"{self._sinch}/inbounds",
                    params={"page_size": RECENT_TEXTS},
                    headers=self._auth,
                )
            )
            shown = []
            for batch in batches.get("batches", []):
                report = await client.get(
                    f"{self._sinch}/batches/{batch['id']}/delivery_report", headers=self._auth
                )
                statuses = report.json().get("statuses", []) if report.status_code == 200 else []
                shown.append(_batch(batch, statuses))
        callbacks = stats.get("callbacks", {})
        return SimulatorView(
            ledger=SimulatorLedger(
                accepted_recipients=int(ledger["accepted_recipients"]),
                distinct_recipients=int(ledger["distinct_recipients"]),
                batches=int(ledger["batches"]),
                duplicates=len(ledger["duplicates"]),
                callbacks_succeeded=int(callbacks.get("succeeded", 0)),
                callbacks_pending=int(callbacks.get("pending", 0)),
                callbacks_dropped=int(callbacks.get("dropped", 0)),
            ),
            batches=tuple(shown),
            texts=tuple(_text(text) for text in texts.get("inbounds", [])),
        )

    async def text_us(self, sender: str, to: str, body: str) -> SimulatedText:
        """`sender` (E.164) texts `body` to our number `to`: the simulator stores it and posts
        it to our inbound webhook, as Sinch does."""
        async with self._client() as client:
            answer = await _json(
                client.post("/_simulator/inbound", json={"from": sender, "to": to, "body": body}),
                expected=201,
            )
        return _text(answer)


async def _json(request: Any, expected: int = 200) -> dict[str, Any]:
    answer: httpx.Response = await request
    if answer.status_code != expected:
        raise SimulatorTrouble(f"the simulator answered {answer.status_code}")
    data = answer.json()
    if not isinstance(data, dict):
        raise SimulatorTrouble("the simulator answered something else than a JSON object")
    return data


def _e164(number: str) -> str:
    return number if number.startswith("+") or not number.isdigit() else "+" + number


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _batch(batch: dict[str, Any], statuses: list[dict[str, Any]]) -> SimulatedBatch:
    recipients = [str(r) for r in batch.get("to", [])]
    body = batch.get("body")
    sender = batch.get("from")
    return SimulatedBatch(
        id=str(batch["id"]),
        created_at=_when(batch["created_at"]),
        sender=_e164(str(sender)) if sender else None,
        recipients=tuple(_e164(r) for r in recipients[:RECIPIENTS_SHOWN]),
        recipient_count=len(recipients),
        body=body if isinstance(body, str) else "(binary)",
        canceled=bool(batch.get("canceled")),
        statuses=tuple(
            StatusCount(str(s["status"]), int(s["code"]), int(s["count"])) for s in statuses
        ),
    )


def _text(text: dict[str, Any]) -> SimulatedText:
    return SimulatedText(
        id=str(text["id"]),
        sender=_e164(str(text["from"])),
        to=_e164(str(text["to"])),
        body=str(text.get("body", "")),
        received_at=_when(text["received_at"]),
    )
