"""/inbox/{id}: one conversation, every text both ways, newest first, and what agents do in
it: answer (with the editor's live counter and the quick replies), close or reopen, mark
unread, assign, keep a note, and save an unknown sender as a contact. /inbox/{id}/updates is
what the page polls (static/conversations.js) for new texts and delivery statuses.
/inbox/quick-replies: the saved answers.

Like the flow builder, these pages change things through plain HTML forms posted here with the
session's CSRF token in a field, so answering works without the script; each post calls one
use case of `services.conversations` (or `services.audience`), and a refused one shows the
page again with the reason next to the form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from textcast.domain.accounts import users
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal
from textcast.domain.audience.contacts import ContactDraft
from textcast.domain.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    TooManyRequests,
)
from textcast.domain.inbox import agent_replies, quick_replies, threads
from textcast.domain.inbox.threads import ThreadItem
from textcast.models import ConversationState
from textcast.runtime import Runtime
from textcast.services import audience
from textcast.services import conversations as cases
from textcast.vocabulary import CampaignKind, MessageStatus, describe_skip
from textcast.web.api.inbox import TEXTED_FIRST
from textcast.web.auth import check_csrf, client_ip
from textcast.web.dashboard.campaign_editor import counting_tables
from textcast.web.dashboard.shell import PageUser, page_id, render, render_fragment
from textcast.web.deps import RuntimeDep

router = APIRouter(include_in_schema=False)

MAX_FIELD_CHARS = 300
MAX_TEXT_CHARS = 5000
Csrf = Annotated[str, Form(max_length=MAX_FIELD_CHARS)]
Field = Annotated[str | None, Form(max_length=MAX_FIELD_CHARS)]
Text = Annotated[str, Form(max_length=MAX_TEXT_CHARS)]

KIND_WORDS: dict[str, str] = {
    CampaignKind.MARKETING: "Campaign",
    CampaignKind.REPLY: "Keyword reply",
    CampaignKind.TEST: "Test send",
    CampaignKind.CONFIRMATION: "Sign-up confirmation",
    CampaignKind.WELCOME: "Welcome text",
    CampaignKind.FLOW: "Flow",
    CampaignKind.CONVERSATION: "Agent reply",
}
DONE_WORDS = {
    "sent": "Answer queued: its delivery status shows below as it changes.",
    "closed": "Conversation closed. It opens again when they text.",
    "open": "Conversation reopened.",
    "assigned": "Assignee saved.",
    "note": "Note saved.",
    "contact": "Saved as a contact.",
}
QUICK_REPLY_DONE = {
    "added": "Quick reply added.",
    "saved": "Quick reply saved.",
    "deleted": "Quick reply deleted.",
}


# -- wording ------------------------------------------------------------------------------


def item_label(item: ThreadItem) -> str:
    """What an outgoing text was: "Agent reply by ana@example.com", "Flow: Welcome"..."""
    kind = item.kind or CampaignKind.MARKETING
    words = KIND_WORDS.get(kind, str(kind).replace("_", " ").capitalize())
    if kind == CampaignKind.CONVERSATION:
        return f"{words} by {item.author}" if item.author else f"{words} (a removed user)"
    if kind in (CampaignKind.MARKETING, CampaignKind.FLOW) and item.campaign_name:
        return f"{words}: {item.campaign_name}"
    return words


def status_detail(item: ThreadItem) -> str | None:
    """Why an outgoing text failed or was skipped, in words."""
    if not item.detail:
        return None
    if item.status == MessageStatus.SKIPPED:
        return describe_skip(item.detail)
    return item.detail


def thread_version(items: list[ThreadItem], refusal: str | None) -> str:
    """Changes whenever the thread's texts, their statuses or the refusal would."""
    parts = [f"{i.direction}{i.message_id or i.inbound_id}:{i.status}" for i in items]
    parts.append(refusal or "")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# -- the thread ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    """An action the page refused, shown next to its form."""

    form: str
    """`reply`, `change` or `contact`."""
    message: str
    problems: list[FieldProblem]
    typed: dict[str, str]


@router.get("/inbox/{conversation_id:int}", response_class=HTMLResponse)
def conversation_page(
    request: Request, principal: PageUser, runtime: RuntimeDep, conversation_id: int, done: str = ""
) -> Response:
    return _thread_page(request, principal, runtime, conversation_id, done=done)


def _thread_page(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    conversation_id: int,
    *,
    done: str = "",
    refused: Refused | None = None,
    status_code: int = 200,
) -> Response:
    thread = cases.read_thread(runtime.database, page_id(conversation_id, "conversation"))
    with runtime.database.read() as session:
        refusal = agent_replies.reply_refusal(session, thread.conversation, runtime.secret)
        saved_answers = quick_replies.list_quick_replies(session)
        assignees = [u for u in users.list_users(session) if u.disabled_at is None]
    sender_text = next((i.inbound_id for i in thread.items if i.inbound_id), None)
    return render(
        request,
        "conversation.html",
        principal,
        status_code,
        thread=thread,
        conversation=thread.conversation,
        contact=thread.contact,
        refusal=refusal,
        quick_replies=saved_answers,
        assignees=assignees,
        sender_text=sender_text if thread.contact is None else None,
        texted_first=TEXTED_FIRST,
        counting=counting_tables(),
        done=DONE_WORDS.get(done),
        refused=refused,
        items=thread.items,
        poll_version=thread_version(thread.items, refusal),
        **_thread_words(),
    )


