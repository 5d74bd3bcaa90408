"""settings changed in the dashboard, over the environment's

`setting_overrides` keeps the settings an admin changed (sender, quiet hours, prices, keyword
replies, limits), each with who changed it and when; the environment stays the default.
`settings_revision` is one row counting the changes, so that every process notices one by
reading a single number.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "setting_overrides",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=300), nullable=False),
        sa.Column("changed_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_setting_overrides")),
    )
    revisions = op.create_table(
        "settings_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_revision")),
    )
    op.bulk_insert(revisions, [{"id": 1, "revision": 0, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("settings_revision")
    op.drop_table("setting_overrides")
