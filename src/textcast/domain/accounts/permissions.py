"""Who may do what: roles for people, scopes for API keys, and the principal of a request.

A request's permissions are its user's role's, narrowed by the key's scopes when it came
with an API key: a key never grants more than its owner has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from textcast.models import Role


class Permission(StrEnum):
    READ = "read"
    """See campaigns, contacts, reports."""
    WRITE = "write"
    """Create and change campaigns, contacts, lists, imports."""
    SEND = "send"
    """Launch, test-send, pause, resume, cancel."""
    ADMIN = "admin"
    """Users, everybody's API keys, the audit log."""


class Scope(StrEnum):
    READ = "read"
    SEND = "send"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.EDITOR: frozenset({Permission.READ, Permission.WRITE, Permission.SEND}),
    Role.ADMIN: frozenset(Permission),
}

SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.READ: frozenset({Permission.READ}),
    Scope.SEND: frozenset({Permission.READ, Permission.WRITE, Permission.SEND}),
    Scope.ADMIN: frozenset(Permission),
}


def scope_permissions(scopes: frozenset[Scope]) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for scope in scopes:
        granted |= SCOPE_PERMISSIONS[scope]
    return granted


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    email: str
    role: Role
    permissions: frozenset[Permission]
    key_id: int | None = None
    key_prefix: str | None = None
    session_digest: str | None = None
    csrf_token: str | None = None
    ip: str | None = None
    display_time_zone: str | None = None
    """The zone the user chose to see times in (None: their browser's)."""

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"{self.email} (key {self.key_prefix})" if self.key_prefix else self.email

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def manages_keys(self) -> bool:
        """Creating and revoking API keys takes a signed-in session or a key with the admin
        scope: a leaked lesser key must not mint its own replacement or revoke stronger ones."""
        return self.key_id is None or self.can(Permission.ADMIN)
