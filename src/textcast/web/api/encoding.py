"""`/api/v1/encoding`: how a body will be encoded and split, and which characters to replace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from textcast.domain import campaigns
from textcast.domain.accounts.permissions import Permission
from textcast.domain.content import encoding
from textcast.domain.content.encoding import Encoding, EncodingReport
from textcast.web.api.inputs import Input
from textcast.web.auth import guard

router = APIRouter(
    prefix="/api/v1/encoding", tags=["encoding"], dependencies=[guard(Permission.READ)]
)


class EncodingIn(Input):
    text: Annotated[str, Field(max_length=campaigns.MAX_BODY_CHARS)]


class OffenderOut(BaseModel):
    position: int = Field(description="Index in the text, counted in code points.")
    character: str
    name: str
    replacement: str | None = Field(description="GSM-7 text to use instead; null when none.")


class ReplacedOut(BaseModel):
    text: str
    encoding: Encoding
    parts: int


class EncodingOut(BaseModel):
    encoding: Encoding
    length: int = Field(description="GSM-7 septets (extension characters count 2) or UCS-2 units.")
    parts: int
    remaining: int = Field(description="Septets or units left before another part is needed.")
    offenders: list[OffenderOut] = Field(description="Every character that forces UCS-2.")
    with_replacements: ReplacedOut

    @classmethod
    def of(cls, report: EncodingReport) -> EncodingOut:
        return cls(
            encoding=report.encoding,
            length=report.length,
            parts=report.parts,
            remaining=report.remaining,
            offenders=[
                OffenderOut.model_validate(o, from_attributes=True) for o in report.offenders
            ],
            with_replacements=ReplacedOut(
                text=report.text_after_replacements,
                encoding=Encoding.GSM7 if report.gsm7_after_replacements else Encoding.UCS2,
                parts=report.parts_after_replacements,
            ),
        )


@router.post("")
async def analyze_text(payload: EncodingIn) -> EncodingOut:
    return EncodingOut.of(encoding.analyze(payload.text))
