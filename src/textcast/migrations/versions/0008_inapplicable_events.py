"""webhook events that can never be applied; recent launches found by time

`webhook_events.inapplicable` says why an event can never be applied (a keyword from a number
no one can text, ...): it is kept for an operator to see and never retried. The index lets the
daily recipient quota and the hourly cap on keyword replies count recent launches without
reading every campaign.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("inapplicable", sa.String(200), nullable=True))
    op.create_index("ix_campaigns_launched_at", "campaigns", ["launched_at"])


def downgrade() -> None:
    op.drop_index("ix_campaigns_launched_at", table_name="campaigns")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("inapplicable")
