"""Revoked tokens in the database (table `revocations`): appended, never changed, read by id order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.errors import ProtocolError
from collab.events import utcnow
from collab.store.errors import translated
from collab.store.rows import aware
from collab.store.schema import revocations


@dataclass(frozen=True)
class Revocation:
    """Either one token (`token_id`, its `jti`) or every token of `user_id` issued before
    `issued_before`. `id` orders them: a server that has read up to id N polls for ids above N."""

    id: int
    token_id: str | None
    user_id: str | None
    issued_before: datetime | None
    created_at: datetime
    created_by: str | None
    reason: str | None

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "jti": self.token_id,
            "user_id": self.user_id,
            "issued_before": self.issued_before,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "reason": self.reason,
        }


def _revocation(row: sa.Row) -> Revocation:
    return Revocation(
        id=row.id,
        token_id=row.token_id,
        user_id=row.user_id,
        issued_before=aware(row.issued_before) if row.issued_before is not None else None,
        created_at=aware(row.created_at),
        created_by=row.created_by,
        reason=row.reason,
    )


class RevocationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(
        self,
        *,
        token_id: str | None = None,
        user_id: str | None = None,
        issued_before: datetime | None = None,
        created_by: str | None = None,
        reason: str | None = None,
    ) -> Revocation:
        if token_id is None and (user_id is None or issued_before is None):
            raise ProtocolError("a revocation names a token id, or a user and a time")
        values = {
            "token_id": token_id,
            "user_id": user_id,
            "issued_before": issued_before,
            "created_at": utcnow(),
            "created_by": created_by,
            "reason": reason[:500] if reason else None,
        }
        with translated():
            async with self.engine.begin() as conn:
                result = await conn.execute(revocations.insert().values(values))
                new_id = result.inserted_primary_key[0]
                row = (await conn.execute(sa.select(revocations).where(revocations.c.id == new_id))).one()
        return _revocation(row)

    async def after(self, last_id: int = 0) -> list[Revocation]:
        """Every revocation with an id above `last_id`, in id order."""
        with translated():
            async with self.engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(revocations).where(revocations.c.id > last_id).order_by(revocations.c.id)
                )
                return [_revocation(row) for row in rows]
