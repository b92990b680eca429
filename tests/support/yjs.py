"""A y-websocket client on pycrdt, for tests: the same messages a `WebsocketProvider` sends (sync step 1
on connect, step 2 in answer to the server's step 1, one update message per local transaction,
awareness), over aiohttp's client socket. Every wait has a condition and a deadline; no sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import ClientWebSocketResponse, WSMsgType
from pycrdt import (
    Decoder,
    Doc,
    Encoder,
    Text,
    TransactionEvent,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from support.waiting import DEADLINE

ROOT = "content"
T = TypeVar("T")


class Changes:
    """Shared by a test's clients: set whenever any of them receives a frame."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def until(self, condition: Callable[[], bool], what: str, seconds: float = DEADLINE) -> None:
        """Wait until `condition()` holds: checked whenever a client gets a frame, and every 10 ms for
        conditions on the server's side (an update stored, a counter)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            self.event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), min(remaining, 0.01))


async def close_code(ws: ClientWebSocketResponse, within: float = DEADLINE) -> int | None:
    """Read a document socket until the server closes it (skipping its sync messages): the code in the
    server's close frame (the client's own `close_code` is 1006 when the server dropped TCP first)."""
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if msg.type is WSMsgType.CLOSE:
                return msg.data
            if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return ws.close_code
            assert msg.type is WSMsgType.BINARY, msg


class YClient:
    def __init__(self, connect: Callable[[], Any], changes: Changes, doc: Doc | None = None) -> None:
        self._connect = connect
        self.changes = changes
        self.doc = doc or Doc()
        self.text = self.doc.get(ROOT, type=Text)
        self.ws: ClientWebSocketResponse | None = None
        self.synced = False
        self.frames: list[bytes] = []
        self.awareness: dict[int, Any] = {}  # client id -> state (None once removed)
        self.denied: list[str] = []
        self.close_code: int | None = None
        self._remote = False
        self._reader: asyncio.Task[None] | None = None
        self._unsent: list[bytes] = []  # local updates made while disconnected (sent by the sync)
        self.doc.observe(self._on_change)

    @classmethod
    async def open(cls, client: Any, name: str, changes: Changes, **query: str) -> YClient:
        """Connect `client` (an aiohttp TestClient or ClientSession with a base URL) to /ws/doc/<name>."""
        made = cls(lambda: client.ws_connect(f"/ws/doc/{name}", params=query or None), changes)
        await made.connect()
        return made

    async def connect(self, *, wait_synced: bool = True) -> None:
        self.synced = False
        self.close_code = None
        self.ws = await self._connect()
        await self.ws.send_bytes(create_sync_message(self.doc))
        self._reader = asyncio.create_task(self._read(self.ws))
        if wait_synced:
            await self.changes.until(lambda: self.synced, "the first sync")

    async def disconnect(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            await self._reader

    def _on_change(self, event: TransactionEvent) -> None:
        if self._remote:
            return
        if self.ws is None or self.ws.closed:
            return  # offline: the next sync carries it
        self._unsent.append(event.update)

    async def flush(self) -> None:
        """Send the local updates made since the last flush, one message each."""
        pending, self._unsent = self._unsent, []
        assert self.ws is not None
        for update in pending:
            await self.ws.send_bytes(create_update_message(update))

    async def insert(self, index: int, chunk: str) -> None:
        self.text.insert(index, chunk)
        if self.ws is not None:
            await self.flush()

    async def delete(self, index: int, length: int) -> None:
        del self.text[index : index + length]
        if self.ws is not None:
            await self.flush()

    async def send_awareness(self, client_id: int, clock: int, state: Any) -> None:
        encoder = Encoder()
        encoder.write_var_uint(1)
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state))
        assert self.ws is not None
        await self.ws.send_bytes(create_awareness_message(encoder.to_bytes()))

    async def _read(self, ws: ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.BINARY:
                    continue
                data = msg.data
                self.frames.append(data)
                if data[0] == 0:  # sync
                    self._remote = True
                    try:
                        reply = handle_sync_message(data[1:], self.doc)
                    finally:
                        self._remote = False
                    if reply is not None:
                        await ws.send_bytes(reply)
                    if data[1] == 1:
                        self.synced = True
                elif data[0] == 1:  # awareness
                    self._apply_awareness(data)
                elif data[0] == 2:  # auth: permission denied
                    decoder = Decoder(data[2:])
                    self.denied.append(decoder.read_var_string())
                self.changes.event.set()
        finally:
            self.close_code = ws.close_code
            self.changes.event.set()

    def _apply_awareness(self, data: bytes) -> None:
        decoder = Decoder(Decoder(data[1:]).read_message() or b"")
        for _ in range(decoder.read_var_uint()):
            client = decoder.read_var_uint()
            decoder.read_var_uint()
            self.awareness[client] = json.loads(decoder.read_var_string())

    def __str__(self) -> str:
        return str(self.text)
