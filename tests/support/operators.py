"""For the operators' tests (moderation, history, CLI, OpenAPI): bearer headers of operators and
admins, and events appended straight to an app's store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from app.keys import ENGINE
from collab.events import NewEvent
from support.auth import token


def bearer(sub: str = "op", roles: list[str] | None = None, **claims: Any) -> dict[str, str]:
    """`Authorization` header with a token of `sub` (role operator unless told otherwise)."""
    return {"Authorization": f"Bearer {token(sub, roles=['operator'] if roles is None else roles, **claims)}"}


OPERATOR = bearer("op-1", name="Olga")
ADMIN = bearer("admin-1", roles=["admin"])


async def seed(client: TestClient, channel: str, items: list[dict[str, Any]]) -> list[int]:
    """Append events straight to the app's store: each item has `type`, and optionally `data`, `user`,
    `nickname`, `at` (datetime), `blob`, `id`. Returns their seqs."""
    store = client.app[ENGINE].store
    seqs = []
    for item in items:
        appended = await store.append(
            NewEvent(
                channel,
                item.get("type", "message"),
                item.get("data"),
                item.get("blob"),
                user_id=item.get("user"),
                nickname=item.get("nickname", item.get("user")),
                op_id=item.get("id"),
                created_at=item.get("at"),
            )
        )
        seqs.append(appended.event.seq)
    return seqs


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
