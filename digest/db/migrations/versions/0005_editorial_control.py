"""editorial control: an article is pinned until a moment, and who last pinned or held it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# A pin set before pins had an end stays for a week from the upgrade.
LEGACY_PIN_DAYS = 7


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("pinned_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("edited_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("edited_at", sa.DateTime(), nullable=True))
    until = (datetime.now(UTC) + timedelta(days=LEGACY_PIN_DAYS)).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text("UPDATE articles SET pinned_until = :until WHERE pinned = :yes"),
        {"until": until, "yes": True},
    )
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("pinned")
        batch.create_index("ix_articles_pinned_until", ["pinned_until"])


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_pinned_until")
        batch.add_column(
            sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Only the pins still running: one that has ended pinned nothing any more.
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text("UPDATE articles SET pinned = :yes WHERE pinned_until > :now"),
        {"yes": True, "now": now},
    )
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("edited_at")
        batch.drop_column("edited_by")
        batch.drop_column("pinned_until")
