"""The database goes away under load (issue 11): real `collab serve` processes, clients writing all along.

PostgreSQL: the servers reach the database through a TCP proxy that the test cuts (every connection
reset, new ones refused) and restores; the real PostgreSQL keeps serving everyone else. SQLite: another
connection holds the write lock (busy), or the disk the database lives on fills up (a small tmpfs).

What must hold (docs/reliability.md): every frame is answered, an append the database could not take is
answered `unavailable`, /healthz says 503 while the database is gone, the servers come back on their
own, and the log holds every acknowledged message exactly once, with nothing delivered that is not in
it. The figures each run measures are printed (`pytest -s`) and quoted in docs/reliability.md."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from support.auth import token
from support.databases import create_postgres_database, drop_postgres_database, in_thread, postgres_url, sqlite_url
from support.servers import ServerProcess
from support.tcp_proxy import proxied
from support.waiting import DEADLINE

from collab.store.sql import SqlEventStore

CHANNEL = "outage"
SEND_EVERY = 0.01  # each writer's pace: 100 messages a second
OUTAGE_SECONDS = 2.0


class Writer:
    """A client that sends messages with ids and keeps every answer: acks (its own echo), errors, and
    every stored event delivered to it (any sender's)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.user_id = ""
        self.sent: dict[str, str] = {}  # id -> content
        self.acks: dict[str, int] = {}  # id -> seq
        self.errors: dict[str, str] = {}  # id -> code
        self.delivered: list[tuple[int, str | None, Any]] = []  # (seq, id, content), in arrival order
        # Answers to a retry of an id that was stored already: the stored event again, to its sender alone.
        self.echoes: list[tuple[int, str | None, Any]] = []
        self.closed_with: int | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self, http: aiohttp.ClientSession, url: str) -> None:
        self.ws = await http.ws_connect(f"{url}/ws", params={"channel": CHANNEL, "nickname": self.name})
        welcome = await self.ws.receive_json(timeout=DEADLINE)
        assert welcome["type"] == "welcome", welcome
        self.user_id = welcome["user"]["id"]
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            frame = orjson.loads(msg.data)
            kind, op_id = frame.get("type"), frame.get("id")
            if kind == "message":
                seen = (frame["seq"], op_id, frame["content"])
                fresh = not self.delivered or frame["seq"] > self.delivered[-1][0]
                (self.delivered if fresh else self.echoes).append(seen)
                if op_id in self.sent and frame["user_id"] == self.user_id:
                    self.acks[op_id] = frame["seq"]
                    self.errors.pop(op_id, None)
            elif kind == "error" and op_id in self.sent:
                self.errors[op_id] = frame["code"]
        self.closed_with = self.ws.close_code

    async def send(self, op_id: str) -> None:
        assert self.ws is not None
        content = f"{self.name} {op_id}"
        self.sent[op_id] = content
        await self.ws.send_str(orjson.dumps({"type": "message", "content": content, "id": op_id}).decode())

    def unanswered(self) -> list[str]:
        return [op_id for op_id in self.sent if op_id not in self.acks and op_id not in self.errors]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, DEADLINE)


class Load:
    """Writers sending all along, each at its own pace, their ids tagged with the phase they were sent in."""

    def __init__(self, writers: list[Writer]) -> None:
        self.writers = writers
        self.phase = "before"
        self._running = True
        self._tasks: list[asyncio.Task[None]] = []
        self.sent_in: dict[str, str] = {}  # id -> phase

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write(writer)) for writer in self.writers]

    async def _write(self, writer: Writer) -> None:
        n = 0
        while self._running:
            n += 1
            op_id = f"{writer.name}-{n}"
            self.sent_in[op_id] = self.phase
            await writer.send(op_id)
            await asyncio.sleep(SEND_EVERY)

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    async def all_answered(self, within: float = DEADLINE) -> None:
        """No frame is left hanging: every one is acked or refused."""
        deadline = time.monotonic() + within
        while any(writer.unanswered() for writer in self.writers):
            if time.monotonic() > deadline:
                left = {writer.name: writer.unanswered()[:5] for writer in self.writers}
                raise AssertionError(f"frames never answered: {left}")
            await asyncio.sleep(0.02)

    async def retry_refused(self, within: float = DEADLINE) -> int:
        """Send every refused frame again with its id (as a client does after `unavailable`); all must be
        acked now. Returns how many were retried."""
        retried = 0
        for writer in self.writers:
            refused = list(writer.errors)
            for op_id in refused:
                del writer.errors[op_id]
                await writer.send(op_id)
            retried += len(refused)
        await self.all_answered(within)
        left = {writer.name: writer.errors for writer in self.writers if writer.errors}
        assert not left, f"retries refused after the database came back: {left}"
        return retried