def _thread_words() -> dict[str, Any]:
    return {"item_label": item_label, "status_detail": status_detail}


@router.get("/inbox/{conversation_id:int}/updates")
def conversation_updates(
    principal: PageUser,
    runtime: RuntimeDep,
    conversation_id: int,
    version: str = "",
    seen: str = "",
) -> JSONResponse:
    """What the thread page polls: the unread badge, the refusal (a STOP just arrived), and
    the thread again when a text came or a status changed. `seen=1` (the page is in view)
    marks what arrived as read."""
    conversation_id = page_id(conversation_id, "conversation")
    with runtime.database.read() as session:
        conversation = threads.get_conversation(session, conversation_id)
        unread_here = conversation.unread
        items = threads.list_thread(session, conversation)
        refusal = agent_replies.reply_refusal(session, conversation, runtime.secret)
    if unread_here and seen == "1":
        # Written only when something is unread: an idle page's polls stay reads.
        cases.update_conversation(
            runtime.database,
            _actor_of(principal),
            conversation_id,
            cases.ConversationChange(unread=False),
        )
    with runtime.database.read() as session:
        unread = threads.unread_conversations(session)
    current = thread_version(items, refusal)
    answer: dict[str, Any] = {"version": current, "unread": unread, "refusal": refusal}
    if current != version:
        answer["html"] = render_fragment(
            "thread_items.html", principal, items=items, **_thread_words()
        )
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/inbox/{conversation_id:int}/reply", response_class=HTMLResponse)
def reply(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    conversation_id: int,
    csrf_token: Csrf = "",
    body: Text = "",
) -> Response:
    _allowed(principal, csrf_token, Permission.SEND)
    conversation_id = page_id(conversation_id, "conversation")
    try:
        cases.reply(
            runtime.database,
            _actor(request, principal),
            conversation_id,
            body,
            runtime.agent_reply_policy,
        )
    except (InvalidInput, Conflict, TooManyRequests) as refused:
        return _refused(request, principal, runtime, conversation_id, "reply", refused, body=body)
    runtime.wake_dispatcher()
    return RedirectResponse(f"/inbox/{conversation_id}?done=sent", status_code=303)


@router.post("/inbox/{conversation_id:int}/change", response_class=HTMLResponse)
def change(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    conversation_id: int,
    csrf_token: Csrf = "",
    state: Field = None,
    assignee_id: Field = None,
    unread: Field = None,
    note: Annotated[str | None, Form(max_length=MAX_TEXT_CHARS)] = None,
) -> Response:
    """One of the page's small forms: close/reopen, mark unread, the assignee, the note.
    A field not sent is left as it is."""
    _allowed(principal, csrf_token, Permission.WRITE)
    conversation_id = page_id(conversation_id, "conversation")
    try:
        change = cases.ConversationChange(
            state=_state(state),
            assignee_id=_assignee(assignee_id),
            note=note,
            unread=True if unread == "1" else None,
        )
        cases.update_conversation(
            runtime.database, _actor(request, principal), conversation_id, change
        )
    except (InvalidInput, Conflict) as refused:
        typed = {"note": note} if note is not None else {}
        return _refused(request, principal, runtime, conversation_id, "change", refused, **typed)
    if unread == "1":
        # Back to the list: opening the thread again would mark it read at once.
        return RedirectResponse("/inbox", status_code=303)
    done = state or ("assigned" if assignee_id is not None else "note")
    return RedirectResponse(f"/inbox/{conversation_id}?done={done}", status_code=303)


