"""links: unique clicks, and the recent visitors that decide them

`/l/{code}` counted every request, so a reload, a link preview or a flood of requests from one
client each made another click. A client (a keyed hash of its address and user agent) now
counts once per hour per link: `link_visits` remembers the clients of the last hour, and older
rows are deleted as new clicks come in. `links.clicks` keeps counting every request.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(
            sa.Column("unique_clicks", sa.Integer(), nullable=False, server_default="0")
        )
    # Until now each request was a click: the best estimate of the visits that made them is
    # one per clicked link, not the requests.
    op.execute("UPDATE links SET unique_clicks = 1 WHERE clicks > 0")
    op.create_table(
        "link_visits",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("counted_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["code"], ["links.code"], name=op.f("fk_link_visits_code_links"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", "visitor", name=op.f("pk_link_visits")),
    )
    op.create_index(op.f("ix_link_visits_counted_at"), "link_visits", ["counted_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_link_visits_counted_at"), table_name="link_visits")
    op.drop_table("link_visits")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("unique_clicks")
