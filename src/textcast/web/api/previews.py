"""`/api/v1/previews`: a campaign text as one contact would receive it, before saving."""

from __future__ import annotations

from fastapi import APIRouter

from textcast.domain.permissions import Permission
from textcast.web.auth import guard

router = APIRouter(
    prefix="/api/v1/previews", tags=["campaigns"], dependencies=[guard(Permission.READ)]
)
