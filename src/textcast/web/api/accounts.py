"""`/api/v1/me`, `/api/v1/users`, `/api/v1/apikeys`, `/api/v1/audit`: accounts and their trail.

`/api/v1/me/...` is what every user does to their own account: a new password, their
sessions, their keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from textcast.domain.accounts import api_keys, audit, passwords, sessions, users
from textcast.domain.accounts.audit import Actor
from textcast.domain.accounts.permissions import Permission, Principal, Scope
from textcast.domain.errors import TooManyRequests
from textcast.models import ApiKey, AuditEntry, Role, User, UserSession
from textcast.services import accounts
from textcast.web.api import path_segments  # noqa: F401 - {session_id:session_id} below
from textcast.web.api.ids import Id, IdIn
from textcast.web.api.inputs import Input, IsoOnly, NoNul
from textcast.web.auth import (
    AccountOwner,
    Administrator,
    KeyManager,
    Reader,
    client_ip,
    guard,
    rate_limits,
)
from textcast.web.deps import DatabaseDep, ReadSession
from textcast.web.errors import problems

router = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[guard(Permission.READ)])


class UserOut(BaseModel):
    id: int
    email: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            disabled=user.disabled_at is not None,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class MeOut(BaseModel):
    id: int
    email: str
    role: Role
    permissions: list[Permission]
    via: str = Field(description="`session` or `api_key`.")
    key_prefix: str | None
    display_time_zone: str | None = Field(
        description="The IANA time zone the dashboard shows your times in, such as "
        "`Europe/Paris`; null: your browser's own."
    )

    @classmethod
    def of(cls, principal: Principal, display_time_zone: str | None) -> MeOut:
        return cls(
            id=principal.user_id,
            email=principal.email,
            role=principal.role,
            permissions=sorted(principal.permissions),
            via="api_key" if principal.key_id is not None else "session",
            key_prefix=principal.key_prefix,
            display_time_zone=display_time_zone,
        )


@router.get("/me")
def me(principal: Reader) -> MeOut:
    return MeOut.of(principal, principal.display_time_zone)


class MeIn(Input):
    model_config = ConfigDict(extra="forbid")

    display_time_zone: Annotated[
        str | None,
        Field(
            max_length=100,
            description="An IANA time zone name, such as `Europe/Paris`, `America/New_York` "
            "or `UTC`, to see the dashboard's times in; null: your browser's own zone.",
        ),
    ]


@router.patch("/me", summary="Change your own preferences")
def change_me(payload: MeIn, database: DatabaseDep, principal: AccountOwner) -> MeOut:
    """Your display time zone: the dashboard shows times in it, with UTC on hover. A name
    that is not an IANA time zone is refused (400, naming `display_time_zone`)."""
    user = accounts.set_display_time_zone(
        database, Actor.of(principal), principal.user_id, payload.display_time_zone
    )
    return MeOut.of(principal, user.display_time_zone)


MAX_PASSWORD_FIELD = 1024
"""What the password fields take at all; the rules (`passwords`) say more, in words."""


class PasswordIn(Input):
    current_password: Annotated[
        str,
        Field(max_length=MAX_PASSWORD_FIELD, description="The password you sign in with now."),
    ] = ""
    new_password: Annotated[
        str,
        Field(
            max_length=MAX_PASSWORD_FIELD,
            description=f"{passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters, "
            "not the current one.",
        ),
    ] = ""


class PasswordChangedOut(BaseModel):
    sessions_ended: int = Field(
        description="Your other sessions this signed out (the one you asked from stays)."
    )


@router.post("/me/password", responses=problems(429))
def change_own_password(
    payload: PasswordIn, request: Request, database: DatabaseDep, principal: AccountOwner
) -> PasswordChangedOut:
    """Set a new password, given the current one. Your other dashboard sessions end; your
    API keys keep working. A wrong current password (400, naming `current_password`) counts
    as a failed sign-in: too many of them are refused (429) for a while."""
    limits = rate_limits(request)
    ip = client_ip(request)
    try:
        limits.admit_sign_in(principal.email, ip)
    except TooManyRequests:
        accounts.record_throttled_sign_in(database, principal.email, ip)
        raise
    ended = accounts.change_own_password(
        database,
        Actor.of(principal),
        principal.user_id,
        payload.current_password,
        payload.new_password,
        keep_session=principal.session_digest,
    )
    limits.sign_in_succeeded(principal.email, ip)
    return PasswordChangedOut(sessions_ended=ended)


class SessionOut(BaseModel):
    id: str = Field(description="Names the session, to end it; it signs nobody in.")
    created_at: datetime = Field(description="When it signed in.")
    expires_at: datetime = Field(description="When it ends by itself (SESSION_HOURS).")
    current: bool = Field(description="The session this request came with.")

    @classmethod
    def of(cls, stored: UserSession, principal: Principal) -> SessionOut:
        return cls(
            id=sessions.public_id(stored.digest),
            created_at=stored.created_at,
            expires_at=stored.expires_at,
            current=stored.digest == principal.session_digest,
        )


@router.get("/me/sessions")
def own_sessions(session: ReadSession, principal: Reader) -> list[SessionOut]:
    """Where you are signed in to the dashboard, newest first. textcast keeps when each
    session began and ends; not the browser or the address."""
    return [SessionOut.of(s, principal) for s in sessions.sessions_of(session, principal.user_id)]


class SessionsEndedOut(BaseModel):
    sessions_ended: int


@router.post("/me/sessions/end-others")
def end_other_sessions(database: DatabaseDep, principal: AccountOwner) -> SessionsEndedOut:
    """Sign out everywhere else: every session of yours but this one (with an API key: all)."""
    ended = accounts.end_other_sessions(
        database, Actor.of(principal), principal.user_id, principal.session_digest
    )
    return SessionsEndedOut(sessions_ended=ended)


@router.delete("/me/sessions/{session_id:session_id}")
def end_session(
    session_id: Annotated[
        str, Path(max_length=sessions.PUBLIC_ID_CHARS, description="`id` of the session.")
    ],
    database: DatabaseDep,
    principal: AccountOwner,
) -> SessionOut:
    """Sign out one session of yours (this one too: then sign in again)."""
    ended = accounts.end_session(database, Actor.of(principal), principal.user_id, session_id)
    return SessionOut.of(ended, principal)


class UserIn(Input):
    email: Annotated[str, Field(max_length=users.MAX_EMAIL_CHARS)]
    password: Annotated[
        str | None,
        Field(
            min_length=passwords.MIN_LENGTH,
            max_length=passwords.MAX_LENGTH,
            description="Leave out to have one generated and returned once.",
        ),
    ] = None
    role: Role = Role.VIEWER


class UserCreatedOut(UserOut):
    password: str | None = Field(description="The generated password, shown this once.")


@router.get("/users")
def list_users(session: ReadSession, _: Administrator) -> list[UserOut]:
    return [UserOut.of(user) for user in users.list_users(session)]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_user(payload: UserIn, database: DatabaseDep, principal: Administrator) -> UserCreatedOut:
    created = accounts.create_user(
        database, Actor.of(principal), payload.email, payload.password, payload.role
    )
    return UserCreatedOut(**UserOut.of(created.user).model_dump(), password=created.password)


class UserPatch(Input):
    role: Role | None = None
    disabled: Annotated[bool | None, Field(strict=True)] = None
    password: Annotated[
        str | None, Field(min_length=passwords.MIN_LENGTH, max_length=passwords.MAX_LENGTH)
    ] = None
    revoke_api_keys: Annotated[
        bool,
        Field(
            strict=True,
            description="Also revoke all the user's API keys (e.g. with a reset after a leak); "
            "they keep working otherwise.",
        ),
    ] = False


class UserUpdatedOut(UserOut):
    api_keys_revoked: int = Field(description="Keys of the user this change revoked.")
    api_keys_active: int = Field(
        description="Keys of the user not revoked: they work whenever the user is enabled."
    )


@router.patch("/users/{user_id}", responses=problems(409))
def update_user(
    user_id: Id, payload: UserPatch, database: DatabaseDep, principal: Administrator
) -> UserUpdatedOut:
    """Change a role, disable (signs the user out everywhere) or set a password (signs them
    out too). API keys keep working unless `revoke_api_keys` is true."""
    change = accounts.change_user(
        database,
        Actor.of(principal),
        user_id,
        role=payload.role,
        disabled=payload.disabled,
        password=payload.password,
        revoke_api_keys=payload.revoke_api_keys,
    )
    return UserUpdatedOut(
        **UserOut.of(change.user).model_dump(),
        api_keys_revoked=change.api_keys_revoked,
        api_keys_active=change.api_keys_active,
    )


class ApiKeyIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=api_keys.MAX_NAME_CHARS)]
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ], min_length=1, max_length=3)
    user_id: IdIn | None = Field(
        default=None, description="Owner (admins only); yourself when left out."
    )


class ApiKeyOut(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            user_id=key.user_id,
            name=key.name,
            prefix=key.prefix,
            scopes=[Scope(s) for s in key.scopes.split()],
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked=key.revoked_at is not None,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once: store it now.")


@router.get("/apikeys")
def list_keys(session: ReadSession, principal: Reader) -> list[ApiKeyOut]:
    """Your keys; an admin sees everybody's."""
    owner = None if principal.can(Permission.ADMIN) else principal.user_id
    return [ApiKeyOut.of(key) for key in api_keys.keys_of(session, owner)]


