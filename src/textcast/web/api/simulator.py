"""`/api/v1/simulator`: the built-in Sinch simulator's ledger, texting us as a phone would, and
signing up on a form as a person would (`web/simulated_person.py`).

For admins, in simulator mode (no Sinch credentials): the way to try STOP, HELP, START and
replies without a phone. The texts go through the simulator to our own inbound webhook, signed
as Sinch signs them. Numbers and bodies are the admin's own test traffic: they are shown here,
and never logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from textcast.domain.accounts.permissions import Permission
from textcast.domain.audience import contacts
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput
from textcast.domain.phones.numbers import InvalidPhone, normalise_phone
from textcast.domain.signups import forms as signup_forms
from textcast.runtime import Runtime
from textcast.web import simulated_person
from textcast.web.api.inputs import Input
from textcast.web.auth import guard
from textcast.web.deps import RuntimeDep
from textcast.web.errors import problems
from textcast.web.simulator_gateway import SimulatedText, SimulatorGateway

router = APIRouter(
    prefix="/api/v1/simulator", tags=["simulator"], dependencies=[guard(Permission.ADMIN)]
)

MAX_TEXT = 1600
"""Characters of a simulated text: ten parts of GSM-7, more than anyone types to try a keyword."""
OUR_NUMBER = "textcast"
"""What a simulated text is sent to without SINCH_NUMBER: our side of the conversation."""
OFF = (
    "the built-in Sinch simulator is off: this server sends through Sinch (or through a "
    "`textcast simulator` at SINCH_BASE_URL), so there is no simulated phone to text from"
)


def gateway(request: Request) -> SimulatorGateway | None:
    """This app's simulator, when it is the one messages go to."""
    found: SimulatorGateway | None = getattr(request.app.state, "simulator", None)
    return found


class StatusCountOut(BaseModel):
    status: str = Field(description="Sinch's delivery status, e.g. `Delivered`.")
    code: int = Field(description="Sinch's status code, e.g. 0.")
    count: int


class SimulatedBatchOut(BaseModel):
    id: str = Field(description="The simulator's batch id (Sinch's).")
    created_at: datetime
    sender: str | None = Field(description="The number the batch was sent from, if any.")
    recipients: list[str] = Field(description="The first recipients, in E.164.")
    recipient_count: int
    body: str = Field(description="As posted: parameters (`${name}`) not filled in.")
    canceled: bool
    statuses: list[StatusCountOut] = Field(description="Where its recipients are now.")


class SimulatedTextOut(BaseModel):
    id: str = Field(description="The simulator's id of the text (Sinch's `mo_text` id).")
    sender: str = Field(description="The phone that texted us, in E.164.")
    to: str = Field(description="Our number (SINCH_NUMBER), or `textcast` without one.")
    body: str
    received_at: datetime

    @classmethod
    def of(cls, text: SimulatedText) -> SimulatedTextOut:
        return cls(
            id=text.id,
            sender=text.sender,
            to=text.to,
            body=text.body,
            received_at=text.received_at,
        )


class LedgerOut(BaseModel):
    accepted_recipients: int = Field(description="Recipients of every batch accepted so far.")
    distinct_recipients: int
    batches: int
    duplicates: int = Field(description="Numbers the simulator was asked to text twice or more.")
    callbacks_succeeded: int = Field(description="Callbacks our webhooks acknowledged.")
    callbacks_pending: int
    callbacks_dropped: int = Field(description="Callbacks given up on after their retries.")


class SimulatorOut(BaseModel):
    enabled: bool = Field(description="False when messages go to Sinch: the rest is empty.")
    ledger: LedgerOut | None
    batches: list[SimulatedBatchOut] = Field(description="The latest batches, newest first.")
    texts: list[SimulatedTextOut] = Field(
        description="The latest texts simulated phones sent us, newest first."
    )
    recent_recipients: list[str] = Field(
        description="Numbers texted lately, newest first: who a reply could come from."
    )


class TextIn(Input):
    sender: Annotated[
        str,
        Field(
            max_length=40, description="The phone texting us: E.164 or national (DEFAULT_REGION)."
        ),
    ]
    body: Annotated[str, Field(max_length=MAX_TEXT, description="What it texts, e.g. STOP.")]


class SentTextOut(SimulatedTextOut):
    contact_id: int | None = Field(
        description="The contact with this number, if there is one (the text will show on its "
        "page once the webhook has stored it)."
    )


@router.get("", summary="The simulator's ledger and latest traffic")
async def simulator_view(request: Request) -> SimulatorOut:
    """What the simulator received from us (batches, with where their recipients are) and the
    texts simulated phones sent us, newest first, with the ledger's counts."""
    found = gateway(request)
    if found is None:
        return SimulatorOut(enabled=False, ledger=None, batches=[], texts=[], recent_recipients=[])
    view = await found.view()
    ledger = view.ledger
    return SimulatorOut(
        enabled=True,
        ledger=LedgerOut(
            accepted_recipients=ledger.accepted_recipients,
            distinct_recipients=ledger.distinct_recipients,
            batches=ledger.batches,
            duplicates=ledger.duplicates,
            callbacks_succeeded=ledger.callbacks_succeeded,
            callbacks_pending=ledger.callbacks_pending,
            callbacks_dropped=ledger.callbacks_dropped,
        ),
        batches=[
            SimulatedBatchOut(
                id=b.id,
                created_at=b.created_at,
                sender=b.sender,
                recipients=list(b.recipients),
                recipient_count=b.recipient_count,
                body=b.body,
                canceled=b.canceled,
                statuses=[
                    StatusCountOut(status=s.status, code=s.code, count=s.count) for s in b.statuses
                ],
            )
            for b in view.batches
        ],
        texts=[SimulatedTextOut.of(t) for t in view.texts],
        recent_recipients=list(view.recent_recipients),
    )


