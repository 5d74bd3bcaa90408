"""messages: room in each page for a claim and an acceptance without moving a row

A message is rewritten twice within seconds of its launch: claimed (which adds its batch id),
then accepted (which adds its send time). At a fill factor of 50 the page was full before the
second rewrite whenever the first version could not yet be pruned, and a fifth to a third of the
rewrites left the page: a new version elsewhere, an entry in every index. At 25, a page holds
all three versions of each of its rows, so both rewrites stay heap-only (HOT); the delivery
reports, which come later, find the first versions pruned. The table holds fewer rows per page
on launch, and about as many pages once the campaign has been sent.

PostgreSQL only: SQLite has no fill factor. It applies to pages filled from now on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGES_FILL_FACTOR = 25
PREVIOUS_FILL_FACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE messages SET (fillfactor = {MESSAGES_FILL_FACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE messages SET (fillfactor = {PREVIOUS_FILL_FACTOR})")
