"""The search index of what users typed (docs/operators.md, "Search"): its tokens, rows, query language,
writes (inside the append's transaction) and queries, on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""