@router.post(
    "/texts",
    status_code=status.HTTP_201_CREATED,
    summary="Text us from a simulated phone",
    responses=problems(409),
)
async def text_us(payload: TextIn, request: Request, runtime: RuntimeDep) -> SentTextOut:
    """The simulator sends `body` from `sender` to our number, and posts it to our inbound
    webhook as Sinch would, signed: STOP opts the number out, HELP is answered, anything else
    lands in the inbox. Answered once the simulator has taken it; the webhook stores it a
    moment later. 409 when the simulator is off."""
    found = gateway(request)
    if found is None:
        raise Conflict(OFF)
    settings = runtime.settings
    problems_found = []
    try:
        sender = normalise_phone(payload.sender, settings.default_region)
    except InvalidPhone as exc:
        problems_found.append(FieldProblem("sender", exc.quoting(payload.sender)))
    if not payload.body.strip():
        problems_found.append(FieldProblem("body", "write the text to send, such as STOP"))
    if problems_found:
        raise InvalidInput(problems_found)
    sent = await found.text_us(sender, settings.sinch_number or OUR_NUMBER, payload.body)
    contact_id = await run_in_threadpool(_contact_id, runtime, sender)
    return SentTextOut(**SimulatedTextOut.of(sent).model_dump(), contact_id=contact_id)


class SignupIn(Input):
    form: Annotated[str, Field(max_length=64, description="The slug of an active sign-up form.")]
    phone: Annotated[
        str, Field(max_length=40, description="The number the person types, as they type it.")
    ]
    fields: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict,
        max_length=20,
        description="The form's other fields (`first_name`, a custom one...), as typed.",
    )


class SignupOut(BaseModel):
    form: str
    phone: str = Field(description="As typed, as it was sent.")
    url: str = Field(description="Where it was posted: this server's public `/join/{slug}`.")
    status_code: int = Field(description="What the form answered: 303, 422, 429...")
    outcome: Literal["submitted", "refused", "limited", "not_found", "unexpected"] = Field(
        description="`submitted` (303: the thank-you page), `refused` (422: a field's error), "
        "`limited` (429: a rate limit or cap), `not_found` (404), or `unexpected`."
    )
    location: str | None = Field(description="Where a 303 sends the browser.")
    retry_after: str | None = Field(description="With a 429: when to try again (seconds).")


@router.post(
    "/signups",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up on a form as a simulated person",
    responses=problems(409),
)
async def sign_up(payload: SignupIn, runtime: RuntimeDep, request: Request) -> SignupOut:
    """Posts `phone` and `fields` to this server's own public `/join/{slug}` over HTTP,
    form-encoded, as a browser on the hosted page would (User-Agent `textcast-simulator (a
    simulated person)`), and says what the form answered. The confirmation text then shows in
    the simulator; reply Y with `POST /api/v1/simulator/texts`. 409 when the simulator is off
    or the server's public URL does not answer."""
    if gateway(request) is None:
        raise Conflict(OFF)
    problems_found = []
    if not payload.phone.strip():
        problems_found.append(FieldProblem("phone", "type the number the person signs up with"))
    if "phone" in payload.fields:
        problems_found.append(FieldProblem("fields.phone", "give the number as `phone`"))
    if await run_in_threadpool(_active_form, runtime, payload.form) is None:
        problems_found.append(
            FieldProblem("form", "no active sign-up form has this slug", payload.form[:64])
        )
    if problems_found:
        raise InvalidInput(problems_found)
    public_url = runtime.settings.public_url
    try:
        answer = await simulated_person.submit_form(
            public_url, payload.form, {"phone": payload.phone, **payload.fields}
        )
    except simulated_person.FormUnreachable as exc:
        raise Conflict(
            f"the sign-up form did not answer: {exc}; is BASE_URL this server?"
        ) from None
    return SignupOut(
        form=payload.form,
        phone=payload.phone,
        url=f"{public_url.rstrip('/')}/join/{payload.form}",
        status_code=answer.status_code,
        outcome=answer.outcome,
        location=answer.location,
        retry_after=answer.retry_after,
    )


def _active_form(runtime: Runtime, slug: str) -> int | None:
    with runtime.database.read() as session:
        form = signup_forms.find_active_form(session, slug)
    return form.id if form is not None else None


def _contact_id(runtime: Runtime, phone: str) -> int | None:
    with runtime.database.read() as session:
        contact = contacts.find_by_phone(session, phone)
    return contact.id if contact is not None else None
