"""/campaigns (list) and /campaigns/{id} (live progress, charts, controls)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
