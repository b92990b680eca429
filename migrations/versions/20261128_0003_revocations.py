"""Revoked tokens (moderation): by token id (`jti`), or every token of a user issued before a time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_id", sa.String(length=200), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("issued_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "token_id IS NOT NULL OR (user_id IS NOT NULL AND issued_before IS NOT NULL)",
            name=op.f("ck_revocations_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
    )


def downgrade() -> None:
    op.drop_table("revocations")
