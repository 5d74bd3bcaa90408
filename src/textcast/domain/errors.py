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


MAX_LISTED_PROBLEMS = 100
"""Problems listed in one error at most; the rest are counted. A campaign of 50,000 bad
numbers made a 1.5 MB answer, and nobody reads past the first screen of it."""


class InvalidInput(DomainError):
    """Bad input: the first `MAX_LISTED_PROBLEMS` problems, and how many more were found
    (`unlisted`, plus any beyond the cap in `problems`)."""

    def __init__(self, problems: list[FieldProblem], *, unlisted: int = 0) -> None:
        self.problems = problems[:MAX_LISTED_PROBLEMS]
        self.unlisted = unlisted + len(problems) - len(self.problems)
        listed = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        super().__init__(listed + (f"; and {self.unlisted} more" if self.unlisted else ""))

    @property
    def count(self) -> int:
        return len(self.problems) + self.unlisted


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
