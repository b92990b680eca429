"""The tables, as SQLAlchemy Core metadata. Alembic's migrations are written against this and
`alembic check` (a test) keeps the two in agreement; nothing else creates tables."""

from __future__ import annotations

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

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-increment); PostgreSQL wants 64 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)

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
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(200)),
    sa.Column("nickname", sa.String(200)),
    # The client's id for the operation; NULLs never collide, so events without one are never deduplicated.
    sa.Column("op_id", sa.String(200)),
    sa.Column("data", Json),
    sa.Column("blob", sa.LargeBinary),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("channel", "seq", name="uq_events_channel_seq"),
    # op_id before user_id: the dedup lookup filters on channel and op_id, so both lead the index.
    sa.UniqueConstraint("channel", "op_id", "user_id", name="uq_events_channel_op_user"),
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
