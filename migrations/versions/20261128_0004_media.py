"""The media library's metadata (the files live on disk, named by sha256).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL; TEXT on SQLite (as in 0001).
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("uploader_id", sa.String(length=200), nullable=False),
        sa.Column("uploader_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_index("ix_media_sha256", "media", ["sha256"], unique=False)
    op.create_index("ix_media_uploader_id", "media", ["uploader_id"], unique=False)
    op.create_index("ix_media_created_at_id", "media", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_created_at_id", table_name="media")
    op.drop_index("ix_media_uploader_id", table_name="media")
    op.drop_index("ix_media_sha256", table_name="media")
    op.drop_table("media")
