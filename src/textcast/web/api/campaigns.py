"""`/api/v1/campaigns`: create, send, progress, messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from textcast.domain import campaigns
from textcast.models import Campaign, MessageStatus
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep, SettingsDep

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


class CampaignIn(BaseModel):
    name: Annotated[str, Field(max_length=campaigns.MAX_NAME_CHARS)]
    body: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)]
    recipients: Annotated[
        list[str], Field(description="Phone numbers, E.164 or national (DEFAULT_REGION).")
    ] = []
    lists: list[int] = Field(default=[], description="Lists whose subscribed contacts get it.")
    segments: list[int] = Field(default=[], description="Segments, evaluated at launch.")
    sender: str | None = Field(
        default=None, description="Sender number or alphanumeric ID; SINCH_NUMBER by default."
    )


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    client_reference: str
    body: str
    sender: str | None
    encoding: str
    parts: int
    recipient_count: int
    created_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            client_reference=campaign.reference,
            body=campaign.body,
            sender=campaign.sender,
            encoding=campaign.encoding,
            parts=campaign.parts,
            recipient_count=campaign.recipient_count,
            created_at=campaign.created_at,
            launched_at=campaign.launched_at,
            completed_at=campaign.completed_at,
        )


class CampaignProgressOut(CampaignOut):
    counts: dict[str, int] = Field(description="Messages per status, live.")
    total: int
    final: int = Field(description="Messages that reached a final status (or were skipped).")


class MessageOut(BaseModel):
    id: int
    phone: str
    status: str
    status_code: int | None
    error: str | None
    parts: int
    batch_id: str | None
    updated_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for older campaigns; null at the end."
    )


@router.get("")
def list_campaigns(
    session: ReadSession,
    cursor: Annotated[
        int | None, Query(ge=1, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CampaignPage:
    rows = campaigns.list_campaigns(session, before_id=cursor, limit=limit)
    return CampaignPage(
        items=[CampaignOut.of(c) for c in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_campaign(
    payload: CampaignIn, database: DatabaseDep, settings: SettingsDep
) -> CampaignOut:
    draft = campaigns.CampaignDraft(
        name=payload.name,
        body=payload.body,
        recipients=payload.recipients,
        sender=payload.sender or settings.sinch_number,
        list_ids=payload.lists,
        segment_ids=payload.segments,
    )
    with database.write() as session:
        campaign = campaigns.create_campaign(session, draft, settings.default_region)
    return CampaignOut.of(campaign)


@router.post("/{campaign_id}/send", status_code=status.HTTP_202_ACCEPTED)
def send_campaign(campaign_id: int, runtime: RuntimeDep) -> CampaignOut:
    with runtime.database.write() as session:
        campaign = campaigns.launch_campaign(session, campaign_id)
    runtime.wake_dispatcher()
    return CampaignOut.of(campaign)


@router.get("/{campaign_id}")
def get_campaign(campaign_id: int, session: ReadSession) -> CampaignProgressOut:
    progress = campaigns.campaign_progress(session, campaign_id)
    return CampaignProgressOut(
        **CampaignOut.of(progress.campaign).model_dump(),
        counts=progress.counts,
        total=progress.total,
        final=progress.final,
    )


@router.get("/{campaign_id}/messages")
def list_messages(
    campaign_id: int,
    session: ReadSession,
    status: MessageStatus | None = None,
    cursor: Annotated[int, Query(ge=0, description="`next_cursor` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MessagePage:
    rows = campaigns.list_messages(
        session, campaign_id, status=status, after_id=cursor, limit=limit
    )
    items = [
        MessageOut(
            id=m.id,
            phone=m.phone,
            status=m.status,
            status_code=m.status_code,
            error=m.error,
            parts=m.parts,
            batch_id=m.batch_id,
            updated_at=m.updated_at,
        )
        for m in rows
    ]
    return MessagePage(items=items, next_cursor=rows[-1].id if len(rows) == limit else None)
