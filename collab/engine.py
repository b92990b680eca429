"""The composition root: every part of the engine built from plain values, started and stopped in one
order. `app/` (the HTTP shell) and `collab` on the command line both open an `Engine` and call it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from collab.boards.channels import Board, register_boards
from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.chat.channels import register_chat
from collab.chat.conversations import Conversations
from collab.chat.direct import DirectMessages
from collab.chat.frames import register_chat_frames
from collab.chat.rooms import MAX_ROOMS_PER_USER, Rooms
from collab.documents.limits import DEFAULT_LIMITS, DocumentLimits
from collab.documents.projection import DOCUMENT
from collab.documents.rooms import DocumentManager
from collab.naming import channel_kind
from collab.operators.audit import AUDIT, register_audit
from collab.operators.history import History
from collab.operators.media import Links, MediaLibrary, no_links, register_media
from collab.operators.moderation import REFRESH_SECONDS, Moderation
from collab.operators.monitor import Monitor, MonitorConfig
from collab.operators.revoked import RevocationList
from collab.operators.search import Search
from collab.operators.uploads import UploadLimits
from collab.projections.registry import Projections
from collab.realtime.broadcast import register_broadcast
from collab.realtime.broker import Broker, InProcessBroker
from collab.realtime.connection import DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_LIMIT
from collab.realtime.dispatch import MAX_SUBSCRIPTIONS, Dispatcher
from collab.realtime.hub import ChannelManager
from collab.realtime.publishing import Publisher, PublishLimits
from collab.realtime.session import Session
from collab.store.base import EventStore
from collab.store.conversations import DmChannels
from collab.store.engine import DEFAULT_DATA_DIR
from collab.store.media import MediaStore
from collab.store.pg_broker import PostgresBroker, asyncpg_dsn
from collab.store.positions import ReadPositions
from collab.store.revocations import RevocationStore
from collab.store.sql import SqlEventStore
from collab.store.stats import DatabaseStats

# Every projection of the built-in wings, by channel kind: the server's boards and documents, `collab
# replay` and prune fold the log through these.
PROJECTIONS = Projections([KANBAN, DRAWING, DOCUMENT])


@dataclass
class Engine:
    store: EventStore
    broker: Broker
    manager: ChannelManager
    rooms: Rooms
    dispatcher: Dispatcher
    documents: DocumentManager
    monitor: Monitor
    media: MediaLibrary
    moderation: Moderation
    history: History
    search: Search
    boards: tuple[Board, Board]
    publisher: Publisher
    _revocation_poll: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        broker: Broker | str | None = None,
        replay_batch: int = 1000,
        channel_modules: Sequence[Callable[[ChannelManager], None]] = (),
        media_dir: str | Path = Path(DEFAULT_DATA_DIR) / "media",
        media_links: Links = no_links,
        upload_limits: UploadLimits | None = None,
        monitor: MonitorConfig | None = None,
        revoked: RevocationList | None = None,
        revocation_refresh: float = REFRESH_SECONDS,
        projections: Projections = PROJECTIONS,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        document_limits: DocumentLimits = DEFAULT_LIMITS,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        max_rooms_per_user: int = MAX_ROOMS_PER_USER,
        publish_limits: PublishLimits | None = None,
    ) -> Engine:
        """Open the store and register the built-in channel kinds, then each of `channel_modules`
        (a function that registers its kinds on the manager: see docs/channels.md).

        - `media_dir`: where the media library keeps its files; `media_links`: the links the HTTP layer
          gives an item (added to the library's entries and events); `upload_limits`: what one user may
          upload (a byte quota, a rate; None: no limit but the HTTP layer's size limit).
        - `monitor`: sample with this configuration from now on; None leaves the monitor idle (a test
          then calls `engine.monitor.start()` or `tick()` itself).
        - `revoked`: the revocation list the caller checks tokens against (the authenticator's); the
          engine fills it from the database now and every `revocation_refresh` seconds.
        - `broker`: "memory" (this process only), "postgres" (LISTEN/NOTIFY between every process on
          the database), or a broker object (tests share one between engines).
        - `projections`: the boards' projections by kind (tests swap in other snapshot intervals).
        - `queue_limit`, `queue_bytes`: the outbox of each document connection (frames, bytes; the shell
          gives its `/ws` sessions theirs); `document_limits`: a document's size and its awareness.
        - `max_subscriptions`: channels one socket may subscribe to besides its own;
          `max_rooms_per_user`: chat rooms one user may create (`limit_exceeded` beyond either).
        - `publish_limits`: what backends may publish (channels a call, a rate per service).
        """
        store = await SqlEventStore.open(database_url)
        if broker == "postgres":
            # Every process on the database hears every commit (collab.store.pg_broker).
            broker = await PostgresBroker.open(store, asyncpg_dsn(database_url))
        elif broker is None or broker == "memory":
            broker = InProcessBroker()
        elif isinstance(broker, str):
            raise ValueError(f"unknown broker {broker!r}")
        manager = ChannelManager(store, broker, replay_batch=replay_batch)
        positions = ReadPositions(store.engine, read_small=store.read_small)
        rooms = Rooms(manager, positions, max_per_user=max_rooms_per_user)
        await rooms.load()
        direct = DirectMessages(manager)
        register_chat(manager, rooms, direct)
        manager.event_listeners.append(rooms.on_event)
        heads = asyncio.create_task(rooms.run_heads(), name="room-heads")

        async def stop_heads() -> None:
            heads.cancel()

        manager.shutdown_hooks.append(stop_heads)
        presence = asyncio.create_task(manager.cluster.run(), name="cluster-presence")

        async def stop_presence() -> None:
            presence.cancel()

        manager.shutdown_hooks.append(stop_presence)
        boards = register_boards(
            manager, kanban_projection=projections.of_kind("kanban"), drawing_projection=projections.of_kind("draw")
        )
        media_kind = register_media(manager)
        register_audit(manager)
        register_broadcast(manager)
        for register in channel_modules:
            register(manager)
        # Documents are the broker's second subscriber (after the hub); their final snapshots are taken
        # before the store closes.
        documents = DocumentManager(
            store, broker, queue_limit=queue_limit, queue_bytes=queue_bytes, limits=document_limits
        )
        manager.shutdown_hooks.append(documents.close)
        dispatcher = Dispatcher(manager, max_subscriptions=max_subscriptions)
        register_chat_frames(dispatcher, manager, rooms, direct, Conversations(DmChannels(store.engine), store))
        sampler = Monitor(manager, dispatcher, store, DatabaseStats(store.engine), documents.peers)
        sampler.register()
        manager.shutdown_hooks.insert(0, sampler.stop)  # its last alerts are stored before the store closes
        media = MediaLibrary(
            MediaStore(store.engine), manager, Path(media_dir), links=media_links, limits=upload_limits
        )
        media.listen(media_kind)
        moderation = Moderation(
            manager,
            documents,
            rooms,
            RevocationStore(store.engine),
            revoked if revoked is not None else RevocationList(),
        )
        engine = cls(
            store,
            broker,
            manager,
            rooms,
            dispatcher,
            documents,
            sampler,
            media,
            moderation,
            History(store),
            Search(store),
            boards,
            Publisher(manager, publish_limits),
        )
        await moderation.refresh()  # every revocation stored so far, before the first connection
        manager.listen_to(channel_kind(AUDIT), moderation.on_event)
        engine._revocation_poll = asyncio.create_task(moderation.run_refresh(revocation_refresh), name="revocations")
        if monitor is not None:
            sampler.start(monitor)
        return engine

    async def connect(
        self,
        session: Session,
        channel: str,
        since: int | None,
        *,
        announce: Callable[[int], None],
        new_user: bool = False,
    ) -> None:
        """A `/ws` socket joins its own channel, in the one order that loses nothing: joined first (it
        is owed every message sent from now on; `announce(head)` sends its welcome), then registered
        (DMs and kicks find it once it has its welcome), then a new room is created (that waits for
        the database's write lock; the join holds the room's events until then: `ChannelManager.join`),
        then it gets the room list. `new_user`: the user was made for this connection (a new guest),
        so it has no read positions to look up. `CollabError` if it may not join."""

        def welcome_then_register(head: int) -> None:
            announce(head)
            self.manager.add_session(session)

        await self.manager.join(session, channel, since, announce=welcome_then_register)
        await self.rooms.send_list(session, new_user=new_user)

    async def disconnect(self, session: Session) -> None:
        """The socket's handler is done: it leaves every channel and is forgotten."""
        await self.manager.remove_session(session)
        session.ended()

    async def close(self) -> None:
        """Stop in the reverse order of `open`: moderation's poll and tasks, the monitor (its last
        alerts stored), the channels, documents and room heads, then the broker and the store."""
        poll, self._revocation_poll = self._revocation_poll, None
        if poll is not None:
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poll
        await self.moderation.close_tasks()
        for hook in self.manager.shutdown_hooks:
            await hook()
        await self.broker.close()
        await self.store.close()
