"""automations: flows, their versions, runs and run history, step campaigns, events

A flow (`flows`) is published as immutable versions (`flow_versions`); each contact's way
through one is a run (`flow_runs`) whose next wake-up the engine claims; `flow_run_steps` is
its history and the per-step figures. A send step's texts go through the outbox in campaigns
of kind `flow`, one per step, run generation and UTC day (`flow_step_campaigns`). `events`
keeps what the events API received, with its idempotency key; `flow_segment_members`
remembers who was in a segment-triggered flow's segment.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_type", sa.String(length=16), nullable=False),
        sa.Column("trigger_key", sa.String(length=100), nullable=True),
        sa.Column("goal_event", sa.String(length=100), nullable=True),
        sa.Column("version_id", ID, nullable=True),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("status_changed_at", MOMENT, nullable=False),
        sa.Column("scanned_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
    )
    op.create_index("ix_flows_trigger", "flows", ["trigger_type", "trigger_key"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("occurred_at", MOMENT, nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("runs_started", sa.Integer(), nullable=False),
        sa.Column("runs_resumed", sa.Integer(), nullable=False),
        sa.Column("runs_ended", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_events_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_events_idempotency_key")),
    )
    op.create_index("ix_events_contact_id", "events", ["contact_id", "occurred_at"], unique=False)
    op.create_index("ix_events_name_received_at", "events", ["name", "received_at"], unique=False)
    op.create_table(
        "flow_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("flow_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.String(length=40), nullable=True),
        sa.Column("wake_at", MOMENT, nullable=True),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("waiting_for", sa.String(length=100), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("event_id", ID, nullable=True),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("ended_at", MOMENT, nullable=True),
        sa.Column("end_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_flow_runs_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.id"], name=op.f("fk_flow_runs_flow_id_flows"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
        sa.UniqueConstraint("contact_id", "flow_id", "entry", name="uq_flow_runs_entry"),
    )
    op.create_index(
        "ix_flow_runs_due",
        "flow_runs",
        ["wake_at"],
        unique=False,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_flow_runs_flow_status", "flow_runs", ["flow_id", "status", "position"], unique=False
    )
    op.create_table(
        "flow_segment_members",
        sa.Column("flow_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_flow_segment_members_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["flows.id"],
            name=op.f("fk_flow_segment_members_flow_id_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flow_id", "contact_id", name=op.f("pk_flow_segment_members")),
    )
    op.create_table(
        "flow_step_campaigns",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("flow_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_flow_step_campaigns_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["flows.id"],
            name=op.f("fk_flow_step_campaigns_flow_id_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_flow_step_campaigns")),
        sa.UniqueConstraint(
            "version_id", "step_id", "generation", "day", name="uq_flow_step_campaigns_key"
        ),
    )
    op.create_index(
        "ix_flow_step_campaigns_flow_step",
        "flow_step_campaigns",
        ["flow_id", "step_id"],
        unique=False,
    )
    op.create_table(
        "flow_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("flow_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("published_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["flows.id"],
            name=op.f("fk_flow_versions_flow_id_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_versions")),
        sa.UniqueConstraint("flow_id", "number", name="uq_flow_versions_number"),
    )
    op.create_table(
        "flow_run_steps",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("flow_id", ID, nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["flow_runs.id"],
            name=op.f("fk_flow_run_steps_run_id_flow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_run_steps")),
    )
    op.create_index(
        "ix_flow_run_steps_flow_step",
        "flow_run_steps",
        ["flow_id", "step_id", "outcome"],
        unique=False,
    )
    op.create_index("ix_flow_run_steps_run", "flow_run_steps", ["run_id", "id"], unique=False)


def downgrade() -> None:
    for table in (
        "flow_run_steps",
        "flow_versions",
        "flow_step_campaigns",
        "flow_segment_members",
        "flow_runs",
        "events",
        "flows",
    ):
        op.drop_table(table)
