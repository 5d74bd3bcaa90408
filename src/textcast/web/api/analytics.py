"""`/api/v1/campaigns/{id}/analytics` and `/export.csv`: what became of a campaign."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain import campaigns
from textcast.domain.accounts.permissions import Permission
from textcast.domain.reporting import analytics, exports, figures
from textcast.runtime import describe_delivery_code
from textcast.web.api.ids import Id
from textcast.web.auth import guard
from textcast.web.deps import DatabaseDep, ReadSession, RuntimeDep

router = APIRouter(
    prefix="/api/v1/campaigns", tags=["analytics"], dependencies=[guard(Permission.READ)]
)


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FunnelOut(_FromDomain):
    total: int = Field(description=figures.STAGES["messages"])
    queued: int = Field(description="Waiting: " + figures.STAGES["waiting"])
    in_flight: int = Field(description="With Sinch: " + figures.STAGES["with_sinch"])
    sent: int = Field(description=figures.STAGES["sent"])
    delivered: int
    failed: int = Field(description="Status `failed`, refused ones included.")
    refused: int = Field(
        description="Of `failed`: refused by Sinch's API at submission, so never sent."
    )
    expired: int
    rejected: int
    aborted: int
    cancelled: int = Field(description="Cancelled at Sinch (code 407).")
    deleted: int
    unknown: int
    skipped: int = Field(description="Never sent: see `skipped` for the reasons.")
    by_status: dict[str, int] = Field(description="Messages per status, as stored.")


class FailureOut(_FromDomain):
    status: str = Field(description="failed, expired, rejected, aborted, cancelled, deleted...")
    code: int | None = Field(
        description="Sinch's delivery code; null when the batch was refused at submission."
    )
    name: str = Field(description="The code's name in Sinch's table, e.g. `Message unroutable`.")
    description: str
    messages: int


class RepliesOut(_FromDomain):
    opt_outs: int = Field(description="STOP and the other opt-out keywords.")
    keywords: dict[str, int] = Field(description="Other keywords (`opt_in`, `help`).")
    replies: int = Field(description="Messages that were not a keyword.")


class CostOut(_FromDomain):
    estimated: float | None = Field(description="Estimate at launch, in the price currency.")
    budget: float | None
    spent: float = Field(description=figures.STAGES["spent"])
    parts_planned: int = Field(description=figures.STAGES["parts_planned"])
    parts_sent: int = Field(description=figures.STAGES["parts_sent"])
    committed: float = Field(
        description="The budget ledger: what was reserved for messages on their way to Sinch "
        "(before its answer); a budget pauses the campaign against it. Also `spent` in the "
        "campaign itself."
    )


class BucketOut(_FromDomain):
    at: datetime = Field(
        description="Start of the bucket, UTC; it lasts `timeline_bucket_seconds`."
    )
    sent: int = Field(description="Messages Sinch accepted in this bucket.")
    delivered: int = Field(description="Messages delivered in this bucket (operator's time).")
    undelivered: int = Field(
        description="Messages that reached another final outcome in this bucket."
    )


class ClicksOut(_FromDomain):
    links: int = Field(description="Short links made (one per URL per recipient).")
    clicked_links: int = Field(description="Short links clicked at least once.")
    clicks: int = Field(
        description="Unique clicks: a client (address and browser) counts once per hour per link."
    )
    requests: int = Field(description="Every request of the links, reloads and repeats included.")


class WaitOut(_FromDomain):
    reason: str = Field(
        description="quiet_hours, local_send_time, scheduled, paused, budget, queue, "
        "handing_over or with_sinch."
    )
    messages: int
    text: str = Field(description="The reason in a sentence, as the dashboard shows it.")
    until: datetime | None = Field(
        description="When they should move on (UTC): the window's opening, the start, the "
        "queue's estimated end."
    )
    local_time: str | None = Field(description="`until` in the recipients' time zone, HH:MM.")
    time_zone: str | None


class VariantOut(_FromDomain):
    label: str = Field(description="`A`..`E`, or `rest` for the rest of the audience.")
    campaign_id: int = Field(description="The campaign under the test that sends this part.")
    sends: str | None = Field(
        description="The variant it sends: its own label; for the rest, the winner's (null "
        "before the decision)."
    )
    status: str = Field(description="That campaign's status (the rest is a draft until then).")
    recipients: int
    sent: int = Field(description=figures.STAGES["sent"])
    delivered: int
    delivery_rate: float | None = Field(
        description="Delivered / messages with a final outcome; null before the first."
    )
    clicks: int = Field(description="Unique clicks on its short links.")
    click_rate: float | None = Field(description="Unique clicks / sent; null before a send.")
    replies: int = Field(description="Replies that were not a keyword.")
    reply_rate: float | None = Field(description="Replies / sent; null before a send.")
    opt_outs: int


class AnalyticsOut(BaseModel):
    campaign_id: int
    name: str
    status: str
    status_reason: str | None = Field(description="Why it is paused, cancelled or failed.")
    funnel: FunnelOut
    failures: list[FailureOut] = Field(
        description="Undelivered messages by status and Sinch code, most frequent first."
    )
    skipped: dict[str, int] = Field(
        description="Skipped messages by reason: opted_out, quiet_hours_expired, budget..."
    )
    waiting: list[WaitOut] = Field(
        description="Why the messages not final yet wait: grouped by reason, in sentences."
    )
    delivery_rate: float | None = Field(
        description="Delivered / messages with a final outcome (skipped excluded); "
        "null before the first outcome."
    )
    replies: RepliesOut = Field(
        description="Inbound messages attributed to the campaign (within 72 hours of it)."
    )
    cost: CostOut
    timeline: list[BucketOut] = Field(
        description="Per bucket of `timeline_bucket_seconds` with activity, in order; quiet "
        "buckets are left out."
    )
    timeline_bucket_seconds: int = Field(
        description="How long each bucket of `timeline` lasts, chosen from how long the "
        "campaign's activity lasted (about 60 buckets at most): 1 second for a send of under a "
        "minute, then 2, 5, 10, 15 or 30 seconds, 60 (a minute) for under an hour, then 2, 5, "
        "10, 15 or 30 minutes, 1, 2, 3, 6 or 12 hours, and 86400 (a day) from 30 days. Buckets "
        "start at round times counted from midnight UTC."
    )
    clicks: ClicksOut
    export_url: str = Field(description="Every message as CSV.")
    variants: list[VariantOut] | None = Field(
        default=None,
        description="An A/B test's campaign, once sent: each variant's share of the test pool "
        "and the rest of the audience side by side, which add up to the figures above (the "
        "campaign's are its parts'); null for an ordinary campaign.",
    )

    @classmethod
    def of(cls, result: analytics.Analytics) -> AnalyticsOut:
        campaign = result.campaign
        return cls(
            campaign_id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            status_reason=campaign.status_reason,
            funnel=FunnelOut.model_validate(result.funnel),
            failures=[FailureOut.model_validate(f) for f in result.failures],
            skipped=result.skipped,
            waiting=[WaitOut.model_validate(w) for w in result.waiting],
            delivery_rate=result.delivery_rate,
            replies=RepliesOut.model_validate(result.replies),
            cost=CostOut.model_validate(result.cost),
            timeline=[BucketOut.model_validate(b) for b in result.timeline],
            timeline_bucket_seconds=result.timeline_bucket_seconds,
            clicks=ClicksOut.model_validate(result.clicks),
            export_url=f"{router.prefix}/{campaign.id}/export.csv",
            variants=None
            if result.variants is None
            else [VariantOut.model_validate(v) for v in result.variants],
        )


@router.get("/{campaign_id}/analytics")
def campaign_analytics(campaign_id: Id, session: ReadSession, runtime: RuntimeDep) -> AnalyticsOut:
    """The funnel (see `funnel` and `cost` for the definitions), why messages wait, failures
    by code, skips by reason, replies, clicks and the timeline."""
    return AnalyticsOut.of(
        analytics.campaign_analytics(session, campaign_id, describe_delivery_code, runtime.policy)
    )


@router.get(
    "/{campaign_id}/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "One row per message: "
            + ",".join(exports.EXPORT_COLUMNS)
            + ". `variant`: the A/B test variant (A..E, or rest), empty outside a test.",
        }
    },
)
def export_messages(campaign_id: Id, database: DatabaseDep) -> StreamingResponse:
    """Every message with its status, Sinch code and meaning, and why it failed or was skipped;
    an A/B test's campaign's are its variants' and its rest's, each marked with its variant."""
    # A short session of its own: the export's pages each read in a fresh one, and nothing
    # should hold a snapshot for as long as the download lasts.
    with database.read() as session:
        campaigns.get_campaign(session, campaign_id)
    disposition = f'attachment; filename="campaign-{campaign_id}-messages.csv"'
    return StreamingResponse(
        exports.messages_csv(database, campaign_id, describe_delivery_code),
        media_type="text/csv",
        headers={"content-disposition": disposition},
    )
