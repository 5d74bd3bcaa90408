"""/settings: Sinch connection, sender, quiet hours, prices, users, API keys."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
