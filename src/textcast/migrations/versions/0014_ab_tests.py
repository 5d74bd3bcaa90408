"""A/B tests

A campaign under test holds no messages of its own: each variant's share of the test pool is
a campaign under it (`campaigns.parent_id`, `campaigns.variant`), and so is the rest of its
audience, a draft until the winner is chosen. `campaign_variants` are the texts (or send
times) as written; `ab_tests` how the pool is drawn and the winner chosen, and where the
decision stands.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", ID, nullable=True))
        batch_op.add_column(sa.Column("variant", sa.String(length=1), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_parent_id_campaigns"),
            "campaigns",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_campaigns_parent_id"), ["parent_id"], unique=False)
    op.create_table(
        "campaign_variants",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("label", sa.String(length=1), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("local_send_time", sa.String(length=5), nullable=True),
        sa.Column("cell_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cell_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_cell_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "label", name=op.f("pk_campaign_variants")),
    )
    op.create_table(
        "ab_tests",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("pool_percent", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=True),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column("decide_after_minutes", sa.Integer(), nullable=True),
        sa.Column("fallback", sa.String(length=16), nullable=False),
        sa.Column("min_sample", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("seed", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pool_sent_at", MOMENT, nullable=True),
        sa.Column("decide_at", MOMENT, nullable=True),
        sa.Column("winner", sa.String(length=1), nullable=True),
        sa.Column("decided_at", MOMENT, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("rest_id", ID, nullable=True),
        sa.Column("rest_error", sa.Text(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_ab_tests_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rest_id"],
            ["campaigns.id"],
            name=op.f("fk_ab_tests_rest_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_ab_tests")),
    )


def downgrade() -> None:
    op.drop_table("ab_tests")
    op.drop_table("campaign_variants")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_parent_id"))
        batch_op.drop_constraint(batch_op.f("fk_campaigns_parent_id_campaigns"), type_="foreignkey")
        batch_op.drop_column("variant")
        batch_op.drop_column("parent_id")
