"""The index's own tables, which SQLAlchemy's metadata cannot describe (collab/store/schema.py says why):
their names, for alembic's comparison to leave out. Migrations 0006 and 0009 create them."""

from __future__ import annotations

INDEX_TABLE = "event_search"
# SQLite only: the id through which the index holds every event (collab/store/search/writes.py).
PROGRESS_TABLE = "event_search_progress"
# FTS5 keeps an index in shadow tables named after its own (data, idx, content, docsize, config).
FTS5_SHADOWS = frozenset(f"{INDEX_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config"))


def is_index_table(name: str) -> bool:
    """Whether `name` is the index table (either database), SQLite's progress mark or one of FTS5's
    shadow tables."""
    return name in (INDEX_TABLE, PROGRESS_TABLE) or name in FTS5_SHADOWS
