"""SQLite's search index follows the log: `event_search_progress` holds the id through which every event is
indexed, and the index catches up from the events (collab/store/search/writes.py says why). The rows
staged by 0008 go into FTS5, and its table goes: an append writes nothing for the index any more.
PostgreSQL is unchanged.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 03:00:00
"""

from collections.abc import Sequence

from alembic import op

from collab.store.search.writes import catch_up

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Every committed event was in FTS5 or staged: with the staged rows in, the index holds them all.
    op.execute(
        "INSERT INTO event_search (rowid, words, facets) SELECT id, words, facets FROM event_search_pending ORDER BY id"
    )
    op.execute("DROP TABLE event_search_pending")
    op.execute("CREATE TABLE event_search_progress (last_id INTEGER NOT NULL)")
    op.execute("INSERT INTO event_search_progress (last_id) SELECT coalesce(max(id), 0) FROM events")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Downgraded, nothing would index the events above the mark: they go into FTS5 first.
    catch_up(op.get_bind())
    op.execute("DROP TABLE event_search_progress")
    op.execute(
        "CREATE TABLE event_search_pending (id INTEGER NOT NULL PRIMARY KEY, words TEXT NOT NULL, facets TEXT NOT NULL)"
    )
