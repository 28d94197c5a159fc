"""bounce reasons: why each bounce event and each bounced delivery failed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bounce_events") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=30), nullable=True))
        batch.create_index("ix_bounce_events_reason", ["reason", "received_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("bounce_reason", sa.String(length=30), nullable=True))
    # Refusals recorded before they were bounces: the 5.1.x rule of the time.
    deliveries = sa.table(
        "deliveries",
        sa.column("status", sa.String),
        sa.column("last_code", sa.Integer),
        sa.column("last_enhanced_code", sa.String),
        sa.column("bounce_kind", sa.String),
        sa.column("bounced_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    op.execute(
        deliveries.update()
        .where(
            deliveries.c.status == "failed",
            deliveries.c.bounce_kind.is_(None),
            deliveries.c.last_code >= 500,
            deliveries.c.last_code < 600,
            deliveries.c.last_enhanced_code.like("5.1.%"),
        )
        .values(bounce_kind="hard", bounced_at=deliveries.c.updated_at)
    )
    # Events stored before reasons existed: what their kind alone tells.
    events = sa.table("bounce_events", sa.column("kind", sa.String), sa.column("reason", sa.String))
    for kind, reason in (("complaint", "feedback"), ("auto-reply", "vacation")):
        op.execute(events.update().where(events.c.kind == kind).values(reason=reason))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("bounce_reason")
    with op.batch_alter_table("bounce_events") as batch:
        batch.drop_index("ix_bounce_events_reason")
        batch.drop_column("reason")
