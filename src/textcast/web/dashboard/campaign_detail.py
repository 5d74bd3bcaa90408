"""/campaigns (list: search, filter, sort) and /campaigns/{id} (live progress, why messages
wait, charts, controls, the messages one by one).

The detail page polls `GET /api/v1/campaigns/{id}` for its status and swaps in
`/campaigns/{id}/live` (every figure, the charts and tables, drawn from one reading of the
campaign's figures) when they move (static/campaign.js): its numbers agree at every instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from textcast.domain import campaigns, experiments
from textcast.domain.audience import hygiene
from textcast.domain.campaigns.planning import Policy
from textcast.domain.reporting import analytics, figures, messages, overview
from textcast.models import Campaign, CampaignKind, CampaignStatus, MessageStatus, utcnow
from textcast.runtime import describe_delivery_code
from textcast.vocabulary import SKIP_REASON_WORDS, describe_skip
from textcast.web.api.ids import MAX_ID
from textcast.web.dashboard import charts
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# When each control applies, as `campaigns` rules it; the page's script shows and hides the
# buttons with the same lists as the status changes.
PAUSE_WHEN = campaigns.PAUSABLE
RESUME_WHEN = (CampaignStatus.PAUSED,)
CANCEL_WHEN = (
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
    CampaignStatus.FAILED,
)
CANCEL_WHILE_WITH_SINCH = (CampaignStatus.COMPLETED,)
"""A completed campaign can still be cancelled while Sinch holds some of its messages."""
SETTLED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.FAILED)
"""Nothing more will be sent: the page stops polling once every message is final too."""
SKIP_SAMPLE = 10
"""Recipients listed under each skip reason; the message list, filtered by it, has them all."""
MESSAGES_PAGE = 50


@dataclass(frozen=True, slots=True)
class Count:
    """One figure of the progress (`figures`), with its definition for a tooltip."""

    key: str
    label: str
    value: int
    definition: str


@dataclass(frozen=True, slots=True)
class Control:
    key: str
    label: str
    action: str
    when: Sequence[CampaignStatus]
    while_with_sinch: Sequence[CampaignStatus]
    shown: bool
    confirm: str | None = None
    style: str = "secondary"

    @property
    def when_attribute(self) -> str:
        return " ".join(self.when)

    @property
    def while_with_sinch_attribute(self) -> str:
        return " ".join(self.while_with_sinch)


@dataclass(frozen=True, slots=True)
class SkipGroup:
    reason: str
    words: str
    count: int
    recipients: list[messages.MessageRow]
    """The first `SKIP_SAMPLE` of them; the message list has them all."""


@dataclass(frozen=True, slots=True)
class Live:
    """What `campaign_live.html` shows, all from one reading of the campaign's figures: the
    progress, why messages wait, the analytics, its charts, skip reasons explained."""

    result: analytics.Analytics
    counts: list[Count]
    funnel_chart: Markup
    timeline_chart: Markup
    skipped: list[SkipGroup]

    @property
    def figures(self) -> figures.Figures:
        return self.result.figures

    @property
    def timeline_per(self) -> str:
        """The timeline's bucket in words: `second`, `5 minutes`, `hour`..."""
        return charts.bucket_words(self.result.timeline_bucket_seconds)


