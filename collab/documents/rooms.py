"""Documents in use: the connections on each, their updates stored then relayed, their snapshots.

An update from a client is parsed and checked (collab.documents.wire), appended to `doc:<name>` (type
`update`, the update's bytes in the blob) and only once committed published through the broker. Every
process's `DocumentManager` gets the committed event from the broker, in seq order, applies it to its
copy of the document and sends it to that document's connections, except the one it came from. So the
document in memory is always the log folded up to a seq, and a client never sees an update that a
restart could lose. Appends from all connections go to the store at once (group commit); a connection
may have many in flight, and a failed one closes it (1011) so that its client resyncs on reconnect.

A document is loaded when its first connection arrives (latest snapshot + the updates after it, the
`doc` projection's `load_state`) and dropped when its last one leaves. A snapshot (the whole document
as one update) is stored when the updates since the last one are both many (`snapshot_min`) and as
large in bytes as that snapshot, or very many (`snapshot_max`); when the document goes idle; and at
shutdown. Stored updates are the document's history (`?at=SEQ`) until an operator prunes them.

Awareness (cursors, names, colours) goes through the broker's `relay` and is never stored. It is sent
to every connection of the document, its sender included: y-websocket drops a connection that has
heard nothing for 30 s, and a lone client's own awareness renewals (every 15 s) are what it hears.
When a connection closes, the clients it announced are announced gone.

Bounds (collab.documents.limits): a document's size, and the awareness one connection may bring in.
A request for a whole state (a sync step 1, a query for awareness) is not answered again while the
connection's last answer to it is still waiting to be written (`Connection.tag_last`): that answer and
the updates relayed after it bring the client up to date.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from collab.documents import wire as documents
from collab.documents.appending import Append
from collab.documents.limits import (
    DEFAULT_LIMITS,
    DocumentLimits,
    DocumentTooLarge,
    admit_awareness,
    has_room_for,
)
from collab.documents.peer import Peer
from collab.documents.projection import DOCUMENT, UPDATE
from collab.documents.room import Room, channel_of
from collab.errors import CollabError, ProtocolError
from collab.events import Appended, NewEvent, Snapshot, StoredEvent
from collab.projections.base import load_state
from collab.realtime.broker import Broker
from collab.realtime.connection import DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_LIMIT, CloseCode, Transport
from collab.realtime.frames import binary_frame
from collab.store.base import EventStore
from collab.users import User

log = logging.getLogger(__name__)

_AWARENESS = "y-awareness"
# Tags of the whole states a connection asks for (`Connection.tag_last`).
_STEP2_TAG = "sync step 2"
_STATES_TAG = "awareness states"


class DocumentManager:
    """The documents of this process (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        broker: Broker,
        *,
        snapshot_min: int = 500,
        snapshot_max: int = 10_000,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        limits: DocumentLimits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.broker = broker
        # Looked up once: `asyncio.get_running_loop()` costs a getpid() system call on every call.
        self.loop = asyncio.get_running_loop()
        self.snapshot_min = snapshot_min
        self.snapshot_max = snapshot_max
        self.queue_limit = queue_limit
        self.queue_bytes = queue_bytes
        self.limits = limits
        self.rooms: dict[str, Room] = {}
        self.peers: dict[str, Peer] = {}
        self.closing = False
        self._tasks: set[asyncio.Future[Any]] = set()  # appends, loads, gap fills and snapshots under way
        self._saving = asyncio.Lock()
        # The append being published: the broker delivers synchronously in this process, so `_on_event`
        # knows whose update it is (not to echo it) and reuses the frame it came in. A broker that
        # delivered later would only cost the sender its own update back, which Yjs ignores.
        self._origin: tuple[str, int, str, bytes] | None = None
        self._dirty: list[Room] = []  # rooms with committed updates not sent yet
        self._flush_handle: asyncio.Handle | None = None
        # Appends under way, in the order they were handed to the store (= the order they commit in).
        self._appending: dict[Append, None] = {}
        # Figures for the monitor.
        self.updates_stored = 0
        self.updates_refused = 0
        self.awareness_refused = 0
        self.snapshots_saved = 0
        broker.subscribe(self._on_event, self._on_relay)

    # -- connections -------------------------------------------------------------------------------

    def new_peer(self, transport: Transport, user: User) -> Peer:
        return Peer(transport, user, queue_limit=self.queue_limit, queue_bytes=self.queue_bytes)

    async def join(self, name: str, peer: Peer) -> Room:
        """Load the document if needed, add `peer`, and send it the server's sync step 1 and the
        awareness states. `ProtocolError` for a bad name, `StoreError` if the document cannot load."""
        channel = channel_of(name)
        if self.closing:
            raise CollabError("the server is shutting down")
        room = self.rooms.get(channel)
        if room is None:
            room = self.rooms[channel] = Room(channel)
            self._track(asyncio.ensure_future(self._load(room)))
        room.joining += 1
        try:
            await asyncio.shield(room.ready)
            await room.settled.wait()
        except asyncio.CancelledError:
            # The connection went away while the document loaded. If nobody else is in it or waiting for
            # it, nobody would ever drop it: drop it now (its load still ends; the result is not used).
            if room.joining == 1 and not room.peers and self.rooms.get(channel) is room:
                del self.rooms[channel]
            raise
        finally:
            room.joining -= 1
        if self.rooms.get(channel) is not room:  # dropped while we waited (its last peer left): again
            return await self.join(name, peer)
        room.peers[peer.id] = peer
        self.peers[peer.id] = peer
        peer.send(documents.sync_step1_message(room.doc))
        self._send_states(room, peer)
        return room

    def receive(self, room: Room, peer: Peer, frame: bytes) -> asyncio.Future[None] | None:
        """Handle one frame from `peer`. Returns the append under way for an update (the caller bounds
        how many it has in flight), else None. `ProtocolError` for a malformed frame, `DocumentTooLarge`
        for an update the document has no room for: nothing of either was applied, stored or relayed."""
        message = documents.parse_message(frame)
        if message.type == documents.SYNC:
            if message.sync == documents.STEP1:
                if not peer.still_sending(_STEP2_TAG):
                    peer.send(documents.sync_step2_message(room.doc, message.payload))
                    peer.tag_last(_STEP2_TAG)
                return None
            update = message.payload
            if update == documents.EMPTY_UPDATE:
                return None
            if peer.read_only:
                self._refuse(peer, "read-only: your changes are not saved")
                return None
            # An update message is relayed as it came: the same bytes (a step 2 is relayed as an update).
            relay = frame if message.sync == documents.UPDATE else documents.update_message(update)
            if message.inserts and not has_room_for(room, len(relay), self.limits.max_bytes):
                reason = f"document full: this update would take it past {self.limits.max_bytes} bytes; not saved"
                self._refuse(peer, reason)
                raise DocumentTooLarge(reason)
            room.incoming_bytes += len(relay)
            user = peer.user
            append = Append(
                self.store.append(NewEvent(room.channel, UPDATE, None, update, user.id, user.name)),
                self.loop,
                room,
                peer,
                relay,
                self._committed,
                self._failed,
            )
            self._appending[append] = None
            append.step()
            return self._track(append.done)
        if message.type == documents.AWARENESS:
            self._awareness(room, peer, message, frame)
        elif message.type == documents.QUERY_AWARENESS and not peer.still_sending(_STATES_TAG):
            self._send_states(room, peer)
        # Auth messages and types this server does not know are ignored, as y-websocket's server does.
        return None

    def _send_states(self, room: Room, peer: Peer) -> None:
        states = room.awareness.states_message()
        if states is not None:
            peer.send(states)
            peer.tag_last(_STATES_TAG)

    async def leave(self, room: Room, peer: Peer) -> None:
        """`peer` is gone: announce its awareness clients gone; drop the document if it was the last."""
        self.peers.pop(peer.id, None)
        if room.peers.pop(peer.id, None) is None:
            return
        removal = room.awareness.removal_of(peer.id)
        if removal is not None:
            frame = documents.awareness_message(removal)
            self.broker.relay(room.channel, {"type": _AWARENESS, "update": removal, "frame": frame, "from": None})
        if not room.peers and self.rooms.get(room.channel) is room:
            del self.rooms[room.channel]
            if room.doc is not None and room.seq > room.snapshot_seq:
                self._snapshot(room)

    def _refuse(self, peer: Peer, reason: str) -> None:
        """An update not stored: counted, and said to the connection the first time (y-websocket logs
        `auth: permission denied` messages)."""
        self.updates_refused += 1
        peer.refused += 1
        if peer.refused == 1:
            peer.send(documents.permission_denied_message(reason))

    # -- storing and relaying ----------------------------------------------------------------------

    def _committed(self, append: Append, appended: Appended) -> None:
        """An append committed (in seq order, from `Append.step`): publish it, then send what this
        commit answered once the last of its appends is through."""
        self.updates_stored += 1
        append.room.incoming_bytes -= len(append.relay)
        event = appended.event
        if appended.new:
            self._origin = (event.channel, event.seq, append.peer.id, append.relay)
            try:
                self.broker.publish(event)
            finally:
                self._origin = None
        del self._appending[append]
        if self._dirty:
            following = next(iter(self._appending), None)
            if following is not None and following.waiting is not None and following.waiting.done():
                # The next append is committed too and resumes right after this one: it sends.
                self._schedule_flush()
            else:
                self._flush()

    def _failed(self, append: Append, error: BaseException) -> None:
        self._appending.pop(append, None)
        room, peer = append.room, append.peer
        room.incoming_bytes -= len(append.relay)
        log.warning("%s: update from %s not stored (%r); closing its connection", room.channel, peer.id, error)
        peer.close_soon(CloseCode.INTERNAL_ERROR, "the update could not be stored; reconnect to resync")
        if self._dirty:
            self._schedule_flush()

    def _on_event(self, event: StoredEvent) -> None:
        """A committed event from the broker (every channel's; in seq order per channel)."""
        room = self.rooms.get(event.channel)
        if room is None or event.type != UPDATE:
            return
        origin = self._origin
        update = event.blob or documents.EMPTY_UPDATE
        if origin is not None and origin[0] == event.channel and origin[1] == event.seq:
            self._relay(room, update, origin[3], origin[2])
        else:
            self._relay(room, update, None, None)
        if room.held is not None:
            room.held.append(event)
        else:
            self._fold(room, event)

    def _relay(self, room: Room, update: bytes, frame: bytes | None, origin: str | None) -> None:
        """Queue a committed update for the room's connections; `_flush` sends what a commit answered."""
        if not room.outgoing:
            self._dirty.append(room)
        room.outgoing.append((update, frame, origin))
        if self._origin is None:  # not from one of our commits (another process, a gap): send soon
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Send each room what this tick committed. One update goes out as it came in, to everyone but
        its sender. Several (a group commit answers many appends at once) go out merged into one update,
        one frame per connection instead of one per update: for every client, one Yjs transaction instead
        of many. A merge holds its receivers' own updates too when they come from more than one sender;
        Yjs skips what a client has already."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        for room in dirty:
            outgoing, room.outgoing = room.outgoing, []
            if len(outgoing) == 1:
                update, frame, origin = outgoing[0]
                frame = frame or documents.update_message(update)
            else:
                frame = documents.update_message(documents.merge_updates([item[0] for item in outgoing]))
                origins = {item[2] for item in outgoing}
                origin = origins.pop() if len(origins) == 1 else None
            wire = binary_frame(frame)  # framed once for every peer
            for peer in room.peers.values():
                if peer.id != origin:
                    peer.send_wire(wire)

    def _fold(self, room: Room, event: StoredEvent) -> None:
        if event.seq <= room.seq:
            return
        if event.seq != room.seq + 1:
            # A delivery this process missed (another process's broker hiccup): fetch the gap.
            log.warning("%s: update %d after %d, reading the gap from the store", room.channel, event.seq, room.seq)
            room.held = [event]
            room.settled.clear()
            self._track(asyncio.ensure_future(self._fill_gap(room, event.seq)))
            return
        DOCUMENT.apply(room.doc, event)
        room.seq = event.seq
        size = len(event.blob or b"")
        room.tail_bytes += size
        if room.size is not None:
            room.size += size
        tail = room.seq - room.snapshot_seq
        many = tail >= self.snapshot_min * room.jitter and room.tail_bytes >= room.snapshot_bytes
        if many or tail >= self.snapshot_max:
            self._snapshot(room)

    async def _load(self, room: Room) -> None:
        try:
            loaded = await load_state(self.store, DOCUMENT, room.channel)
        except (Exception, asyncio.CancelledError) as error:
            log.error("%s: cannot load the document: %r", room.channel, error)
            if self.rooms.get(room.channel) is room:
                del self.rooms[room.channel]
            failure = error if isinstance(error, Exception) else CollabError("loading was cancelled")
            room.ready.set_exception(failure)
            room.ready.exception()  # marked as retrieved: the joiners waiting (if any) raise it
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        room.doc, room.seq, room.snapshot_seq = loaded.state, loaded.seq, loaded.snapshot_seq
        self._release(room)
        room.ready.set_result(None)
        if room.seq - room.snapshot_seq >= self.snapshot_min:
            self._snapshot(room)  # a long tail (a crash, or snapshots that failed): load faster next time

    async def _fill_gap(self, room: Room, before: int) -> None:
        try:
            missing = await self.store.read(room.channel, after=room.seq, before=before)
        except CollabError as error:
            log.error("%s: cannot read updates %d..%d: %s", room.channel, room.seq + 1, before - 1, error)
            missing = []
        for event in missing:
            update = event.blob or documents.EMPTY_UPDATE
            try:
                documents.check_update(update)
            except ProtocolError:
                log.error("%s: stored update %d does not decode; not relayed", room.channel, event.seq)
                continue
            self._relay(room, update, None, None)
        assert room.held is not None
        room.held[:0] = missing
        self._release(room)

    def _release(self, room: Room) -> None:
        held, room.held = room.held or [], None
        for event in held:
            if room.held is not None:  # a new gap: the rest waits for it
                room.held.append(event)
            else:
                self._fold(room, event)
        if room.held is None:
            room.settled.set()

    def _snapshot(self, room: Room) -> None:
        blob = DOCUMENT.dump(room.doc)
        room.snapshot_seq, room.snapshot_bytes, room.tail_bytes = room.seq, len(blob), 0
        room.size, room.measured_seq = len(blob), room.seq
        self._track(asyncio.ensure_future(self._save(room.channel, room.seq, blob)))

    async def _save(self, channel: str, seq: int, blob: bytes) -> None:
        try:
            # One at a time: each is a write transaction of its own, and while it holds SQLite's write
            # lock the group commit of every update waits (documents fed at the same rate reach their
            # thresholds together).
            async with self._saving:
                await self.store.save_snapshot(Snapshot(channel, seq, blob=blob))
            self.snapshots_saved += 1
        except CollabError as error:
            log.warning("snapshot of %s at %d failed: %s", channel, seq, error)

    def _track(self, task: asyncio.Future[Any]) -> asyncio.Future[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- awareness ---------------------------------------------------------------------------------

    def _awareness(self, room: Room, peer: Peer, message: documents.Message, frame: bytes) -> None:
        """Pass on what the limits admit of a connection's awareness update (to every process)."""
        entries = message.entries
        kept, refused = admit_awareness(entries, room.awareness, peer.announced, self.limits)
        if refused:
            self.awareness_refused += refused
            peer.awareness_refused += refused
            if peer.awareness_refused == refused:  # the first time
                log.info(
                    "%s: awareness from %s (%s) over the limits (%d client ids, %d bytes a state): dropped",
                    room.channel,
                    peer.id,
                    peer.user.id,
                    self.limits.awareness_clients,
                    self.limits.awareness_state_bytes,
                )
        if not kept:
            if refused:
                peer.send(documents.EMPTY_AWARENESS)  # what it says is dropped, but the socket is alive
            return
        update = message.payload
        if len(kept) != len(entries):
            update = documents.awareness_update(kept)
            frame = documents.awareness_message(update)
        self.broker.relay(room.channel, {"type": _AWARENESS, "update": update, "frame": frame, "from": peer.id})

    def _on_relay(self, channel: str, frame: dict[str, Any]) -> None:
        if frame.get("type") != _AWARENESS:
            return
        room = self.rooms.get(channel)
        if room is None:
            return
        sender = frame["from"]
        origin = sender if sender in room.peers else None
        if room.awareness.apply(frame["update"], origin):
            wire = binary_frame(frame["frame"])
            for peer in room.peers.values():
                peer.send_wire(wire)

    # -- shutdown ----------------------------------------------------------------------------------

    async def close_peers(self, code: int, reason: str) -> None:
        """Shutdown, first step: close every connection (after what is queued for it)."""
        self.closing = True
        peers = list(self.peers.values())
        await asyncio.gather(*(peer.close(code, reason) for peer in peers), return_exceptions=True)

    async def close(self) -> None:
        """Shutdown, before the store closes: wait for the appends under way, snapshot what changed."""
        self.closing = True
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for room in list(self.rooms.values()):
            if room.doc is not None and room.held is None and room.seq > room.snapshot_seq:
                self._snapshot(room)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
