"""campaign authoring: personalisation, schedule, send windows, budget, links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("first_click_at", MOMENT, nullable=True),
        sa.Column("last_click_at", MOMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_links_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_links")),
    )
    op.create_index(op.f("ix_links_campaign_id"), "links", ["campaign_id"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("smart_encoding", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("short_links", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("send_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("local_send_time", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("expires_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("budget", sa.Float(), nullable=True))
        batch.add_column(sa.Column("estimated_cost", sa.Float(), nullable=True))
        batch.add_column(sa.Column("spent", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("variables", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("not_before", MOMENT, nullable=True))
        batch.add_column(sa.Column("sent_at", MOMENT, nullable=True))
    op.create_index(
        "ix_messages_deferred",
        "messages",
        ["not_before"],
        sqlite_where=sa.text("status = 'deferred'"),
        postgresql_where=sa.text("status = 'deferred'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_deferred", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("not_before")
        batch.drop_column("variables")
    with op.batch_alter_table("campaigns") as batch:
        for column in (
            "status_reason",
            "spent",
            "estimated_cost",
            "budget",
            "expires_at",
            "local_send_time",
            "send_at",
            "short_links",
            "smart_encoding",
        ):
            batch.drop_column(column)
    op.drop_index(op.f("ix_links_campaign_id"), table_name="links")
    op.drop_table("links")