@dataclass(frozen=True, slots=True)
class MessageList:
    """The page's list of messages: the filter as chosen, a page of rows, the next page."""

    status: str
    number: str
    reason: str
    rows: list[messages.MessageRow]
    next_link: str | None
    first_link: str | None
    statuses: list[str]
    reasons: dict[str, str]

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.number or self.reason)


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    every_kind: Annotated[bool, Query(alias="all")] = False,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "newest",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    kinds = tuple(CampaignKind) if every_kind else (CampaignKind.MARKETING,)
    # Unknown values fall back to every status and the newest first, as a link typed by hand.
    chosen_status = CampaignStatus(status) if status in set(CampaignStatus) else None
    sort = sort if sort in overview.SORTS else "newest"
    chosen = overview.CampaignQuery(kinds=kinds, search=q, status=chosen_status, sort=sort)
    with runtime.database.read() as session:
        rows = overview.campaign_rows(
            session,
            before_id=before,
            limit=PAGE_SIZE + 1,
            chosen=chosen,
            offset=(page - 1) * PAGE_SIZE,
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    kept = {"all": "true" if every_kind else "", "q": q.strip(), "status": status, "sort": sort}
    return render(
        request,
        "campaigns.html",
        principal,
        rows=rows,
        next_page=_query({**kept, "page": page + 1}) if more else None,
        first_page=_query(kept) if before is not None or page > 1 else None,
        every_kind=every_kind,
        q=q.strip(),
        status=chosen_status.value if chosen_status else "",
        sort=sort,
        filtered=bool(q.strip()) or chosen_status is not None,
        statuses=[s.value for s in CampaignStatus],
        sorts=overview.SORTS,
        kinds_link=_query({**kept, "all": "" if every_kind else "true"}),
    )


def _query(values: Mapping[str, object]) -> str:
    """`?a=1&b=2` of the values that are set, for the list's links."""
    pairs = {k: str(v) for k, v in values.items() if v not in ("", None, "newest", 1)}
    return "/campaigns" + ("?" + urlencode(pairs) if pairs else "")


@router.get("/campaigns/{campaign_id:int}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    campaign_id: int,
    principal: PageUser,
    runtime: RuntimeDep,
    status: Annotated[str, Query(max_length=20)] = "",
    number: Annotated[str, Query(max_length=32)] = "",
    reason: Annotated[str, Query(max_length=40)] = "",
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    pick_error: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    currency = runtime.settings.price_currency
    with runtime.database.read() as session:
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        # A campaign under an A/B test is run by the test: it names it, and has no controls.
        parent = campaigns.get_campaign(session, campaign.parent_id) if campaign.parent_id else None
        ab = experiments.results_of(session, campaign.id, utcnow()) if parent is None else None
        if campaign.status == CampaignStatus.DRAFT:
            audience = overview.draft_audience(session, campaign)
            return render(
                request,
                "campaign.html",
                principal,
                campaign=campaign,
                audience=audience,
                currency=currency,
                editable=campaigns.editable(campaign, utcnow()) and parent is None,
                parent=parent,
                ab=ab,
            )
        live = _live(session, campaign_id, runtime.policy)
        listed = _message_list(session, campaign_id, runtime.policy, status, number, reason, after)
        invalidated = hygiene.invalidated_by(session, campaign_id)
    counted = live.figures
    return render(
        request,
        "campaign.html",
        principal,
        campaign=campaign,
        live=live,
        listed=listed,
        invalidated=invalidated,
        currency=currency,
        controls=_controls(campaign, counted.with_sinch) if parent is None else [],
        editable=campaigns.editable(campaign, utcnow()) and parent is None,
        parent=parent,
        ab=ab,
        pick_error=pick_error,
        settled=" ".join(SETTLED),
        seen=_seen(campaign.status, counted.by_status, ab),
        polling=not (campaign.status in SETTLED and counted.final == counted.messages),
    )


@router.get("/campaigns/{campaign_id:int}/live", response_class=HTMLResponse)
def campaign_live(
    request: Request,
    campaign_id: int,
    principal: PageUser,
    runtime: RuntimeDep,
    status: Annotated[str, Query(max_length=20)] = "",
    number: Annotated[str, Query(max_length=32)] = "",
    reason: Annotated[str, Query(max_length=40)] = "",
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    """The figures, charts and tables of the detail page alone, with its messages filtered as
    the page's address says, for its script to swap in."""
    with runtime.database.read() as session:
        # Raises NotFound (the not-found page) for a campaign that is not there.
        campaign = campaigns.get_campaign(session, page_id(campaign_id, "campaign"))
        live = _live(session, campaign_id, runtime.policy)
        listed = _message_list(session, campaign_id, runtime.policy, status, number, reason, after)
        # Its A/B test's card moves with the figures it sums: read at the same instant.
        ab = experiments.results_of(session, campaign_id, utcnow())
    currency = runtime.settings.price_currency
    return render(
        request,
        "campaign_live.html",
        principal,
        campaign=campaign,
        live=live,
        listed=listed,
        currency=currency,
        ab=ab,
    )


def _seen(status: str, by_status: Mapping[str, int], ab: experiments.AbResults | None) -> str:
    """The state the page is drawn from, as static/campaign.js writes what it polls (an A/B
    test's state and summary after the counts: clicks and replies move it too)."""
    seen = " ".join([status, *(f"{s}:{n}" for s, n in sorted(by_status.items()))])
    return seen if ab is None else f"{seen} {ab.test.state} {ab.summary}"


def _counts(counted: figures.Figures) -> list[Count]:
    def count(key: str, label: str, stage: str, value: int) -> Count:
        return Count(key, label, value, figures.STAGES[stage])

    found = [
        count("waiting", "Waiting to send", "waiting", counted.waiting),
        count("in-flight", "With Sinch", "with_sinch", counted.with_sinch),
        count("delivered", "Delivered", "delivered", counted.delivered),
        count("undelivered", "Not delivered", "not_delivered", counted.not_delivered),
        count("skipped", "Skipped", "skipped", counted.skipped),
    ]
    if counted.refused:
        found.insert(4, count("refused", "Refused by Sinch's API", "refused", counted.refused))
    return found


def _controls(campaign: Campaign, in_flight: int) -> list[Control]:
    status = campaign.status

    def control(
        key: str,
        label: str,
        when: Sequence[CampaignStatus],
        while_with_sinch: Sequence[CampaignStatus] = (),
        **options: str,
    ) -> Control:
        shown = status in when or (status in while_with_sinch and in_flight > 0)
        action = f"POST /api/v1/campaigns/{campaign.id}/{key}"
        return Control(key, label, action, when, while_with_sinch, shown, **options)

    return [
        control("pause", "Pause", PAUSE_WHEN),
        control("resume", "Resume", RESUME_WHEN),
        control(
            "cancel",
            "Cancel campaign",
            CANCEL_WHEN,
            CANCEL_WHILE_WITH_SINCH,
            confirm="Cancel this campaign? Messages not sent yet will never be sent.",
            style="danger",
        ),
    ]


def _live(session: Session, campaign_id: int, policy: Policy) -> Live:
    result = analytics.campaign_analytics(session, campaign_id, describe_delivery_code, policy)
    return Live(
        result=result,
        counts=_counts(result.figures),
        funnel_chart=_funnel_chart(result.figures),
        timeline_chart=_timeline_chart(result.timeline, result.timeline_bucket_seconds),
        skipped=[
            SkipGroup(
                reason,
                describe_skip(reason),
                n,
                messages.message_rows(
                    session,
                    campaign_id,
                    describe_delivery_code,
                    policy.prices,
                    messages.MessageFilter(reason=reason),
                    limit=SKIP_SAMPLE,
                ),
            )
            for reason, n in result.skipped.items()
        ],
    )


def _message_list(
    session: Session,
    campaign_id: int,
    policy: Policy,
    status: str,
    number: str,
    reason: str,
    after: int,
) -> MessageList:
    # Values that are not ours (a link typed by hand) are ignored: the whole list shows.
    chosen_status = MessageStatus(status) if status in set(MessageStatus) else None
    chosen_reason = reason if reason in SKIP_REASON_WORDS else None
    digits = messages.search_digits(number)
    rows = messages.message_rows(
        session,
        campaign_id,
        describe_delivery_code,
        policy.prices,
        messages.MessageFilter(status=chosen_status, reason=chosen_reason, number=digits),
        after_id=after,
        limit=MESSAGES_PAGE + 1,
    )
    kept = {
        "status": chosen_status.value if chosen_status else "",
        "number": number.strip() if digits else "",
        "reason": chosen_reason or "",
    }

    def link(after_id: int) -> str:
        values = {**kept, "after": after_id or ""}
        query = urlencode({k: str(v) for k, v in values.items() if v})
        return f"/campaigns/{campaign_id}" + (f"?{query}" if query else "") + "#messages"

    more = len(rows) > MESSAGES_PAGE
    rows = rows[:MESSAGES_PAGE]
    return MessageList(
        status=kept["status"],
        number=kept["number"],
        reason=kept["reason"],
        rows=rows,
        next_link=link(rows[-1].id) if more else None,
        first_link=link(0) if after else None,
        statuses=[s.value for s in MessageStatus],
        reasons=SKIP_REASON_WORDS,
    )


def _funnel_chart(counted: figures.Figures) -> Markup:
    """Messages split into skipped, waiting, refused and sent; sent into its outcomes."""
    bars = [
        charts.Bar("Messages", counted.messages, charts.INK),
        charts.Bar("Skipped", counted.skipped, charts.AMBER),
        charts.Bar("Waiting to send", counted.waiting, charts.GREY),
        *([charts.Bar("Refused", counted.refused, charts.RED)] if counted.refused else []),
        charts.Bar("Sent", counted.sent, charts.BLUE),
        charts.Bar("With Sinch", counted.with_sinch, charts.PURPLE),
        charts.Bar("Delivered", counted.delivered, charts.GREEN),
        charts.Bar("Not delivered", counted.not_delivered, charts.RED),
    ]
    return charts.bar_chart("funnel-chart", "Delivery funnel", bars, total=counted.messages)


def _timeline_chart(timeline: Sequence[analytics.Bucket], seconds: int) -> Markup:
    points = [(b.at, (b.sent, b.delivered, b.undelivered)) for b in timeline]
    axis = charts.time_buckets(points, 3, seconds)
    sent, delivered, undelivered = axis.totals
    lines = [
        charts.Line("Sent", charts.BLUE, sent),
        charts.Line("Delivered", charts.GREEN, delivered, "7 4"),
        charts.Line("Not delivered", charts.RED, undelivered, "2 3"),
    ]
    if axis.labels:
        summary = (
            f"Messages per {charts.bucket_words(axis.seconds)}, "
            f"{axis.labels[0]} to {axis.labels[-1]} UTC: "
            f"{sum(sent):,} sent, {sum(delivered):,} delivered, "
            f"{sum(undelivered):,} not delivered."
        )
    else:
        summary = "Nothing sent yet."
    return charts.line_chart(
        "timeline-chart",
        "Sent and settled over time",
        axis.labels,
        lines,
        summary=summary,
        x_header="From (UTC)",
    )