@router.get("/me/keys")
def own_keys(session: ReadSession, principal: Reader) -> list[ApiKeyOut]:
    """Your own keys, the revoked ones too (an admin's too: everybody's are at `/apikeys`)."""
    return [ApiKeyOut.of(key) for key in api_keys.keys_of(session, principal.user_id)]


@router.post("/apikeys", status_code=status.HTTP_201_CREATED, responses=problems(404))
def create_key(payload: ApiKeyIn, database: DatabaseDep, principal: KeyManager) -> ApiKeyCreatedOut:
    """By a signed-in user, or with a key with the admin scope. A key never grants more than
    its owner's role, nor more than the caller has."""
    created = accounts.create_key(
        database,
        Actor.of(principal),
        payload.user_id or principal.user_id,
        payload.name,
        frozenset(payload.scopes),
        caller=principal,
    )
    return ApiKeyCreatedOut(**ApiKeyOut.of(created.key).model_dump(), key=created.secret)


@router.delete("/apikeys/{key_id}")
def revoke_key(key_id: Id, database: DatabaseDep, principal: KeyManager) -> ApiKeyOut:
    """Revoke one of your keys (an admin: anyone's), signed in or with a key with the admin
    scope. It stops working at once."""
    key = accounts.revoke_key(database, Actor.of(principal), key_id, caller=principal)
    return ApiKeyOut.of(key)


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    actor: str
    action: str
    target: str | None
    detail: dict[str, object]
    ip: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            user_id=entry.user_id,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            detail=entry.detail,
            ip=entry.ip,
        )


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: int | None


@router.get("/audit")
def audit_log(
    session: ReadSession,
    _: Administrator,
    action: Annotated[
        str | None, Query(max_length=40, description="e.g. `login.failure`."), NoNul
    ] = None,
    user_id: Id | None = None,
    since: Annotated[
        datetime | None,
        IsoOnly,
        Query(description="ISO 8601, e.g. `2026-11-27T09:00:00Z`."),
    ] = None,
    cursor: Annotated[Id | None, Query(description="`next_cursor` of the last page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Newest first: sign-ins, keys, users, campaign actions, imports, erasures."""
    rows = audit.entries(
        session, action=action, user_id=user_id, since=since, before_id=cursor, limit=limit
    )
    return AuditPage(
        items=[AuditEntryOut.of(e) for e in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
