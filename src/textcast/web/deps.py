"""Request-scoped dependencies as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from textcast.config import Settings
from textcast.db import Database
from textcast.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def read_session(request: Request) -> Iterator[Session]:
    with get_runtime(request).database.read() as session:
        yield session


def get_database(request: Request) -> Database:
    return get_runtime(request).database


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ReadSession = Annotated[Session, Depends(read_session)]
# Writes open their own `database.write()` block so the commit happens before the answer.
DatabaseDep = Annotated[Database, Depends(get_database)]
