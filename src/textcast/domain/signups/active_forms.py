"""The sign-up forms that accept submissions now (not archived), for those who pick one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.models import SignupForm


def active_forms(session: Session) -> list[SignupForm]:
    """By slug."""
    return list(
        session.scalars(
            select(SignupForm).where(SignupForm.archived_at.is_(None)).order_by(SignupForm.slug)
        )
    )


def active_form(session: Session, slug: str) -> SignupForm | None:
    found: SignupForm | None = session.scalars(
        select(SignupForm).where(SignupForm.slug == slug, SignupForm.archived_at.is_(None))
    ).first()
    return found