async def health(http: aiohttp.ClientSession, server: ServerProcess) -> tuple[int, str]:
    async with http.get(f"{server.url}/healthz", timeout=aiohttp.ClientTimeout(total=DEADLINE)) as response:
        return response.status, (await response.json())["status"]


async def wait_health(
    http: aiohttp.ClientSession, server: ServerProcess, status: int, within: float = DEADLINE
) -> tuple[float, str]:
    """Poll /healthz until it answers `status`: how long that took, and the body's status."""
    started = time.monotonic()
    while True:
        got, said = await health(http, server)
        if got == status:
            return time.monotonic() - started, said
        if time.monotonic() - started > within:
            raise AssertionError(f"/healthz still {got} {said!r} after {within} s, not {status}")
        await asyncio.sleep(0.05)


async def first_ack_after(load: Load, since_ids: set[str], within: float = DEADLINE) -> float:
    """Seconds until a message sent after `since_ids` were all sent is acked."""
    started = time.monotonic()
    while not any(op_id not in since_ids for writer in load.writers for op_id in writer.acks):
        if time.monotonic() - started > within:
            raise AssertionError(f"no message acked within {within} s of the database's return")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def check_log(url: str, load: Load) -> dict[str, int]:
    """The log against what the clients saw: every sent id stored once, seqs gapless, every ack and
    every delivery exactly as stored, every client given every event once and in order."""
    store = await SqlEventStore.open(url)
    try:
        events = await store.read(CHANNEL)
    finally:
        await store.close()
    stored = {event.seq: (event.op_id, event.data["content"]) for event in events}
    ids = [event.op_id for event in events]
    assert [event.seq for event in events] == list(range(1, len(events) + 1)), "seqs have a gap"
    assert len(ids) == len(set(ids)), "an id was stored twice"
    seq_of = {event.op_id: event.seq for event in events}
    acked = 0
    for writer in load.writers:
        assert set(writer.sent) <= set(seq_of), f"{writer.name}: acked ids missing from the log"
        for op_id, seq in writer.acks.items():
            assert seq_of[op_id] == seq, f"{op_id} acked as seq {seq}, stored as {seq_of[op_id]}"
            acked += 1
        # Nothing delivered that is not stored, and every stored event delivered once, in order.
        for seq, op_id, content in writer.delivered:
            assert stored.get(seq) == (op_id, content), f"{writer.name} got seq {seq} = {op_id}, not as stored"
        assert [seq for seq, _, _ in writer.delivered] == sorted(stored), f"{writer.name}: not every event once"
        for seq, op_id, content in writer.echoes:
            assert op_id in writer.sent and stored.get(seq) == (op_id, content), f"{writer.name}: echo {seq} {op_id}"
    return {"stored": len(events), "acked": acked, "lost": len(set().union(*(w.acks for w in load.writers)) - set(ids))}


