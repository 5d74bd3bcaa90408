"""Saved answers agents insert into a reply ("Our hours are 9 to 6, Monday to Saturday.")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.domain.campaigns.drafts import MAX_BODY_CHARS
from textcast.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound
from textcast.models import QuickReply, utcnow

MAX_NAME = 80
MAX_QUICK_REPLIES = 200


def list_quick_replies(session: Session) -> list[QuickReply]:
    return list(session.scalars(select(QuickReply).order_by(QuickReply.name)))


def get_quick_reply(session: Session, quick_reply_id: int) -> QuickReply:
    found = session.get(QuickReply, quick_reply_id)
    if found is None:
        raise NotFound("quick reply", quick_reply_id)
    return found


def save_quick_reply(
    session: Session, name: str, body: str, *, quick_reply_id: int | None = None
) -> QuickReply:
    """Create one (`quick_reply_id` None) or change it."""
    name, body = name.strip(), body.strip()
    problems = []
    if not name:
        problems.append(FieldProblem("name", "give it a name agents will recognise"))
    elif len(name) > MAX_NAME:
        problems.append(FieldProblem("name", f"at most {MAX_NAME} characters"))
    if not body:
        problems.append(FieldProblem("body", "write the text it inserts"))
    elif len(body) > MAX_BODY_CHARS:
        problems.append(FieldProblem("body", f"at most {MAX_BODY_CHARS} characters"))
    if problems:
        raise InvalidInput(problems)
    same_name = session.scalars(select(QuickReply).where(QuickReply.name == name)).first()
    if same_name is not None and same_name.id != quick_reply_id:
        raise InvalidInput([FieldProblem("name", f"a quick reply is already named {name!r}")])
    if quick_reply_id is None:
        count = len(list_quick_replies(session))
        if count >= MAX_QUICK_REPLIES:
            raise Conflict(f"{count} quick replies is the most kept; delete one first")
        quick_reply = QuickReply(name=name, body=body)
        session.add(quick_reply)
    else:
        quick_reply = get_quick_reply(session, quick_reply_id)
        quick_reply.name, quick_reply.body = name, body
        quick_reply.updated_at = utcnow()
    session.flush()
    return quick_reply


def delete_quick_reply(session: Session, quick_reply_id: int) -> None:
    session.delete(get_quick_reply(session, quick_reply_id))
