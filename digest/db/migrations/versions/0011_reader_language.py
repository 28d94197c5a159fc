"""readers' languages: each reader's own, or none to follow the site's

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: readers from before languages follow the site's (DIGEST_LANGUAGE).
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("language")
