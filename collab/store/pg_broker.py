"""Fan-out between server processes through PostgreSQL: LISTEN/NOTIFY, with the log as the truth.

Every process's writer notifies the others of each committed batch inside the batch's transaction
(collab.store.notify). This broker listens on one connection of its own and hands committed events to
its subscribers (the hub, the documents) in seq order per channel, each once, with no gap:

- It keeps, per channel, the last seq it delivered. An event with the next seq is delivered at once; one
  it has delivered already is dropped (its own commits are heard back, and a local publish may race its
  notification); one that skips ahead starts a gap fill: the missing seqs are read from the log, and
  whatever arrives for that channel meanwhile waits behind them.
- A notification without its events (they did not fit) is filled from the log the same way.
- When the listening connection drops (a database restart, `pg_terminate_backend`, a network cut) the
  broker says so (`state`), reconnects with backoff, and then reads every channel it knows up to the
  channel's head: what was committed while it was deaf is delivered, late but complete and in order.
- A local `publish` goes through the same sequencer, so an event is delivered here as soon as its own
  commit returns, without waiting for the notification. When it skips ahead (another process committed
  the seq before it a moment ago, and that notification is still on its way) it waits for the listener
  rather than reading the log: notifications arrive in commit order, so the one it misses comes before
  this process's own. Only if this process's own notification arrives and the gap is still there (the
  missing events did not travel inline), or the listener is away, is the gap read from the log.

Relayed frames (never stored) are delivered here at once and sent to the others on a notification
channel of their own, from a bounded queue drained by one task: at most once, dropped when the queue is
full or a frame is too large, never in the way of committed events (which travel inside the writer's
transactions, not through this queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import asyncpg

from collab.events import StoredEvent
from collab.store import notify
from collab.store.sql import SqlEventStore

log = logging.getLogger(__name__)

Deliver = Callable[[StoredEvent], None]
Relay = Callable[[str, dict], None]

RELAY_QUEUE = 1000
READ_BATCH = 1000
RECONNECT_MAX_SECONDS = 5.0
# How long a local event that skipped ahead waits for the listener before the log is read instead.
LISTENER_GRACE_SECONDS = 1.0


def new_node_id() -> str:
    return os.urandom(4).hex()


class PostgresBroker:
    """`collab.realtime.broker.Broker` across processes on one PostgreSQL database (see the module)."""

    kind = "postgres"

    def __init__(self, store: SqlEventStore, dsn: str, *, node: str | None = None) -> None:
        self.store = store
        self.dsn = dsn
        self.node = node or new_node_id()
        self.state = "starting"  # "listening", "catching up", "reconnecting", "closed"
        self._deliver: list[Deliver] = []
        self._relay: list[Relay] = []
        self._delivered: dict[str, int] = {}
        self._held: dict[str, list[StoredEvent]] = {}  # channels being filled from the log
        self._wanted: dict[str, int] = {}  # channels being filled: read at least up to this seq
        self._filling: dict[str, asyncio.Future[None]] = {}  # the task filling each of them
        self._conn: asyncpg.Connection | None = None
        self._relays: deque[str] = deque(maxlen=RELAY_QUEUE)
        self._relay_ready = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closed = False
        # Figures for the monitor and /healthz.
        self.notifications = 0
        self.gaps_filled = 0
        self.relays_dropped = 0
        self.reconnects = 0

    @classmethod
    async def open(cls, store: SqlEventStore, dsn: str, *, node: str | None = None) -> PostgresBroker:
        """Listen (the first connection must succeed), then make the store notify from now on."""
        broker = cls(store, dsn, node=node)
        await broker._connect()
        store.writer.notify_node = broker.node
        broker.state = "listening"
        broker._supervisor = asyncio.create_task(broker._supervise(), name="broker-listener")
        broker._spawn(broker._send_relays())
        return broker

    # -- the Broker interface --------------------------------------------------------------------

    def subscribe(self, deliver: Deliver, relay: Relay) -> None:
        self._deliver.append(deliver)
        self._relay.append(relay)

    def publish(self, event: StoredEvent) -> None:
        if not self._closed:
            self._offer(event, local=True)

    def relay(self, channel: str, frame: dict) -> None:
        if self._closed:
            return
        payload = notify.relay_payload(self.node, channel, frame)
        # Local subscribers get the frame itself (it may be changed by them: they get their copy first).
        for relay in self._relay:
            relay(channel, dict(frame))
        if payload is None:
            self.relays_dropped += 1
            return
        if len(self._relays) == self._relays.maxlen:
            self.relays_dropped += 1  # the oldest goes: relayed frames are passing motion
        self._relays.append(payload)
        self._relay_ready.set()

    async def live_nodes(self) -> set[str]:
        """The nodes listening on this database now (their listener connections are named after them in
        pg_stat_activity): what the monitor asks before resolving a gone node's alerts."""
        prefix = "collab-broker-"
        async with self.store.engine.connect() as conn:
            rows = await conn.exec_driver_sql(
                "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'collab-broker-%'"
            )
            return {name[len(prefix) :] for (name,) in rows}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.state = "closed"
        self._deliver.clear()
        self._relay.clear()
        if self.store.writer.notify_node == self.node:
            self.store.writer.notify_node = None
        tasks = [self._supervisor, *self._tasks, *self._filling.values()]
        for task in tasks:
            if task is not None:
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)

    @property
    def healthy(self) -> bool:
        return self.state == "listening"

    # -- sequencing ------------------------------------------------------------------------------

    def _offer(self, event: StoredEvent, *, local: bool = False) -> None:
        channel = event.channel
        held = self._held.get(channel)
        if held is not None:
            last = self._delivered.get(channel, 0)
            if event.seq == last + 1:
                self._hand_out(event)
                self._release(channel)
            elif event.seq > last + 1:
                held.append(event)
            return
        last = self._delivered.get(channel)
        if last is None or event.seq == last + 1:
            self._hand_out(event)
        elif event.seq > last + 1:
            self._held[channel] = [event]
            if local and self.state == "listening":
                # The seqs before it were committed by another process a moment ago: their notification
                # comes before ours (see the module), which asks for the log if the gap is still there.
                asyncio.get_running_loop().call_later(LISTENER_GRACE_SECONDS, self._want, channel, event.seq - 1)
            else:
                self._want(channel, event.seq - 1)

    def _release(self, channel: str) -> None:
        """Hand out what a held channel holds, in seq order from its next seq on; stop holding it when
        nothing is left and nothing more is wanted (a fill task, if any, then finds nothing to do)."""
        held = self._held[channel]
        held.sort(key=lambda event: event.seq)
        last = self._delivered.get(channel, 0)
        rest: list[StoredEvent] = []
        for event in held:
            if event.seq <= last:
                continue
            if event.seq == last + 1 and not rest:
                self._hand_out(event)
                last = event.seq
            else:
                rest.append(event)
        if not rest and self._wanted.get(channel, 0) <= last:
            del self._held[channel]
            self._wanted.pop(channel, None)
        else:
            self._held[channel] = rest

    def _want(self, channel: str, seq: int) -> None:
        """Make sure `channel` is delivered up to `seq` at least: hold what arrives for it meanwhile and
        read what is missing from the log (one fill task per channel at a time)."""
        if self._closed or seq <= self._delivered.get(channel, 0):
            return
        self._wanted[channel] = max(self._wanted.get(channel, 0), seq)
        self._held.setdefault(channel, [])
        filling = self._filling.get(channel)
        if filling is None or filling.done():
            task = asyncio.ensure_future(self._read_gap(channel))
            self._filling[channel] = task
            task.add_done_callback(
                lambda done: self._filling.pop(channel, None) if self._filling.get(channel) is done else None
            )

    async def _read_gap(self, channel: str) -> None:
        """Deliver `channel` from the log up to what is wanted, then what was held meanwhile."""
        delay = 0.05
        while not self._closed and channel in self._held:
            after = self._delivered.get(channel, 0)
            until = self._wanted.get(channel, 0)
            if until > after:
                try:
                    missing = await self.store.read(channel, after=after, before=until + 1, limit=READ_BATCH)
                except Exception as error:  # the database is away: try again, nothing is skipped
                    log.warning("%s: cannot read seqs %d..%d yet (%s); retrying", channel, after + 1, until, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                    continue
                if channel not in self._held:
                    return  # the listener brought what was missing meanwhile
                if missing:
                    self.gaps_filled += 1
                    for event in missing:
                        if event.seq > self._delivered.get(channel, 0):
                            self._hand_out(event)
                    if len(missing) == READ_BATCH:
                        continue
                elif until > self._delivered.get(channel, 0):
                    # Nothing stored there any more (an operator pruned it meanwhile): nothing to wait for.
                    log.warning("%s: seqs %d..%d are not in the log; going on after them", channel, after + 1, until)
                    self._delivered[channel] = until
            self._release(channel)
            rest = self._held.get(channel)
            if rest:  # still a gap: a seq that skips ahead of what was read; read up to it
                self._wanted[channel] = max(self._wanted.get(channel, 0), rest[0].seq - 1)

    def _hand_out(self, event: StoredEvent) -> None:
        self._delivered[event.channel] = event.seq
        for deliver in self._deliver:
            try:
                deliver(event)
            except Exception:
                log.exception("a subscriber failed on %s #%d", event.channel, event.seq)

    # -- listening -------------------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": f"collab-broker-{self.node}"})
        await conn.add_listener(notify.EVENTS, self._on_commit)
        await conn.add_listener(notify.RELAYS, self._on_relay)
        conn.add_termination_listener(lambda _: self._lost.set())
        self._conn = conn

    def _on_commit(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notifications += 1
        try:
            _node, ranges, events = notify.read_commit(payload)
        except (ValueError, KeyError, TypeError) as error:
            log.error("a commit notification does not parse (%s); ignored", error)
            return
        if events is not None:
            for event in events:
                self._offer(event)
        for channel, (first, last) in ranges.items():
            if channel not in self._delivered and channel not in self._held:
                # A channel new to this process: what it missed before now is the log's, not ours to send.
                self._delivered[channel] = first - 1
            self._want(channel, last)

    def _on_relay(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            node, channel, frame = notify.read_relay(payload)
        except (ValueError, KeyError, TypeError) as error:
            log.error("a relay notification does not parse (%s); ignored", error)
            return
        if node == self.node:
            return  # delivered here when it was relayed
        for relay in self._relay:
            relay(channel, frame)

    async def _supervise(self) -> None:
        """Wait for the listening connection to drop; reconnect, then catch every known channel up."""
        while not self._closed:
            await self._lost.wait()
            self._lost.clear()
            self.state = "reconnecting"
            log.warning("broker: lost the listening connection; reconnecting")
            with contextlib.suppress(Exception):
                if self._conn is not None:
                    self._conn.terminate()
            delay = 0.1
            while not self._closed:
                try:
                    await self._connect()
                    break
                except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                    log.warning("broker: cannot listen yet (%s); again in %.1f s", error, delay)
                    await asyncio.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            self.reconnects += 1
            self.state = "catching up"
            await self._catch_up()
            if not self._lost.is_set():
                self.state = "listening"
                log.info("broker: listening again, caught up")

    async def _catch_up(self) -> None:
        """Read every channel this process has delivered up to its head (what was missed while deaf)."""
        while not self._closed:
            try:
                heads = await self.store.heads(list(self._delivered))
                break
            except Exception as error:
                log.warning("broker: cannot read the heads yet (%s)", error)
                await asyncio.sleep(0.5)
        for channel, head in heads.items():
            self._want(channel, head)
        while self._filling and not self._closed:
            await asyncio.wait(list(self._filling.values()))

    async def _send_relays(self) -> None:
        while not self._closed:
            if not self._relays:
                self._relay_ready.clear()
                await self._relay_ready.wait()
                continue
            payload = self._relays.popleft()
            conn = self._conn
            if conn is None or self.state != "listening":
                self.relays_dropped += 1
                continue
            try:
                await conn.execute("SELECT pg_notify($1, $2)", notify.RELAYS, payload)
            except Exception as error:  # at most once: a frame that does not go now is dropped
                self.relays_dropped += 1
                log.debug("relay not sent: %s", error)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://…` (SQLAlchemy's) as asyncpg wants it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
