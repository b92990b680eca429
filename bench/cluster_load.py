"""The cluster benchmark's load: chat clients on /ws that send at a fixed rate and check every delivery,
and a NOTIFY sender/listener pair. Used by bench/cluster_bench.py (run that one, not this)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import orjson

from collab.events import StoredEvent, utcnow
from collab.store import notify

CONNECT_SECONDS = 30.0


def quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Tally:
    """Deliveries counted across clients; `reached` is set once `target` of them have arrived."""

    def __init__(self) -> None:
        self.count = 0
        self.target: int | None = None
        self.reached = asyncio.Event()

    def add(self) -> None:
        self.count += 1
        if self.target is not None and self.count >= self.target:
            self.reached.set()

    def expect(self, target: int) -> None:
        self.target = target
        if self.count >= target:
            self.reached.set()


@dataclass
class Client:
    """One socket in one room on one node: every `message` frame of its room it receives, in order."""

    room: str
    node: int
    ws: aiohttp.ClientWebSocketResponse
    tally: Tally
    got: list[tuple[int, str, float]] = field(default_factory=list)  # (seq, op id, perf_counter)
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            received = time.perf_counter()
            frame = orjson.loads(msg.data)
            if frame.get("type") == "message" and frame.get("channel") == self.room:
                self.got.append((frame["seq"], frame.get("id", ""), received))
                self.tally.add()
            elif frame.get("type") == "error":
                print(f"  error frame on {self.room}: {frame}")


@dataclass
class ChatResult:
    sent: int
    seconds: float
    deliveries: int
    lost: int
    duplicated: int
    disordered: int
    same_node: list[float]
    cross_node: list[float]

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


async def chat_load(
    urls: list[str], rooms: int, per_room: int, messages_per_s: float, seconds: float, drain: float = 15.0
) -> ChatResult:
    """`rooms` x `per_room` clients, client i of a room on node i % len(urls); one message every
    1/`messages_per_s` s, rooms in turn, each room's senders in turn; then waits for every delivery."""
    tag = uuid.uuid4().hex[:6]
    names = [f"room-{tag}-{r}" for r in range(rooms)]
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tally = Tally()
        clients: list[list[Client]] = []
        for name in names:
            members = []
            for i in range(per_room):
                node = i % len(urls)
                ws = await session.ws_connect(
                    f"{urls[node]}/ws", params={"channel": name, "nickname": f"c{i}"}, max_msg_size=0
                )
                members.append(Client(name, node, ws, tally))
            clients.append(members)
        everyone = [c for members in clients for c in members]
        for client in everyone:
            client.task = asyncio.create_task(client.read())
        # Everyone is subscribed once a ping has come back on every socket (frames are handled in order).
        await asyncio.gather(*(c.ws.send_str('{"type":"ping"}') for c in everyone))
        await asyncio.sleep(1.0)

        sent: dict[str, tuple[float, int, int]] = {}  # op id → (send time, room, sender's node)
        per_room_ids: list[list[str]] = [[] for _ in names]
        total = int(messages_per_s * seconds)
        senders = [itertools.cycle(members) for members in clients]
        began = time.perf_counter()
        for k in range(total):
            due = began + k / messages_per_s
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            room = k % rooms
            sender = next(senders[room])
            op = f"{tag}.{k}"
            sent[op] = (time.perf_counter(), room, sender.node)
            per_room_ids[room].append(op)
            await sender.ws.send_str(orjson.dumps({"type": "message", "content": op, "id": op}).decode())
        send_seconds = time.perf_counter() - began

        tally.expect(total * per_room)
        with contextlib.suppress(TimeoutError):  # what has not come by then is counted as lost
            await asyncio.wait_for(tally.reached.wait(), drain)
        for client in everyone:
            await client.ws.close()
            if client.task is not None:
                await asyncio.gather(client.task, return_exceptions=True)

    lost = duplicated = disordered = 0
    same_node: list[float] = []
    cross_node: list[float] = []
    for room, members in enumerate(clients):
        wanted = set(per_room_ids[room])
        for client in members:
            ids = [op for _, op, _ in client.got]
            seqs = [seq for seq, _, _ in client.got]
            lost += len(wanted - set(ids))
            duplicated += len(ids) - len(set(ids))
            # In order: seqs rise by one, with no gap and no step back.
            disordered += sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)
            for _, op, received in client.got:
                when, _, node = sent[op]
                (same_node if node == client.node else cross_node).append(received - when)
    return ChatResult(
        total, send_seconds, len(same_node) + len(cross_node), lost, duplicated, disordered, same_node, cross_node
    )


# -- NOTIFY's own rate --------------------------------------------------------------------------------


def one_event_payload(sent_at: float) -> str:
    """A commit notification of one small event, as the writer sends for a batch of one."""
    event = StoredEvent("room-bench", 1, "message", {"content": "x" * 40, "t": sent_at}, None, "u", "n", None, utcnow())
    return notify.commit_payloads("bench", [event])[0]


async def send_notifications(dsn: str, rate: float, seconds: float, connections: int = 8) -> tuple[int, float]:
    """NOTIFY at `rate`/s for `seconds`, each its own transaction, spread over `connections`: how
    many were sent, in how many seconds (more than `seconds` when the sender could not keep up)."""
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    done = 0

    async def one(k: int, due: float) -> None:
        nonlocal done
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", notify.EVENTS, one_event_payload(time.time()))
        done += 1

    try:
        began = time.perf_counter()
        total = int(rate * seconds)
        window: set[asyncio.Task[None]] = set()
        for k in range(total):
            task = asyncio.create_task(one(k, began + k / rate))
            window.add(task)
            task.add_done_callback(window.discard)
            if len(window) >= connections * 4:
                await asyncio.wait(window, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*window)
        return done, time.perf_counter() - began
    finally:
        await pool.close()


class Listener:
    """One LISTEN connection that parses each commit notification as the broker does and notes how late
    it came (the sender's wall clock is in the event: same machine, same clock)."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.first = self.last = 0.0  # arrival of the first and the last notification (perf_counter)
        self.tally = Tally()
        self.conn: asyncpg.Connection | None = None

    async def start(self, dsn: str) -> None:
        self.conn = await asyncpg.connect(dsn)
        await self.conn.add_listener(notify.EVENTS, self._heard)

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        _, _, events = notify.read_commit(payload)
        if events:
            self.latencies.append(time.time() - events[0].data["t"])
            self.last = time.perf_counter()
            self.first = self.first or self.last
            self.tally.add()

    @property
    def rate(self) -> float:
        """Notifications heard per second, from the first to the last."""
        return (len(self.latencies) - 1) / (self.last - self.first) if self.last > self.first else 0.0

    async def heard(self, count: int, within: float) -> None:
        """Until `count` notifications have come, or `within` seconds have passed."""
        self.tally.expect(count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.tally.reached.wait(), within)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
