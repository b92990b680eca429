"""SQLite's appends stage their search index rows in `event_search_pending`, in the append's transaction,
and they move into FTS5 a few hundred at a time (collab/store/search/writes.py says why). PostgreSQL is
unchanged: its GIN index keeps a pending list of its own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE event_search_pending (id INTEGER NOT NULL PRIMARY KEY, words TEXT NOT NULL, facets TEXT NOT NULL)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Rows staged and not merged yet go into FTS5 first: downgraded, nothing would read them.
    op.execute(
        "INSERT INTO event_search (rowid, words, facets) SELECT id, words, facets FROM event_search_pending ORDER BY id"
    )
    op.execute("DROP TABLE event_search_pending")
