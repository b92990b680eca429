"""Fan-out between server processes. Handlers append to the store, then publish; every process's hub
delivers what the broker hands it to its own sockets. The handlers never know which broker runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from collab.events import StoredEvent

Deliver = Callable[[StoredEvent], None]
Relay = Callable[[str, dict], None]


class Broker(Protocol):
    """Contract:
    - `publish` is called only after the event is committed; each subscriber (one per process) gets
      each published event once, and the events of one channel in seq order.
    - `relay` carries frames that are not stored (cursor moves, strokes in progress, presence of
      other processes): at most once, no order across channels.
    - Delivery callbacks run on the event loop and must not block.
    """

    def subscribe(self, deliver: Deliver, relay: Relay) -> None: ...

    def publish(self, event: StoredEvent) -> None: ...

    def relay(self, channel: str, frame: dict) -> None: ...

    async def close(self) -> None: ...


class InProcessBroker:
    """One process: publishing is calling the local hub directly."""

    def __init__(self) -> None:
        self._deliver: list[Deliver] = []
        self._relay: list[Relay] = []

    def subscribe(self, deliver: Deliver, relay: Relay) -> None:
        self._deliver.append(deliver)
        self._relay.append(relay)

    def publish(self, event: StoredEvent) -> None:
        for deliver in self._deliver:
            deliver(event)

    def relay(self, channel: str, frame: dict) -> None:
        for relay in self._relay:
            relay(channel, frame)

    async def close(self) -> None:
        self._deliver.clear()
        self._relay.clear()
