"""The tables, as SQLAlchemy Core metadata. Alembic's migrations are written against this and
`alembic check` (a test) keeps the two in agreement; nothing else creates tables."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class JsonText(sa.TypeDecorator[Any]):
    """JSON kept as TEXT on SQLite. SQLite gives a column declared `JSON` numeric affinity, which
    turns the JSON text `42` into the integer 42 (and a large one into a lossy float)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else orjson.loads(value)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(JsonText(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-increment); PostgreSQL wants 64 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

channels = sa.Table(
    "channels",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()),
    # The last seq appended: the row is locked while a batch allocates the next ones.
    sa.Column("head_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200)),
)

channel_members = sa.Table(
    "channel_members",
    metadata,
    sa.Column("channel", sa.String(200), sa.ForeignKey("channels.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("added_at", Timestamp, nullable=False),
    # A user's channels (their direct messages: collab.store.conversations), without a scan.
    sa.Index("ix_channel_members_user_id", "user_id"),
)

events = sa.Table(
    "events",
    metadata,
    # The global id orders events across channels, in commit order within a database (operators'
    # questions span channels). It costs PostgreSQL about a fifth of an insert's time; SQLite's is the
    # rowid, free. Within a channel, (channel, seq) identifies an event.
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(200)),
    sa.Column("nickname", sa.String(200)),
    # The client's id for the operation, and `op_key`: a 64-bit hash of (channel, user_id, op_id) that
    # the dedup lookup and the unique index use. Client op ids are random, so every insert lands on a
    # different page of that index: an 8-byte key keeps it small (the string triple cost SQLite 4x
    # the write volume). NULL without an op id; NULLs never collide.
    sa.Column("op_id", sa.String(200)),
    sa.Column("op_key", sa.BigInteger),
    sa.Column("data", Json),
    sa.Column("blob", sa.LargeBinary),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("channel", "seq", name="uq_events_channel_seq"),
    sa.UniqueConstraint("op_key", name="uq_events_op_key"),
)

# The search index (collab/store/search/) is `event_search`: an FTS5 virtual table on SQLite, a table with a
# tsvector and its GIN index on PostgreSQL. Neither fits this metadata, so migration 0006 creates it and
# alembic's comparison leaves it out (`collab.store.search.schema.is_index_table`, migrations/env.py).
#
# The range of ids each hour's events span, per writer (a process's BatchWriter, or the migration that made
# the table): a time window as a range of ids (collab/store/hours.py says how and why).
event_hours = sa.Table(
    "event_hours",
    metadata,
    sa.Column("hour", sa.String(13), primary_key=True),  # YYYY-MM-DDTHH, UTC
    sa.Column("writer", sa.String(32), primary_key=True),
    sa.Column("first_id", sa.BigInteger, nullable=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("channel", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("data", Json),
    sa.Column("blob", sa.LargeBinary),
    sa.Column("created_at", Timestamp, nullable=False),
)

# How far each user has read in each channel (read receipts, unread counts). Not events: only the
# latest position matters, and it moves on every read.
read_positions = sa.Table(
    "read_positions",
    metadata,
    sa.Column("channel", sa.String(200), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_read_positions_user_id", "user_id"),
)

# Revoked tokens (moderation): by token id (`jti`), or every token of a user issued before a time.
# Servers load them at start and poll for new rows (collab.operators.moderation), so a revocation made by one
# process or by `collab revoke` holds in all of them and across restarts. Rows are never updated.
revocations = sa.Table(
    "revocations",
    metadata,
    # Integer, not BigInteger: only SQLite's INTEGER PRIMARY KEY allocates ids by itself.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_id", sa.String(200)),
    sa.Column("user_id", sa.String(200)),
    sa.Column("issued_before", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(200)),
    sa.Column("reason", sa.String(500)),
    sa.CheckConstraint("token_id IS NOT NULL OR (user_id IS NOT NULL AND issued_before IS NOT NULL)", name="target"),
)

# The media library's metadata (collab/operators/media.py). The files live on disk under the data directory,
# named by their sha256: two uploads of the same bytes are two rows sharing one file.
media = sa.Table(
    "media",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("mime", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("filename", sa.String(255)),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("uploader_id", sa.String(200), nullable=False),
    sa.Column("uploader_name", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_media_sha256", "sha256"),
    sa.Index("ix_media_uploader_id", "uploader_id"),
    # The gallery lists newest first, in pages: (created_at, id) is its order and its cursor.
    sa.Index("ix_media_created_at_id", "created_at", "id"),
)
