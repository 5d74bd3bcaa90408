"""/campaigns/new (the editor) and /campaigns/{id}/plan (the plan before the send button)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
