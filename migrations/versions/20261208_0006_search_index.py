"""The search index of what users typed (collab/store/search/), and the id range of each hour's events
(`event_hours`, collab/store/hours.py), both built for the events stored already.

SQLite: an FTS5 table, `event_search(words, facets)`, its rowid the event's id; FTS5's `ascii` tokenizer
only splits the tokens the application wrote (collab/store/search/terms.py normalizes and tokenizes, for
both databases), `columnsize=0` because nothing ranks by length. PostgreSQL: `event_search(id, terms)`,
the terms a tsvector written out by the application, with a GIN index (made after the build: one sorted
build is much faster than a million inserts into it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from collab.store.search.build import build_index

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_hours",
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("writer", sa.String(length=32), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "writer", name=op.f("pk_event_hours")),
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE event_search (id BIGINT NOT NULL, terms TSVECTOR NOT NULL,"
            " CONSTRAINT pk_event_search PRIMARY KEY (id))"
        )
        build_index(conn)
        op.execute("CREATE INDEX ix_event_search_terms ON event_search USING gin (terms)")
    else:
        op.execute("CREATE VIRTUAL TABLE event_search USING fts5(words, facets, tokenize='ascii', columnsize=0)")
        build_index(conn)


def downgrade() -> None:
    op.execute("DROP TABLE event_search")
    op.drop_table("event_hours")
