"""Domain errors, mapped to HTTP responses in one place (web/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    """Where the problem is, e.g. `recipients[3]` or `body`."""
    message: str
    value: str | None = None


class DomainError(Exception):
    pass


class InvalidInput(DomainError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class NotFound(DomainError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class Conflict(DomainError):
    """The request is valid but impossible in the current state (HTTP 409)."""


class Unauthenticated(DomainError):
    """No credentials, or credentials that identify nobody (HTTP 401)."""


class Forbidden(DomainError):
    """Known caller, not allowed to do this (HTTP 403)."""


class TooManyRequests(DomainError):
    """A rate limit or quota is reached (HTTP 429, with Retry-After)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))
