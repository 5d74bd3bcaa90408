"""Opt-outs kept as keyed hashes of the number: checkable forever, unreadable without the key."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from textcast.db import is_among, upserting_insert
from textcast.domain.audience.number_hashes import NumberHasher
from textcast.models import Suppression, utcnow


def phone_hash(secret: bytes, e164: str) -> str:
    return NumberHasher(secret)(e164)


def phone_hashes(secret: bytes, numbers: Iterable[str]) -> dict[str, str]:
    """Number by hash, the key prepared once for all of them (a claimed batch's 1000)."""
    hash_of = NumberHasher(secret)
    return {hash_of(number): number for number in numbers}


def suppress(session: Session, secret: bytes, e164: str, reason: str) -> None:
    session.execute(
        upserting_insert(session, Suppression)
        .values(phone_hash=phone_hash(secret, e164), reason=reason, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["phone_hash"])
    )


def lift(session: Session, secret: bytes, e164: str) -> None:
    """A number that opted back in (START) is no longer suppressed."""
    found = session.get(Suppression, phone_hash(secret, e164))
    if found is not None:
        session.delete(found)


def suppressed_among(session: Session, secret: bytes, numbers: Iterable[str]) -> set[str]:
    """The numbers of `numbers` that are suppressed."""
    by_hash = phone_hashes(secret, numbers)
    if not by_hash:
        return set()
    among = is_among(
        Suppression.phone_hash, list(by_hash), "hashes", session.get_bind().dialect.name
    )
    found = session.scalars(select(Suppression.phone_hash).where(among))
    return {by_hash[h] for h in found}
