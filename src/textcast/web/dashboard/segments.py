"""/segments/new, a segment's page (its rules in words, its size, its contacts a page at a
time) and /segments/{id}/edit: the point-and-click rule builder.

The builder (static/segments.js) is given the lists, the countries and the attribute names the
audience has; it counts as the rules change through `POST /api/v1/segment-previews` and saves
through `POST` / `PATCH /api/v1/segments`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from textcast.domain.audience import lists, segments
from textcast.domain.audience.segment_words import describe
from textcast.domain.phones.countries import countries
from textcast.models import Segment
from textcast.web.api.ids import parse_id
from textcast.web.dashboard.shell import PageUser, page_id, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STARTING_RULES = {
    "match": "all",
    "conditions": [{"field": "status", "op": "eq", "value": "subscribed"}],
}
"""What a new segment starts from: the contacts that can be texted."""


@router.get("/segments/new", response_class=HTMLResponse)
def new_segment(request: Request, principal: PageUser) -> Response:
    with request.app.state.runtime.database.read() as session:
        return render(
            request, "segment_builder.html", principal, segment=None, **_builder(session, None)
        )


@router.get("/segments/{segment_id:int}/edit", response_class=HTMLResponse)
def edit_segment(request: Request, principal: PageUser, segment_id: int) -> Response:
    with request.app.state.runtime.database.read() as session:
        segment = segments.get_segment(session, page_id(segment_id, "segment"))
        return render(
            request,
            "segment_builder.html",
            principal,
            segment=segment,
            **_builder(session, segment),
        )


@router.get("/segments/{segment_id:int}", response_class=HTMLResponse)
def segment_page(
    request: Request, principal: PageUser, segment_id: int, cursor: str = ""
) -> Response:
    after = parse_id(cursor) or 0
    with request.app.state.runtime.database.read() as session:
        segment = segments.get_segment(session, page_id(segment_id, "segment"))
        problems = segments.check_rules(session, segment.rules)
        members = []
        sizes = (0, 0)
        words = None
        if not problems:
            words = describe(session, segment.rules)
            sizes = segments.segment_size(session, segment.id)
            members = segments.members(session, segment.id, after_id=after, limit=PAGE_SIZE + 1)
        users = segments.campaigns_using(session, segment.id)
    path = f"/segments/{segment.id}"
    return render(
        request,
        "segment.html",
        principal,
        segment=segment,
        words=words,
        problems=problems,
        rules=segments.shown_rules(segment),
        contacts=sizes[0],
        subscribed=sizes[1],
        members=members[:PAGE_SIZE],
        drafts=users,
        first_url=path if after else None,
        next_url=f"{path}?cursor={members[PAGE_SIZE - 1].id}" if len(members) > PAGE_SIZE else None,
    )


def _builder(session: Session, segment: Segment | None) -> dict[str, Any]:
    """What the builder needs: the rules to start from and the choices it offers."""
    rules = STARTING_RULES if segment is None else segments.shown_rules(segment)
    return {
        "rules": rules,
        "choices": {
            "lists": [
                {"id": found.id, "name": found.name} for found, _ in lists.list_lists(session)
            ],
            "countries": [{"code": code, "name": name} for code, name in countries()],
            "attributes": segments.attribute_keys(session),
            "max_depth": segments.MAX_DEPTH,
        },
    }
