"""Channel members by user: a user's direct-message channels are found through this index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_channel_members_user_id", "channel_members", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_channel_members_user_id", table_name="channel_members")
