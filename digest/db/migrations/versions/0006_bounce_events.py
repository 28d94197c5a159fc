"""bounce intake: every bounce, complaint and automatic reply received, what a
delivery's late bounce was, and deliveries found by Message-ID

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("bounce_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("bounced_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_deliveries_message_id", ["message_id"], unique=False)
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=True),
        sa.Column("diagnostic", sa.Text(), nullable=True),
        sa.Column("reporter", sa.String(length=300), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_bounce_events_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_bounce_events_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_bounce_events_fingerprint")),
    )
    op.create_index(
        op.f("ix_bounce_events_received_at"), "bounce_events", ["received_at"], unique=False
    )
    op.create_index(
        op.f("ix_bounce_events_delivery_id"), "bounce_events", ["delivery_id"], unique=False
    )
    op.create_index(
        "ix_bounce_events_subscriber",
        "bounce_events",
        ["subscriber_id", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_bounce_events_subscriber", table_name="bounce_events")
    op.drop_index(op.f("ix_bounce_events_delivery_id"), table_name="bounce_events")
    op.drop_index(op.f("ix_bounce_events_received_at"), table_name="bounce_events")
    op.drop_table("bounce_events")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_message_id")
        batch.drop_column("bounced_at")
        batch.drop_column("bounce_kind")
