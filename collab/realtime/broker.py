"""Fan-out between server processes. Handlers append to the store, then publish; every process's hub
delivers what the broker hands it to its own sockets. The handlers never know which broker runs."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Protocol

from collab.events import StoredEvent

Deliver = Callable[[StoredEvent], None]
Relay = Callable[[str, dict], None]


class Broker(Protocol):
    """Fan-out of committed events and of frames that are not stored, to every subscriber.

    Contract (tests/store/test_broker_contract.py runs it on every implementation):
    - `publish` is called only after the event is committed; each subscriber (one per process) gets
      each published event exactly once, and the events of one channel in the order they were
      published (their seq order). No order is promised across channels.
    - `relay` carries frames that are not stored (cursor moves, strokes in progress, presence of
      other processes): at most once to each subscriber, no order across channels. The broker never
      writes anything to the store.
    - Delivery callbacks run on the event loop and must not block; a subscriber added later gets only
      what is published after it subscribed (no replay: the store is where history lives).
    - After `close`, nothing is delivered any more.
    """

    kind: str  # "memory", "postgres"
    node: str  # this process's id among the processes that share the broker
    state: str  # what /healthz shows: "listening" while nothing can be missed

    @property
    def healthy(self) -> bool:
        """False while this process may be missing other processes' events (it catches up by itself)."""
        ...

    def subscribe(self, deliver: Deliver, relay: Relay) -> None:
        """Add a subscriber: `deliver` gets committed events, `relay` the frames that are not stored."""
        ...

    def publish(self, event: StoredEvent) -> None:
        """Hand a committed event to every subscriber (see the contract)."""
        ...

    def relay(self, channel: str, frame: dict) -> None:
        """Hand a frame that is not stored to every subscriber, at most once."""
        ...

    async def close(self) -> None:
        """Stop delivering; idempotent."""
        ...


class InProcessBroker:
    """One process: publishing is calling the local hub directly."""

    kind = "memory"
    state = "listening"
    healthy = True

    def __init__(self) -> None:
        self.node = f"{socket.gethostname()}:{os.getpid()}"  # the only process: its host and pid say which
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
