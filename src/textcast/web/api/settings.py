"""`/api/v1/settings`: the configuration in effect (no secrets) and a Sinch connection check."""

from __future__ import annotations

from fastapi import APIRouter

from textcast.domain.permissions import Permission
from textcast.web.auth import guard

router = APIRouter(
    prefix="/api/v1/settings", tags=["settings"], dependencies=[guard(Permission.READ)]
)
