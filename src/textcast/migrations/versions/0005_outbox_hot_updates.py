"""outbox: status changes that touch no index; a claim cursor per campaign

A message's row is rewritten at least three times (claimed, accepted, final report). While
`status` or `batch_id` sat in an index, each rewrite inserted into every index of the table.
Now no index reads either column, so on PostgreSQL each rewrite is a heap-only (HOT) update
in the same page, which the lower fill factor leaves room for. The dispatcher finds due
messages through `claim_cursors` and the (campaign_id, id) index; the reports
find theirs through (campaign_id, phone); `batches` records the id range it drew from.

The foreign keys of `messages` go too: their checks ran once per row, at launch (campaign_id,
a third of its time) and at every claim (batch_id). Only the outbox writes either column,
in the transaction that creates or reads the row it refers to; campaigns are never deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MESSAGES_FILL_FACTOR = 50


def upgrade() -> None:
    op.create_table(
        "claim_cursors",
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("claimed_through", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_claim_cursors_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_claim_cursors")),
    )
    # From the start of each campaign: every queued message lies past 0.
    op.execute(
        "INSERT INTO claim_cursors (campaign_id, claimed_through) SELECT id, 0 FROM campaigns"
    )
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("first_message_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("last_message_id", BIG_ID, nullable=True))
        batch.create_index("ix_batches_campaign_state", ["campaign_id", "state"])
    op.drop_index("ix_messages_deferred", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_campaign_status")
        batch.drop_index("ix_messages_batch_phone")
        batch.drop_constraint("fk_messages_batch_id_batches", type_="foreignkey")
        batch.drop_constraint("fk_messages_campaign_id_campaigns", type_="foreignkey")
        batch.create_index("ix_messages_campaign_id", ["campaign_id", "id"])
    op.create_index(
        "ix_messages_deferred",
        "messages",
        ["campaign_id", "not_before"],
        sqlite_where=sa.text("not_before IS NOT NULL"),
        postgresql_where=sa.text("not_before IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE messages SET (fillfactor = {MESSAGES_FILL_FACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    op.drop_index("ix_messages_deferred", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_campaign_id")
        batch.create_foreign_key("fk_messages_batch_id_batches", "batches", ["batch_id"], ["id"])
        batch.create_index("ix_messages_batch_phone", ["batch_id", "phone"])
        batch.create_index("ix_messages_campaign_status", ["campaign_id", "status", "id"])
    op.create_index(
        "ix_messages_deferred",
        "messages",
        ["not_before"],
        sqlite_where=sa.text("status = 'deferred'"),
        postgresql_where=sa.text("status = 'deferred'"),
    )
    with op.batch_alter_table("batches") as batch:
        batch.drop_index("ix_batches_campaign_state")
        batch.drop_column("last_message_id")
        batch.drop_column("first_message_id")
    op.drop_table("claim_cursors")