@router.post("/inbox/{conversation_id:int}/contact", response_class=HTMLResponse)
def save_sender(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    conversation_id: int,
    csrf_token: Csrf = "",
    inbound_id: Annotated[int, Form()] = 0,
    first_name: Field = None,
    last_name: Field = None,
    consent_evidence: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the thread's unknown sender as a contact, with how they agreed to texts."""
    _allowed(principal, csrf_token, Permission.WRITE)
    conversation_id = page_id(conversation_id, "conversation")
    typed = {
        "first_name": first_name or "",
        "last_name": last_name or "",
        "consent_evidence": consent_evidence,
    }
    try:
        if not consent_evidence.strip():
            raise InvalidInput(
                [FieldProblem("consent_evidence", "say how this person agreed to get texts")]
            )
        audience.save_sender(
            runtime.database,
            runtime.secret,
            page_id(inbound_id, "text received"),
            ContactDraft(
                phone="",
                first_name=(first_name or "").strip() or None,
                last_name=(last_name or "").strip() or None,
                consent_evidence=consent_evidence.strip(),
            ),
            default_region=runtime.settings.default_region,
        )
    except (InvalidInput, Conflict) as refused:
        return _refused(request, principal, runtime, conversation_id, "contact", refused, **typed)
    return RedirectResponse(f"/inbox/{conversation_id}?done=contact", status_code=303)


def _refused(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    conversation_id: int,
    form: str,
    refused: InvalidInput | Conflict | TooManyRequests,
    **typed: str,
) -> Response:
    problems = refused.problems if isinstance(refused, InvalidInput) else []
    message = "; ".join(p.message for p in problems) if problems else str(refused)
    status_code = 422 if isinstance(refused, InvalidInput) else 409
    if isinstance(refused, TooManyRequests):
        status_code = 429
    return _thread_page(
        request,
        principal,
        runtime,
        conversation_id,
        refused=Refused(form, message, problems, typed),
        status_code=status_code,
    )


def _state(value: str | None) -> ConversationState | None:
    if value is None:
        return None
    try:
        return ConversationState(value)
    except ValueError:
        raise InvalidInput([FieldProblem("state", "open or closed", value)]) from None


def _assignee(value: str | None) -> int | None:
    """The select's value: a user's id, or 0 for nobody."""
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput([FieldProblem("assignee_id", "choose a user from the list", value)])
    return int(value)


# -- quick replies ------------------------------------------------------------------------


@router.get("/inbox/quick-replies", response_class=HTMLResponse)
def quick_replies_page(
    request: Request, principal: PageUser, runtime: RuntimeDep, done: str = ""
) -> Response:
    return _quick_replies_page(request, principal, runtime, done=done)


def _quick_replies_page(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    *,
    done: str = "",
    refused: Refused | None = None,
    editing: int | None = None,
    status_code: int = 200,
) -> Response:
    with runtime.database.read() as session:
        saved = quick_replies.list_quick_replies(session)
    return render(
        request,
        "quick_replies.html",
        principal,
        status_code,
        quick_replies=saved,
        done=QUICK_REPLY_DONE.get(done),
        refused=refused,
        editing=editing,
    )


@router.post("/inbox/quick-replies", response_class=HTMLResponse)
def add_quick_reply(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    csrf_token: Csrf = "",
    name: Field = "",
    body: Text = "",
) -> Response:
    return _save_quick_reply(request, principal, runtime, csrf_token, None, name or "", body)


@router.post("/inbox/quick-replies/{quick_reply_id:int}", response_class=HTMLResponse)
def edit_quick_reply(
    request: Request,
    principal: PageUser,
    runtime: RuntimeDep,
    quick_reply_id: int,
    csrf_token: Csrf = "",
    name: Field = "",
    body: Text = "",
) -> Response:
    quick_reply_id = page_id(quick_reply_id, "quick reply")
    return _save_quick_reply(
        request, principal, runtime, csrf_token, quick_reply_id, name or "", body
    )


def _save_quick_reply(
    request: Request,
    principal: Principal,
    runtime: Runtime,
    csrf_token: str,
    quick_reply_id: int | None,
    name: str,
    body: str,
) -> Response:
    _allowed(principal, csrf_token, Permission.WRITE)
    try:
        cases.save_quick_reply(runtime.database, name, body, quick_reply_id=quick_reply_id)
    except (InvalidInput, Conflict) as refused:
        problems = refused.problems if isinstance(refused, InvalidInput) else []
        form = "add" if quick_reply_id is None else f"edit-{quick_reply_id}"
        return _quick_replies_page(
            request,
            principal,
            runtime,
            refused=Refused(form, str(refused), problems, {"name": name, "body": body}),
            editing=quick_reply_id,
            status_code=422 if problems else 409,
        )
    done = "added" if quick_reply_id is None else "saved"
    return RedirectResponse(f"/inbox/quick-replies?done={done}", status_code=303)


@router.post("/inbox/quick-replies/{quick_reply_id:int}/delete", response_class=HTMLResponse)
def delete_quick_reply(
    principal: PageUser, runtime: RuntimeDep, quick_reply_id: int, csrf_token: Csrf = ""
) -> Response:
    _allowed(principal, csrf_token, Permission.WRITE)
    cases.delete_quick_reply(runtime.database, page_id(quick_reply_id, "quick reply"))
    return RedirectResponse("/inbox/quick-replies?done=deleted", status_code=303)


# -- plumbing ------------------------------------------------------------------------------


def _allowed(principal: Principal, csrf_token: str, permission: Permission) -> None:
    check_csrf(principal, csrf_token, "the csrf_token field")
    if not principal.can(permission):
        raise Forbidden(f"this needs the {permission.value} permission")


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.actor, principal.user_id, client_ip(request))


def _actor_of(principal: Principal) -> Actor:
    return Actor(principal.actor, principal.user_id, None)
