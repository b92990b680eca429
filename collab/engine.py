"""The composition root: the store, the broker, the channel manager and the built-in channel kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from collab.boards.channels import register_boards
from collab.chat.channels import register_chat
from collab.chat.rooms import Rooms
from collab.documents.rooms import DocumentManager
from collab.operators.audit import register_audit
from collab.operators.media import Links, MediaLibrary, no_links, register_media
from collab.operators.monitor import Monitor
from collab.realtime.broker import Broker, InProcessBroker
from collab.realtime.dispatch import Dispatcher
from collab.realtime.hub import ChannelManager
from collab.store.base import EventStore
from collab.store.engine import DEFAULT_DATA_DIR
from collab.store.media import MediaStore
from collab.store.positions import ReadPositions
from collab.store.sql import SqlEventStore
from collab.store.stats import DatabaseStats


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
        media_links: Links = no_links,
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
        dispatcher = Dispatcher(manager, rooms)
        monitor = Monitor(manager, dispatcher, store, DatabaseStats(store.engine), documents.peers)
        monitor.register()
        manager.shutdown_hooks.insert(0, monitor.stop)  # its last alerts are stored before the store closes
        media = MediaLibrary(MediaStore(store.engine), manager, Path(media_dir), links=media_links)
        return cls(store, broker, manager, rooms, dispatcher, documents, monitor, media)

    async def close(self) -> None:
        for hook in self.manager.shutdown_hooks:
            await hook()
        await self.broker.close()
        await self.store.close()
