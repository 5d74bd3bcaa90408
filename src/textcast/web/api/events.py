"""`/api/v1/events`: what happened outside textcast (`order_placed`), posted by a shop or a
backend with an API key; the flows it triggers start, the runs waiting for it wake, the runs
whose goal it is end. Retried posts with the same idempotency key are harmless."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain import flows
from textcast.domain.accounts.permissions import Permission
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.domain.flows.events import MATCHED, NO_CONTACT, NOT_SUBSCRIBED, UNHEARD
from textcast.models import Event
from textcast.services import flows as flow_services
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input, IsoOnly, NoNul
from textcast.web.auth import Sender, guard
from textcast.web.deps import ReadSession, RuntimeDep

router = APIRouter(prefix="/api/v1/events", tags=["events"], dependencies=[guard(Permission.READ)])

REPLAYED = "Idempotent-Replayed"
OUTCOMES = (MATCHED, UNHEARD, NO_CONTACT, NOT_SUBSCRIBED)
# Longer than the domain's limits, so that its answer names the problem in words.
KEY_BOUND = 1_000


class EventIn(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone": "+12015550123",
                    "name": "cart_abandoned",
                    "properties": {"cart_url": "https://shop.example/cart/42", "total": 59.9},
                    "occurred_at": "2026-12-01T10:00:00Z",
                    "idempotency_key": "cart-42-abandoned",
                }
            ]
        },
    )

    name: Annotated[str, Field(max_length=KEY_BOUND)] = Field(
        description="Letters, digits, `_ . : -`, at most 100 (order_placed)."
    )
    phone: Annotated[str | None, Field(max_length=40)] = Field(
        default=None, description="Whose event: E.164 or national (DEFAULT_REGION)..."
    )
    contact_id: IdIn | None = Field(default=None, description="...or the contact's id.")
    # Any JSON value here, so that the domain's check names a nested one in words.
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Texts, numbers, true/false or null: at most 50, names up to 64 "
        "characters, texts up to 1,000. Sends read "
        "them as `{{ event.NAME }}`, branches as `event` conditions.",
    )
    occurred_at: Annotated[datetime | None, IsoOnly] = Field(
        default=None, description="With its time zone; default: when received."
    )
    idempotency_key: Annotated[str | None, Field(max_length=KEY_BOUND)] = Field(
        default=None,
        description="At most 200 characters. A post with a key already seen stores and "
        "does nothing again: it answers 200 with the event stored then. Also taken from "
        "the `Idempotency-Key` header.",
    )


class EventOut(BaseModel):
    id: int
    name: str
    contact_id: int | None = Field(description="Null: no contact has the number or id.")
    phone: str | None
    properties: dict[str, Any]
    occurred_at: datetime
    received_at: datetime
    idempotency_key: str | None
    outcome: str = Field(
        description="matched (some flow listens), unheard (none does: stored and counted), "
        "no_contact (a flow listens, but no contact has the number or id: stored), "
        "not_subscribed (a flow would start, but the contact opted out: none starts)."
    )
    runs_started: int
    runs_resumed: int = Field(description="Runs that were waiting for it.")
    runs_ended: int = Field(description="Runs whose goal it is.")
    message: str = Field(description="What came of it, in words.")

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.id,
            name=event.name,
            contact_id=event.contact_id,
            phone=event.phone,
            properties=dict(event.properties or {}),
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            idempotency_key=event.idempotency_key,
            outcome=event.outcome,
            runs_started=event.runs_started,
            runs_resumed=event.runs_resumed,
            runs_ended=event.runs_ended,
            message=flows.describe_event(event),
        )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for older events; null at the end."
    )


class CountOut(BaseModel):
    name: str
    outcome: str
    count: int


class SummaryOut(BaseModel):
    since: datetime | None
    counts: list[CountOut] = Field(description="By name and outcome, most frequent first.")
    by_outcome: dict[str, int] = Field(description="matched, unheard, no_contact, not_subscribed.")


_REPLAYED_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "model": EventOut,
        "description": "The idempotency key was seen before: the event stored then; nothing "
        "was done again.",
        "headers": {
            REPLAYED: {"description": "Always `true`.", "schema": {"type": "string"}},
        },
    }
}


@router.post("", status_code=status.HTTP_201_CREATED, responses=_REPLAYED_DOC)
def post_event(
    payload: EventIn,
    response: Response,
    runtime: RuntimeDep,
    principal: Sender,
    idempotency_header: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=KEY_BOUND,
            description="As `idempotency_key` in the body; both given must agree.",
        ),
    ] = None,
) -> EventOut:
    """Store the event and act on it: 201 with what came of it (`outcome`, `message`).

    An event nobody listens to is stored and counted (`unheard`); one for a number or id no
    contact has is stored (`no_contact`), and creates the contact only when a flow it
    starts says so (`create_contacts`)."""
    del principal  # the guard: events start runs, which send
    key = payload.idempotency_key
    if key is not None and idempotency_header is not None and key != idempotency_header:
        raise InvalidInput(
            [
                FieldProblem(
                    "idempotency_key",
                    "differs from the Idempotency-Key header: give one key, or the same in both",
                )
            ]
        )
    given = flows.EventInput(
        name=payload.name,
        phone=payload.phone,
        contact_id=payload.contact_id,
        properties=payload.properties,
        occurred_at=payload.occurred_at,
        idempotency_key=key if key is not None else idempotency_header,
    )
    recorded = flow_services.post_event(
        runtime.database, given, runtime.settings.default_region, runtime.secret
    )
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers[REPLAYED] = "true"
    else:
        runtime.wake_flows()
    return EventOut.of(recorded.event)


@router.get("")
def list_events(
    session: ReadSession,
    name: Annotated[str | None, Query(max_length=100, description="Only this name."), NoNul] = None,
    outcome: Annotated[
        str | None,
        Query(max_length=20, description="matched, unheard, no_contact or not_subscribed."),
        NoNul,
    ] = None,
    cursor: Annotated[Id | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """Events as received, newest first."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(
            [FieldProblem("outcome", f"must be one of {', '.join(OUTCOMES)}", outcome[:20])]
        )
    rows = flows.list_events(session, name=name, outcome=outcome, before_id=cursor, limit=limit)
    return EventPage(
        items=[EventOut.of(e) for e in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/summary")
def summarise_events(
    session: ReadSession,
    since: Annotated[
        datetime | None, IsoOnly, Query(description="Only events received since then.")
    ] = None,
) -> SummaryOut:
    """How many of each event arrived, and what came of them: an event nobody listens to
    shows here as `unheard`."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    counts = flows.event_counts(session, since)
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    for _, outcome, count in counts:
        by_outcome[outcome] = by_outcome.get(outcome, 0) + count
    return SummaryOut(
        since=since,
        counts=[CountOut(name=n, outcome=o, count=c) for n, o, c in counts],
        by_outcome=by_outcome,
    )
