"""/webhooks: the endpoints that receive the event stream, for admins (a subscription receives
every phone number its events carry). The list with each one's status and last delivery and
the form that subscribes a new one (its secret shown once); a subscription's page with its
delivery log, filters, a test event, replays, enable/disable, a new secret and deletion.

Every change goes through `/api/v1/webhooks` with the session's CSRF token
(`static/webhooks.js`); others than admins are told the page is not for them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain import stream
from textcast.domain.accounts.permissions import Permission
from textcast.domain.webhooks import logs, subscriptions
from textcast.domain.webhooks.replays import MAX_REPLAY
from textcast.domain.webhooks.subscriptions import MAX_DESCRIPTION, MAX_SUBSCRIPTIONS, SUBSCRIBABLE
from textcast.models import DeliveryStatus
from textcast.web.api.ids import parse_id
from textcast.web.dashboard.shell import PageUser, page_id, render
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CATALOGUE = [(str(t), stream.CATALOGUE[t].summary) for t in SUBSCRIBABLE]


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, principal: PageUser, runtime: RuntimeDep) -> Response:
    if not principal.can(Permission.ADMIN):
        return render(request, "webhooks.html", principal, 403, allowed=False)
    with runtime.database.read() as session:
        found = subscriptions.list_subscriptions(session)
        last = logs.last_deliveries(session)
    return render(
        request,
        "webhooks.html",
        principal,
        allowed=True,
        subscriptions=found,
        last=last,
        catalogue=CATALOGUE,
        max_subscriptions=MAX_SUBSCRIPTIONS,
        max_description=MAX_DESCRIPTION,
        allow_private=runtime.settings.webhook_allow_private,
    )


@router.get("/webhooks/{subscription_id:int}", response_class=HTMLResponse)
def webhook_page(
    request: Request,
    subscription_id: int,
    principal: PageUser,
    runtime: RuntimeDep,
    status: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query()] = None,
) -> Response:
    if not principal.can(Permission.ADMIN):
        return render(request, "webhooks.html", principal, 403, allowed=False)
    subscription_id = page_id(subscription_id, "webhook subscription")
    shown = status if status in set(DeliveryStatus) else None
    before_id = parse_id(before) if before else None
    with runtime.database.read() as session:
        subscription = subscriptions.get_subscription(session, subscription_id)
        rows = logs.list_deliveries(
            session,
            subscription_id,
            status=DeliveryStatus(shown) if shown else None,
            before_id=before_id,
            limit=PAGE_SIZE,
        )
        counts = logs.status_counts(session, subscription_id)
        attempts = logs.attempts_of(session, [r.delivery.id for r in rows])
    return render(
        request,
        "webhook.html",
        principal,
        allowed=True,
        subscription=subscription,
        deliveries=rows,
        attempts=attempts,
        counts=counts,
        total=sum(counts.values()),
        shown_status=shown,
        older=rows[-1].delivery.id if len(rows) == PAGE_SIZE else None,
        paged=before_id is not None,
        catalogue=CATALOGUE,
        wanted=set(subscriptions.wanted_types(subscription)),
        all_types="*" in subscription.event_types,
        max_description=MAX_DESCRIPTION,
        max_replay=MAX_REPLAY,
    )
