"""Helpers for the cluster tests: reading every frame of a socket in the background, and doing to the
database what a restart or an outage would."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from support.databases import POSTGRES_SERVER
from support.ws import Peer


def messages(frames: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message" and f.get("channel") == channel]


class Reader:
    """Every frame a peer receives, read in the background."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.frames: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                self.frames.append(await self.peer.recv(within=120))
        except (AssertionError, asyncio.CancelledError):
            return

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def seqs_in_order(frames: list[dict[str, Any]], channel: str) -> list[int]:
    seqs = [f["seq"] for f in messages(frames, channel)]
    assert seqs == sorted(set(seqs)), f"duplicates or disorder: {seqs}"
    return seqs


async def terminate_listeners(database_url: str) -> int:
    """Cut every broker's listening connection on the test's database, as a database restart would."""
    database = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name LIKE 'collab-broker-%'",
            database,
        )
    finally:
        await conn.close()
    return len(rows)


async def allow_connections(database_url: str, allowed: bool) -> None:
    database = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
    finally:
        await conn.close()


async def health(session) -> tuple[int, dict[str, Any]]:
    async with session.get("/healthz") as response:
        return response.status, await response.json()
