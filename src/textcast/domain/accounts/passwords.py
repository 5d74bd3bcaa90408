"""Password hashing: Argon2id at (above) OWASP's minimum, m = 19 MiB, t = 2, p = 1."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 10
MAX_LENGTH = 256
"""Argon2 takes any length; the cap keeps one login from costing a megabyte of hashing."""

# Verified against when the email is unknown, so that a wrong email costs as long as a
# wrong password and the timing tells nothing about which accounts exist.
_DECOY = HASHER.hash("textcast decoy password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _DECOY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.strip() == "":
        return "must not be blank"
    return None
