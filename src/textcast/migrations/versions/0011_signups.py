"""sign-up forms, list keywords, sign-ups with their evidence, consent purposes, list hygiene

`signup_forms` and `list_keywords` are the two ways into a list that collect consent
themselves; `signups` keeps each request to join with its evidence verbatim (the text shown,
the page, the address, the agent, the fields) until it is confirmed, expires or is cancelled.
`consent_events` gains the purpose (marketing, transactional, or all for STOP and START) and
the sign-up it rests on. `contacts` gains the transactional consent and the streak of
permanent failures that makes a number invalid, recorded in `contact_invalidations`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signup_forms",
        sa.Column("id", ID, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("list_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("disclosure", sa.Text(), nullable=False),
        sa.Column("disclosure_version", sa.Integer(), nullable=False),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("allowed_countries", sa.JSON(), nullable=False),
        sa.Column("confirmation_text", sa.Text(), nullable=False),
        sa.Column("welcome_text", sa.Text(), nullable=True),
        sa.Column("thank_you_text", sa.Text(), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("confirmations_per_hour", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("archived_at", MOMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_signup_forms_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_forms")),
        sa.UniqueConstraint("slug", name=op.f("uq_signup_forms_slug")),
    )
    op.create_index(op.f("ix_signup_forms_list_id"), "signup_forms", ["list_id"])
    op.create_table(
        "list_keywords",
        sa.Column("id", ID, nullable=False),
        sa.Column("word", sa.String(length=32), nullable=False),
        sa.Column("list_id", ID, nullable=False),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("confirmation_text", sa.Text(), nullable=False),
        sa.Column("welcome_text", sa.Text(), nullable=True),
        sa.Column("already_subscribed_text", sa.Text(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_keywords_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_keywords")),
        sa.UniqueConstraint("word", name=op.f("uq_list_keywords_word")),
    )
    op.create_index(op.f("ix_list_keywords_list_id"), "list_keywords", ["list_id"])
    op.create_table(
        "signups",
        sa.Column("id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("list_id", ID, nullable=True),
        sa.Column("form_id", ID, nullable=True),
        sa.Column("keyword_id", ID, nullable=True),
        sa.Column("double_opt_in", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("disclosure", sa.Text(), nullable=True),
        sa.Column("disclosure_version", sa.Integer(), nullable=True),
        sa.Column("page_url", sa.Text(), nullable=True),
        sa.Column("referer", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=300), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("keyword_inbound_id", ID, nullable=True),
        sa.Column("submitted_at", MOMENT, nullable=False),
        sa.Column("expires_at", MOMENT, nullable=True),
        sa.Column("confirmation_campaign_id", ID, nullable=True),
        sa.Column("confirmation_held", sa.String(length=300), nullable=True),
        sa.Column("confirmed_at", MOMENT, nullable=True),
        sa.Column("confirmation_inbound_id", ID, nullable=True),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("welcome_text", sa.Text(), nullable=True),
        sa.Column("welcome_campaign_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_signups_list_id_lists"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["signup_forms.id"],
            name=op.f("fk_signups_form_id_signup_forms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["keyword_id"],
            ["list_keywords.id"],
            name=op.f("fk_signups_keyword_id_list_keywords"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["keyword_inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_signups_keyword_inbound_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["confirmation_inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_signups_confirmation_inbound_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_signups_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signups")),
    )
    op.create_index(op.f("ix_signups_contact_id"), "signups", ["contact_id"])
    op.create_index("ix_signups_phone_submitted_at", "signups", ["phone", "submitted_at"])
    op.create_index("ix_signups_form_id_submitted_at", "signups", ["form_id", "submitted_at"])
    op.create_index(
        "ix_signups_pending",
        "signups",
        ["expires_at"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "contact_invalidations",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("campaign_id", ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("restored_at", MOMENT, nullable=True),
        sa.Column("restored_by", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_invalidations_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_invalidations")),
    )
    op.create_index(
        op.f("ix_contact_invalidations_contact_id"), "contact_invalidations", ["contact_id"]
    )
    op.create_index(
        op.f("ix_contact_invalidations_campaign_id"), "contact_invalidations", ["campaign_id"]
    )
    with op.batch_alter_table("contacts") as contacts:
        contacts.add_column(
            sa.Column(
                "transactional_consent",
                sa.Boolean(),
                server_default=sa.text("true"),
                nullable=False,
            )
        )
        contacts.add_column(
            sa.Column("failure_streak", sa.Integer(), server_default="0", nullable=False)
        )
        contacts.add_column(sa.Column("failed_message_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("consent_events") as events:
        events.add_column(
            sa.Column("purpose", sa.String(length=16), server_default="marketing", nullable=False)
        )
        events.add_column(sa.Column("signup_id", ID, nullable=True))
        events.create_foreign_key(
            op.f("fk_consent_events_signup_id_signups"),
            "signups",
            ["signup_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # A STOP or a START said by the person (a keyword) was about every message, not marketing.
    op.execute("UPDATE consent_events SET purpose = 'all' WHERE source = 'keyword'")


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as events:
        events.drop_constraint(op.f("fk_consent_events_signup_id_signups"), type_="foreignkey")
        events.drop_column("signup_id")
        events.drop_column("purpose")
    with op.batch_alter_table("contacts") as contacts:
        contacts.drop_column("failed_message_ids")
        contacts.drop_column("failure_streak")
        contacts.drop_column("transactional_consent")
    op.drop_table("contact_invalidations")
    op.drop_table("signups")
    op.drop_table("list_keywords")
    op.drop_table("signup_forms")
