"""/keywords: the words people text to join a list, with their list, their mode and what their
sign-ups became. Editors add, change and remove them through `/api/v1/keywords`
(`static/keywords.js`); viewers read them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from textcast.domain.audience import lists
from textcast.domain.signups import keywords
from textcast.domain.signups.keywords import MAX_TEXT, MAX_WORD, default_texts
from textcast.services.keywords import keyword_settings
from textcast.web.dashboard.shell import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/keywords", response_class=HTMLResponse)
def keywords_page(request: Request, principal: PageUser) -> Response:
    runtime = request.app.state.runtime
    with runtime.database.read() as session:
        found = keywords.list_keywords(session)
        all_lists = [contact_list for contact_list, _ in lists.list_lists(session)]
    in_effect = keyword_settings(runtime.settings)
    return render(
        request,
        "keywords.html",
        principal,
        keywords=found,
        lists=all_lists,
        defaults=default_texts(in_effect),
        confirm_word=in_effect.confirm_word,
        confirmation_hours=runtime.settings.confirmation_hours,
        max_word=MAX_WORD,
        max_text=MAX_TEXT,
    )
