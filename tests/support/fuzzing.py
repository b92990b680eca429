"""What the fuzz tests of tests/hardening share: how many examples they run, a blocking socket that
hypothesis can drive against a real server, and the check that the server logged no unhandled error.

Examples: each fuzz test runs its own small default in the suite (the whole fuzzing stays under a
minute); `COLLAB_FUZZ_EXAMPLES=5000` runs that many per test, off the suite:

    COLLAB_FUZZ_EXAMPLES=5000 pytest tests/hardening -k fuzz -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from hypothesis import HealthCheck, settings

# What the server's log must never show: a handler's exception that nobody caught.
UNHANDLED = re.compile(r"Traceback|Task exception was never retrieved|Error handling request|Unhandled exception")


def fuzz_settings(default_examples: int, **more: Any) -> settings:
    """Hypothesis settings for one fuzz test: `COLLAB_FUZZ_EXAMPLES` examples, else `default_examples`.
    No deadline (a busy machine is slow, not wrong); one server reused by every example on purpose."""
    examples = int(os.environ.get("COLLAB_FUZZ_EXAMPLES") or default_examples)
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        **more,
    )


def unhandled_errors(log: Path, since: int = 0) -> list[str]:
    """The lines of the server's log, from byte `since` on, that show an unhandled exception."""
    with log.open("rb") as text:
        text.seek(since)
        lines = text.read().decode(errors="replace").splitlines()
    return [line for line in lines if UNHANDLED.search(line)]


class BlockingSocket:
    """A `/ws` client on a loop of its own in a thread, so that a synchronous hypothesis test can drive
    one socket through thousands of examples: `exchange` sends one frame and reads its answers."""

    def __init__(self, url: str, **params: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-socket", daemon=True)
        self._thread.start()
        self._frames: asyncio.Queue[dict[str, Any] | None] | None = None
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.welcome: dict[str, Any] = self._run(self._open(url, params))

    def _run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _open(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        self._frames = asyncio.Queue()
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(f"{url}/ws", params=params, max_msg_size=0)
        welcome = await self.ws.receive_json(timeout=15)
        assert welcome["type"] == "welcome", welcome
        self._reader = asyncio.create_task(self._read())
        return welcome

    async def _read(self) -> None:
        assert self.ws is not None and self._frames is not None
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._frames.put_nowait(orjson.loads(msg.data))
        self._frames.put_nowait(None)  # closed

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code if self.ws is not None else None

    def exchange(
        self,
        text: str | bytes,
        *,
        pongs: int = 1,
        then: Callable[[list[dict[str, Any]]], bool] | None = None,
        within: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Send `text` (bytes: a binary frame) and a `ping`; the frames read up to the `pongs`-th `pong`
        (2 when `text` is a ping itself). With `then`, read on until `then(frames)` holds (answers that
        come after the pong: appends' acks). Raises `ConnectionError` when the socket closes first,
        `TimeoutError` after `within` seconds."""
        return self._run(self._exchange(text, pongs, then, within), timeout=within + 5)

    async def _exchange(
        self, text: str | bytes, pongs: int, then: Callable[[list[dict[str, Any]]], bool] | None, within: float
    ) -> list[dict[str, Any]]:
        assert self.ws is not None and self._frames is not None
        if isinstance(text, bytes):
            await self.ws.send_bytes(text)
        else:
            await self.ws.send_str(text)
        await self.ws.send_str('{"type":"ping"}')
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while pongs or (then is not None and not then(frames)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {within} s; read {frames[-5:]}")
            try:
                frame = await asyncio.wait_for(self._frames.get(), left)
            except TimeoutError:
                continue
            if frame is None:
                raise ConnectionError(f"the socket closed ({self.ws.close_code}); read {frames[-5:]}")
            if frame.get("type") == "pong" and pongs:
                pongs -= 1
                continue
            frames.append(frame)
        return frames

    def close(self) -> None:
        async def close() -> None:
            if self.ws is not None:
                await self.ws.close()
            if self.http is not None:
                await self.http.close()

        try:
            self._run(close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