async def outage_run(
    http: aiohttp.ClientSession,
    servers: list[ServerProcess],
    writers_per_server: int,
    cut: Any,
    restore: Any,
    *,
    expect_health: bool,
) -> tuple[Load, dict[str, float]]:
    """Writers on every server; the database cut for `OUTAGE_SECONDS` under their load, then restored;
    the refused frames retried. Returns the load and the figures."""
    writers = [Writer(f"w{i}s{j}") for j in range(len(servers)) for i in range(writers_per_server)]
    for index, writer in enumerate(writers):
        await writer.open(http, servers[index // writers_per_server].url)
    load = Load(writers)
    load.start()
    await asyncio.sleep(0.5)
    figures: dict[str, float] = {}
    try:
        cut()
        cut_at = time.monotonic()
        load.phase = "during"
        if expect_health:
            for server in servers:
                took, said = await wait_health(http, server, 503)
                assert said == "unavailable", said
                figures["healthz_503_after_s"] = max(figures.get("healthz_503_after_s", 0.0), took)
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
        refused_during = sum(len(writer.errors) for writer in writers)
        restore()
        restored_at = time.monotonic()
        figures["outage_s"] = restored_at - cut_at
        load.phase = "after"
        sent_before_restore = set(load.sent_in)
        figures["first_ack_after_restore_s"] = await first_ack_after(load, sent_before_restore)
        if expect_health:
            for server in servers:
                took, _ = await wait_health(http, server, 200)
                figures["healthz_200_after_restore_s"] = max(figures.get("healthz_200_after_restore_s", 0.0), took)
        await asyncio.sleep(0.3)
    finally:
        await load.stop()
    await load.all_answered()
    codes = {code for writer in writers for code in writer.errors.values()}
    assert codes == {"unavailable"}, f"refusals during the outage: {codes}"
    assert refused_during > 0
    # A frame sent while the database was gone and answered before it came back was refused.
    figures["sent"] = len(load.sent_in)
    figures["refused"] = sum(len(writer.errors) for writer in writers)
    figures["retried"] = await load.retry_refused()
    for writer in writers:
        assert writer.closed_with is None, f"{writer.name}'s socket closed ({writer.closed_with})"
    # The servers' clients see every event, their own process's and the others' (delivery caught up).
    last = max(seq for writer in writers for seq in writer.acks.values())
    deadline = time.monotonic() + DEADLINE
    while any(not writer.delivered or writer.delivered[-1][0] < last for writer in writers):
        assert time.monotonic() < deadline, "a client never got the last events"
        await asyncio.sleep(0.02)
    return load, figures


def report(name: str, figures: dict[str, Any]) -> None:
    shown = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    print(f"\n[outage figures] {name}: {shown}")


# -- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture
def postgres_database(postgres_template: str) -> Iterator[str]:
    name = in_thread(create_postgres_database(postgres_template))
    try:
        yield name
    finally:
        in_thread(drop_postgres_database(name))


@contextlib.asynccontextmanager
async def started(*servers: ServerProcess) -> AsyncIterator[None]:
    try:
        for server in servers:
            await asyncio.to_thread(server.start)
        yield
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


@pytest.mark.postgres
async def test_a_postgres_outage_under_load_refuses_unavailable_and_loses_nothing(
    tmp_path: Path, postgres_database: str
) -> None:
    with proxied("127.0.0.1", 5432) as proxy:
        through_proxy = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{postgres_database}"
        servers = []
        for index in range(2):
            (tmp_path / f"node{index}").mkdir()
            servers.append(ServerProcess(tmp_path / f"node{index}", through_proxy))
        async with started(*servers), aiohttp.ClientSession() as http:
            load, figures = await outage_run(http, servers, 2, proxy.cut, proxy.restore, expect_health=True)
            # A client that connects while the database is gone is told to come back later (1013).
            proxy.cut()
            try:
                # A user with a token (a new guest has read nothing, so its join reads nothing here).
                params = {"channel": CHANNEL, "token": token("u-late")}
                async with http.ws_connect(f"{servers[0].url}/ws", params=params) as ws:
                    refusal = await ws.receive_json(timeout=DEADLINE)
                    if refusal["type"] == "welcome":
                        # A room this process knows is joined without a read; the refusal comes when the
                        # join reads what it must (the user's read positions for the room list).
                        refusal = await ws.receive_json(timeout=DEADLINE)
                    closing = await ws.receive(timeout=DEADLINE)
            finally:
                proxy.restore()
            assert refusal["type"] == "error" and refusal["code"] == "unavailable", refusal
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1013, closing
            await wait_health(http, servers[0], 200)
            for writer in load.writers:
                await writer.close()
    figures.update(await check_log(postgres_url(postgres_database), load))
    assert figures["lost"] == 0
    report("postgres, 2 servers x 2 writers", figures)


# -- SQLite ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds SQLite's write lock (a backup, a stuck process): writers are busy."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


async def test_sqlite_busy_under_load_refuses_unavailable_and_loses_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, COLLAB_SQLITE_BUSY_TIMEOUT_MS="200")
    database = tmp_path / "collab.db"
    lock = contextlib.ExitStack()

    def cut() -> None:
        lock.enter_context(write_lock_held(database))

    async with started(server), aiohttp.ClientSession() as http:
        try:
            load, figures = await outage_run(http, [server], 3, cut, lock.close, expect_health=False)
        finally:
            lock.close()
        for writer in load.writers:
            await writer.close()
    figures.update(await check_log(sqlite_url(database), load))
    assert figures["lost"] == 0
    report("sqlite busy, 3 writers, busy timeout 200 ms", figures)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of the test's own (root only), unmounted at the end."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte with one file; deleting it frees the space again."""
    filler = disk / "filler"
    out = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(out, b"\0" * size):
                    pass
    finally:
        os.close(out)
    return filler


async def test_sqlite_disk_full_under_load_refuses_unavailable_and_loses_nothing(
    tmp_path: Path, small_disk: Path, sqlite_template: Path
) -> None:
    database = small_disk / "collab.db"
    shutil.copyfile(sqlite_template, database)
    server = ServerProcess(tmp_path, sqlite_url(database))

    async with started(server), aiohttp.ClientSession() as http:
        load, figures = await outage_run(
            http, [server], 2, lambda: fill(small_disk), lambda: (small_disk / "filler").unlink(), expect_health=False
        )
        for writer in load.writers:
            await writer.close()
    figures.update(await check_log(sqlite_url(database), load))
    assert figures["lost"] == 0
    report("sqlite disk full, 2 writers, 4 MiB tmpfs", figures)
