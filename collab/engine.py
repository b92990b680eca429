"""The composition root: the store, the broker, the channel manager and the built-in channel kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from collab.boards.channels import register_boards
from collab.chat.channels import register_chat
from collab.chat.frames import register_chat_frames
from collab.chat.rooms import Rooms
from collab.documents.rooms import DocumentManager
from collab.operators.media import MediaLibrary, register_media
from collab.operators.moderation import register_audit
from collab.operators.monitor import Monitor
from collab.realtime.broker import Broker, InProcessBroker
from collab.realtime.dispatch import Dispatcher
from collab.realtime.hub import ChannelManager
from collab.realtime.session import Session
from collab.store.base import EventStore
from collab.store.engine import DEFAULT_DATA_DIR
from collab.store.positions import ReadPositions
from collab.store.sql import SqlEventStore


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

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        broker: Broker | None = None,
        replay_batch: int = 1000,
        channel_modules: Sequence[Callable[[ChannelManager], None]] = (),
        media_dir: str | Path = Path(DEFAULT_DATA_DIR) / "media",
    ) -> Engine:
        """Open the store and register the built-in channel kinds, then each of `channel_modules`
        (a function that registers its kinds on the manager: see docs/channels.md). The media library
        keeps its files in `media_dir`; the monitor samples once `monitor.start()` is called."""
        store = await SqlEventStore.open(database_url)
        broker = broker or InProcessBroker()
        manager = ChannelManager(store, broker, replay_batch=replay_batch)
        rooms = Rooms(manager, ReadPositions(store.engine))
        await rooms.load()
        register_chat(manager, rooms)
        manager.event_listeners.append(rooms.on_event)
        heads = asyncio.create_task(rooms.run_heads(), name="room-heads")

        async def stop_heads() -> None:
            heads.cancel()

        manager.shutdown_hooks.append(stop_heads)
        register_boards(manager)
        register_media(manager)
        register_audit(manager)
        for register in channel_modules:
            register(manager)
        # Documents are the broker's second subscriber (after the hub); their final snapshots are taken
        # before the store closes.
        documents = DocumentManager(store, broker)
        manager.shutdown_hooks.append(documents.close)
        dispatcher = Dispatcher(manager)
        register_chat_frames(dispatcher, manager, rooms)
        monitor = Monitor(manager, dispatcher, store, store.engine, documents.peers)
        monitor.register()
        manager.shutdown_hooks.insert(0, monitor.stop)  # its last alerts are stored before the store closes
        media = MediaLibrary(store.engine, manager, Path(media_dir))
        return cls(store, broker, manager, rooms, dispatcher, documents, monitor, media)

    async def connect(
        self, session: Session, channel: str, since: int | None, *, announce: Callable[[int], None]
    ) -> None:
        """A `/ws` socket joins its own channel, in the one order that loses nothing: joined first (it
        is owed every message sent from now on; `announce(head)` sends its welcome), then registered
        (DMs and kicks find it once it has its welcome), then a new room is created (that waits for
        the database's write lock), then it gets the room list. `CollabError` if it may not join."""
        await self.manager.join(session, channel, since, announce=announce)
        self.manager.add_session(session)
        await self.rooms.ensure(channel, session)
        await self.rooms.send_list(session)

    async def disconnect(self, session: Session) -> None:
        """The socket's handler is done: it leaves every channel and is forgotten."""
        await self.manager.remove_session(session)
        session.ended()

    async def close(self) -> None:
        for hook in self.manager.shutdown_hooks:
            await hook()
        await self.broker.close()
        await self.store.close()
