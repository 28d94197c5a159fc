"""subscriber pages: consent records, pausing, rate limits, hashed suppressions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch_op:
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(), nullable=True))

    # Suppressions are matched by the hash of the address from now on, so an entry
    # can outlive the address it blocks (a reader who asked to be erased).
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    table = sa.table("suppressions", sa.column("id"), sa.column("email"), sa.column("email_hash"))
    for id_, email in conn.execute(sa.select(table.c.id, table.c.email)).all():
        digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
        conn.execute(table.update().where(table.c.id == id_).values(email_hash=digest))
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.alter_column("email_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch_op.drop_constraint("uq_suppressions_email", type_="unique")
        batch_op.create_unique_constraint("uq_suppressions_email_hash", ["email_hash"])

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("page", sa.String(length=2000), nullable=True),
        sa.Column("wording_version", sa.String(length=40), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("confirmation_sent_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_ip", sa.String(length=64), nullable=True),
        sa.Column("confirmed_user_agent", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_consents_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents") as batch_op:
        batch_op.create_index("ix_consents_subscriber_id", ["subscriber_id"], unique=False)

    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_events")),
    )
    with op.batch_alter_table("rate_events") as batch_op:
        batch_op.create_index("ix_rate_events_key_at", ["key", "at"], unique=False)
        batch_op.create_index("ix_rate_events_at", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("rate_events")
    op.drop_table("consents")
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.drop_constraint("uq_suppressions_email_hash", type_="unique")
    op.execute("DELETE FROM suppressions WHERE email IS NULL")
    with op.batch_alter_table("suppressions") as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch_op.create_unique_constraint("uq_suppressions_email", ["email"])
        batch_op.drop_column("email_hash")
    with op.batch_alter_table("subscribers") as batch_op:
        batch_op.drop_column("paused_until")
