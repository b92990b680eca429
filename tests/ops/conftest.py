"""Operators' tests: the real app (create_app) on every store (`database_url`), with tests/app's socket
helpers (`connect`, `token`, SECRET) and a few of our own for HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from app.config import Settings
from app.factory import create_app
from app.keys import ENGINE
from collab.events import NewEvent

# tests/app's socket client (a plain directory of modules, not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))
from ws_helpers import SECRET, token

T = TypeVar("T")
Start = Callable[..., Awaitable[TestClient]]


def in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own (for the synchronous CLI tests)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def bearer(sub: str = "op", roles: list[str] | None = None, **claims: Any) -> dict[str, str]:
    """`Authorization` header with a token of `sub` (role operator unless told otherwise)."""
    return {"Authorization": f"Bearer {token(sub, roles=['operator'] if roles is None else roles, **claims)}"}


OPERATOR = bearer("op-1", name="Olga")
ADMIN = bearer("admin-1", roles=["admin"])


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = dataclasses.replace(
            Settings.from_env({}), database_url=database_url, data_dir=tmp_path / "data", jwt_secret=SECRET
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def start(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Start:
    """`await start(**settings)`: the app with those settings, served, and a client for it."""

    async def go(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return go


async def seed(
    client: TestClient,
    channel: str,
    items: list[dict[str, Any]],
) -> list[int]:
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


async def closed(peer: Any, within: float = 10.0) -> tuple[int | None, list[dict[str, Any]]]:
    """Read a /ws peer until the server closes it: the code in the server's close frame and the frames
    before it. (The client's own `close_code` turns into 1006 when the server has dropped the TCP
    connection before the client's reply to the close frame went out; the server's code is what counts.)"""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"socket still open after {within}s; read {frames[-5:]}")
        msg = await peer.ws.receive(timeout=left)
        if msg.type is WSMsgType.TEXT:
            frames.append(orjson.loads(msg.data))
        elif msg.type is WSMsgType.CLOSE:
            return msg.data, frames
        elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return peer.ws.close_code, frames


async def refused_with(client: TestClient, path: str = "/ws", **params: Any) -> tuple[int | None, list[dict]]:
    """Connect to a socket the server is expected to refuse: the server's close code and its frames."""
    ws = await client.ws_connect(path, params={k: str(v) for k, v in params.items() if v is not None})

    class _Peer:
        pass

    peer = _Peer()
    peer.ws = ws  # type: ignore[attr-defined]
    return await closed(peer)
