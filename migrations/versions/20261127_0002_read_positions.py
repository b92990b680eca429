"""Read positions: each user's last-read seq per channel.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "read_positions",
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name=op.f("pk_read_positions")),
    )
    op.create_index("ix_read_positions_user_id", "read_positions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_read_positions_user_id", table_name="read_positions")
    op.drop_table("read_positions")
