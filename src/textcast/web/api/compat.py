"""The tutorial's `POST /api/campaigns/send`, kept working: `{recipients, message}` in, 202 out.

Unlike the tutorial it takes any number of recipients: they become a campaign that the
dispatcher sends in batches of at most 1000.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from textcast.domain import campaigns
from textcast.domain.accounts.audit import Actor
from textcast.domain.errors import FieldProblem, InvalidInput
from textcast.services import campaigns as campaign_services
from textcast.web.api.inputs import Input
from textcast.web.auth import Sender
from textcast.web.deps import RuntimeDep
from textcast.web.errors import problems

router = APIRouter(tags=["tutorial compatibility"])


class TutorialSendIn(Input):
    recipients: list[str]
    message: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)]
    name: str | None = None


class TutorialSendOut(BaseModel):
    campaign_id: int
    client_reference: str
    recipients: int
    status: str


@router.post("/api/campaigns/send", status_code=status.HTTP_202_ACCEPTED, responses=problems(409))
def send(payload: TutorialSendIn, runtime: RuntimeDep, principal: Sender) -> TutorialSendOut:
    draft = campaigns.CampaignDraft(
        name=payload.name or "API send",
        body=payload.message,
        recipients=payload.recipients,
        sender=runtime.settings.sinch_number,
    )
    try:
        campaign = campaign_services.create_and_launch(
            runtime.database,
            Actor.of(principal),
            draft,
            runtime.settings.default_region,
            runtime.policy,
        )
    except InvalidInput as exc:
        # The tutorial calls the text `message`; name the field the caller sent.
        raise InvalidInput(
            [
                FieldProblem("message" if p.field == "body" else p.field, p.message, p.value)
                for p in exc.problems
            ],
            unlisted=exc.unlisted,
        ) from None
    runtime.wake_dispatcher()
    return TutorialSendOut(
        campaign_id=campaign.id,
        client_reference=campaign.reference,
        recipients=campaign.recipient_count,
        status=campaign.status,
    )
