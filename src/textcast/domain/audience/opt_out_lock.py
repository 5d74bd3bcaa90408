"""The opt-out lock: an opt-out and the last check before a batch is posted never interleave.

On PostgreSQL an advisory lock held until commit: shared by the pre-POST check (many batches at
once), exclusive for an opt-out, so a STOP that commits before a batch's check is seen by it and
one that comes after finds the batch already posted. SQLite serialises writers anyway.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

OPT_OUT_LOCK_KEY = 0x6F70746F7574  # "optout"


def hold_opt_out_lock(session: Session, *, shared: bool) -> None:
    """Until commit: shared for pre-POST checks, exclusive for opt-outs (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {function}(:key)"), {"key": OPT_OUT_LOCK_KEY})
