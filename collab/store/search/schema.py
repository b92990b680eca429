"""The index's own tables, which SQLAlchemy's metadata cannot describe (collab/store/schema.py says why):
their names, for alembic's comparison to leave out. Migration 0006 creates them."""

from __future__ import annotations

INDEX_TABLE = "event_search"
# FTS5 keeps an index in shadow tables named after its own (data, idx, content, docsize, config).
FTS5_SHADOWS = frozenset(f"{INDEX_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config"))


def is_index_table(name: str) -> bool:
    """Whether `name` is the index table (either database) or one of FTS5's shadow tables."""
    return name == INDEX_TABLE or name in FTS5_SHADOWS
