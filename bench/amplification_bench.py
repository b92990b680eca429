"""Two amplifications of issue 11 measured against a real `collab serve` process (not part of the tests):

(a) `create_room`: what every creation costs the server (CPU) and the other sockets (bytes of `rooms`
    and `room_added` frames), with `--sockets` users connected and `--rooms` rooms listed, creations
    back to back and then paced a second apart; once with plain clients (the base contract: `rooms`
    lists) and once with clients that connect with `room_changes=1` (the browser client);
(b) a `read` flood: two sockets of one user offer `--flood-rate` `read` frames a second each (or as
    many as the server gets through, when that is fewer) for `--seconds`; the server's CPU
    meanwhile, how many were served or refused, and the acknowledgements of another user chatting
    meanwhile (compared with that user alone); then the same with a flood of chat messages.

    PYTHONPATH=. .venv/bin/python bench/amplification_bench.py [--sockets 20] [--rooms 120] [--only read]

The cap on rooms per user is raised for (a), so that it measures the traffic of creations rather than
their refusal (an older server ignores the setting); (b) runs with the default settings. Keep the rooms
under 200, the most a `rooms` list shows, or the creator's list would not show the rooms it creates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-hs256-secret-of-at-least-32-bytes"
TICKS = os.sysconf("SC_CLK_TCK")


def token(sub: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


@contextlib.contextmanager
def server(**settings: str) -> Iterator[tuple[str, int]]:
    """`collab serve` on a fresh SQLite database: its base URL and process id."""
    with tempfile.TemporaryDirectory(prefix="collab-amplify-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLAB_")}
        env.update(COLLAB_DATA_DIR=tmp, COLLAB_JWT_SECRET=SECRET, COLLAB_LOG_LEVEL="WARNING", **settings)
        env["PYTHONPATH"] = str(ROOT)
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Socket:
    """One `/ws` client that reads everything into `frames` and counts the bytes of each frame type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.bytes: dict[str, int] = {}
        self.reader = asyncio.create_task(self._read())
        self.waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = []

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(msg.data)
            self.frames.append(frame)
            self.bytes[frame["type"]] = self.bytes.get(frame["type"], 0) + len(msg.data)
            for match, future in list(self.waiters):
                if not future.done() and match(frame):
                    future.set_result(frame)
                    self.waiters.remove((match, future))

    def wait_for(self, match: Any, *, read_already: bool = False) -> asyncio.Future[dict[str, Any]]:
        """The next frame that matches (or the first one read so far, with `read_already`)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        found = next((f for f in self.frames if match(f)), None) if read_already else None
        if found is not None:
            future.set_result(found)
        else:
            self.waiters.append((match, future))
        return future

    async def send(self, **frame: Any) -> None:
        await self.ws.send_str(orjson.dumps(frame).decode())

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


@contextlib.asynccontextmanager
async def sockets(
    url: str, users: list[str], channel: str = "general", params: dict[str, str] | None = None
) -> AsyncIterator[list[Socket]]:
    async with aiohttp.ClientSession() as http:
        opened = []
        for user in users:
            query = {"channel": channel, "token": token(user), **(params or {})}
            ws = await http.ws_connect(f"{url}/ws", params=query, max_msg_size=0)
            opened.append(Socket(ws))
        for sock in opened:
            await asyncio.wait_for(sock.wait_for(lambda f: f["type"] == "rooms", read_already=True), 30)
        try:
            yield opened
        finally:
            for sock in opened:
                await sock.close()


async def quiet(socks: list[Socket], seconds: float = 1.5) -> None:
    """Wait until no socket has read a frame for `seconds`."""
    while True:
        before = sum(len(s.frames) for s in socks)
        await asyncio.sleep(seconds)
        if sum(len(s.frames) for s in socks) == before:
            return


ROOM_FRAMES = ("rooms", "room_added")


def room_bytes(socks: list[Socket]) -> int:
    return sum(s.bytes.get(kind, 0) for s in socks for kind in ROOM_FRAMES)


async def idle_cpu_rate(pid: int, seconds: float = 3.0) -> float:
    """The server's CPU per second while nobody sends anything (its monitor and heads ticks)."""
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


async def create_rooms(args: argparse.Namespace) -> None:
    caps = {"COLLAB_MAX_ROOMS_PER_USER": "100000"}
    with server(**caps) as (url, pid):
        print("(a) seeding", args.rooms, "rooms", file=sys.stderr)
        async with sockets(url, ["seeder"]) as (seeder,):
            for i in range(args.rooms):
                await seeder.send(type="create_room", name=f"seed-{i:04d}")
            await quiet([seeder])
        idle = await idle_cpu_rate(pid)
        for mode, params in (("plain clients", {}), ("clients with room_changes=1", {"room_changes": "1"})):
            users = ["creator"] + [f"user-{i}" for i in range(args.sockets - 1)]
            async with sockets(url, users, params=params) as socks:
                await quiet(socks)
                creator, others = socks[0], socks[1:]
                for label, pause, count in (("back to back", 0.0, args.creations), ("a second apart", 1.1, 5)):
                    bytes_before, other_before = room_bytes(socks), room_bytes(others[:1])
                    cpu_before, started = cpu_seconds(pid), time.monotonic()
                    for i in range(count):
                        name = f"new-{mode[0]}{label[0]}-{i:03d}"
                        listed = creator.wait_for(
                            lambda f, n=name: (
                                f["type"] == "error"
                                or (f["type"] == "rooms" and any(r["name"] == n for r in f["rooms"]))
                            )
                        )
                        await creator.send(type="create_room", name=name)
                        answer = await asyncio.wait_for(listed, 30)
                        if answer["type"] == "error":
                            print("refused:", answer)
                        if pause:
                            await asyncio.sleep(pause)
                    await quiet(socks)
                    cpu = cpu_seconds(pid) - cpu_before - idle * (time.monotonic() - started)
                    sent, other = room_bytes(socks) - bytes_before, room_bytes(others[:1]) - other_before
                    print(
                        f"(a) {count} creations {label}, {args.sockets} {mode}, {args.rooms}+ rooms: per creation "
                        f"{sent / count / 1024:.2f} KiB of `rooms`/`room_added` out (all sockets), "
                        f"{other / count / 1024:.2f} KiB to one other socket; server CPU {cpu / count * 1000:.1f} ms"
                    )


