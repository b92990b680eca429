"""The event log: channels, their members, events and snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 01:50:24.943128
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL; TEXT on SQLite (a column declared JSON there has numeric affinity).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("private", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channels")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("nickname", sa.String(length=200), nullable=True),
        sa.Column("op_id", sa.String(length=200), nullable=True),
        sa.Column("op_key", sa.BigInteger(), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("channel", "seq", name="uq_events_channel_seq"),
        sa.UniqueConstraint("op_key", name="uq_events_op_key"),
    )
    op.create_table(
        "snapshots",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "seq", name=op.f("pk_snapshots")),
    )
    op.create_table(
        "channel_members",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"],
            ["channels.name"],
            name=op.f("fk_channel_members_channel_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_channel_members")),
    )


def downgrade() -> None:
    op.drop_table("channel_members")
    op.drop_table("snapshots")
    op.drop_table("events")
    op.drop_table("channels")
