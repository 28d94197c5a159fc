"""the two per-article tables written for every digest (what a digest carried, and
the sent-ledger) lose their foreign keys: on PostgreSQL each key is an index probe
per inserted row, about a fifth of a sending worker's time, and no delete relies on
them (erasing a subscriber deletes these rows explicitly)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 16:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEYS = {
    "digest_articles": [
        ("fk_digest_articles_digest_id_digests", "digests", "digest_id", "CASCADE"),
        ("fk_digest_articles_article_id_articles", "articles", "article_id", "CASCADE"),
        ("fk_digest_articles_topic_id_topics", "topics", "topic_id", "CASCADE"),
    ],
    "sent_articles": [
        ("fk_sent_articles_subscriber_id_subscribers", "subscribers", "subscriber_id", "CASCADE"),
        ("fk_sent_articles_article_id_articles", "articles", "article_id", "CASCADE"),
        ("fk_sent_articles_digest_id_digests", "digests", "digest_id", "SET NULL"),
    ],
}


def upgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, _, _, _ in keys:
                batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # Rows the keys would refuse (written while there were none) go first.
    op.execute(
        "DELETE FROM digest_articles WHERE digest_id NOT IN (SELECT id FROM digests) "
        "OR article_id NOT IN (SELECT id FROM articles) "
        "OR topic_id NOT IN (SELECT id FROM topics)"
    )
    op.execute(
        "DELETE FROM sent_articles WHERE subscriber_id NOT IN (SELECT id FROM subscribers) "
        "OR article_id NOT IN (SELECT id FROM articles)"
    )
    op.execute(
        "UPDATE sent_articles SET digest_id = NULL WHERE digest_id NOT IN (SELECT id FROM digests)"
    )
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, referred, column, ondelete in keys:
                batch.create_foreign_key(name, referred, [column], ["id"], ondelete=ondelete)