async def chat_acks(victim: Socket, stop: asyncio.Event) -> list[float]:
    latencies = []
    n = 0
    while not stop.is_set():
        n += 1
        op = f"v{n}"
        acked = victim.wait_for(lambda f, op=op: f.get("id") == op)
        sent = time.monotonic()
        await victim.send(type="message", content="hello", id=op)
        await asyncio.wait_for(acked, 30)
        latencies.append(time.monotonic() - sent)
        await asyncio.sleep(0.05)
    return latencies


async def flood(sock: Socket, stop: asyncio.Event, frame: dict[str, Any], rate: float, batch: int = 50) -> int:
    """Offer `frame` `rate` times a second, in batches each followed by a ping that is waited for (its
    pong, or its refusal): never faster than the server gets through them, so no backlog outlasts
    the flood."""
    sent = pings = 0
    text = orjson.dumps(frame).decode()
    next_batch = time.monotonic()
    with contextlib.suppress(ConnectionError, aiohttp.ClientError):
        while not stop.is_set() and not sock.ws.closed:
            for _ in range(batch):
                await sock.ws.send_str(text)
            sent += batch
            pings += 1
            ping_id = f"p{pings}"
            answered = sock.wait_for(lambda f, ping_id=ping_id: f["type"] == "pong" or f.get("id") == ping_id)
            await sock.send(type="ping", id=ping_id)
            await asyncio.wait_for(answered, 60)
            next_batch += batch / rate
            await asyncio.sleep(max(0.0, next_batch - time.monotonic()))
    return sent


async def read_flood(args: argparse.Namespace, frame: dict[str, Any]) -> None:
    with server() as (url, pid):
        async with sockets(url, ["victim"], "lobby") as (victim,):
            stop = asyncio.Event()
            task = asyncio.create_task(chat_acks(victim, stop))
            await asyncio.sleep(args.seconds)
            stop.set()
            alone = await task
        async with sockets(url, ["reader", "reader", "victim"], "lobby") as (one, two, victim):
            await one.send(type="message", content="something to read", id="r0")
            await one.wait_for(lambda f: f.get("id") == "r0")
            await quiet([one, two, victim], 0.5)
            stop = asyncio.Event()
            cpu_before = cpu_seconds(pid)
            started = time.monotonic()
            acks = asyncio.create_task(chat_acks(victim, stop))
            floods = [asyncio.create_task(flood(s, stop, frame, args.flood_rate)) for s in (one, two)]
            await asyncio.sleep(args.seconds)
            stop.set()
            sent = sum(await asyncio.gather(*floods))
            latencies = await acks
            await quiet([one, two, victim], 1.0)
            cpu = cpu_seconds(pid) - cpu_before
            span = time.monotonic() - started
            served = sum(1 for f in one.frames if f["type"] == frame["type"] and f.get("user_id") == "reader")
            limited = sum(1 for s in (one, two) for f in s.frames if f.get("code") == "rate_limited")
            lists = sum(1 for s in (one, two) for f in s.frames if f["type"] == "rooms")
            closed = [s.ws.close_code for s in (one, two) if s.ws.closed]
        print(
            f"(b) {frame['type']} flood, 2 sockets of one user, {args.seconds:g} s: {sent} sent, {served} served, "
            f"{limited} rate_limited, {lists} `rooms` lists to them, closed: {closed}; server CPU {cpu:.2f} s "
            f"in {span:.1f} s ({cpu / max(served, 1) * 1000:.2f} ms per frame served); the other user's acks: "
            f"worst {max(latencies) * 1000:.0f} ms, median {statistics.median(latencies) * 1000:.0f} ms "
            f"(alone: worst {max(alone) * 1000:.0f} ms, median {statistics.median(alone) * 1000:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--rooms", type=int, default=120)
    parser.add_argument("--creations", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--flood-rate", type=float, default=1000.0, help="frames a second offered per socket")
    parser.add_argument("--only", choices=("rooms", "read"))
    args = parser.parse_args()
    if args.only != "read":
        asyncio.run(create_rooms(args))
    if args.only != "rooms":
        asyncio.run(read_flood(args, {"type": "read", "seq": 1}))
        asyncio.run(read_flood(args, {"type": "message", "content": "flood"}))


if __name__ == "__main__":
    main()
