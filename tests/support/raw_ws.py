"""A WebSocket client written by hand on a plain TCP socket, for the slow-consumer tests: aiohttp's
client always reads, this one reads only when the test says so."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import struct

from support.waiting import DEADLINE


class RawSocket:
    """A WebSocket client written by hand on a plain TCP socket with a tiny receive buffer, so that a
    test decides exactly when (and whether) anything is read: the slow consumer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> RawSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        raw = cls(sock)
        async with asyncio.timeout(DEADLINE):
            while b"\r\n\r\n" not in raw.buffer:
                raw.buffer += await raw._read()
        head, raw.buffer = raw.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    async def _read(self) -> bytes:
        chunk = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        if not chunk:
            raise ConnectionError("peer closed the TCP connection")
        return chunk

    async def _need(self, n: int) -> None:
        while len(self.buffer) < n:
            self.buffer += await self._read()

    async def frame(self) -> tuple[int, bytes]:
        """The next (opcode, payload) from the server (unmasked, unfragmented frames)."""
        await self._need(2)
        opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        offset = 2
        if length == 126:
            await self._need(4)
            (length,) = struct.unpack("!H", self.buffer[2:4])
            offset = 4
        elif length == 127:
            await self._need(10)
            (length,) = struct.unpack("!Q", self.buffer[2:10])
            offset = 10
        await self._need(offset + length)
        payload = self.buffer[offset : offset + length]
        self.buffer = self.buffer[offset + length :]
        return opcode, payload

    async def close_code(self, within: float = DEADLINE) -> tuple[int, int]:
        """Read everything up to the server's close frame: (its code, the text frames before it)."""
        texts = 0
        async with asyncio.timeout(within):
            while True:
                opcode, payload = await self.frame()
                if opcode == 0x8:
                    (code,) = struct.unpack("!H", payload[:2])
                    await self._send_close(code)
                    return code, texts
                if opcode == 0x1:
                    texts += 1

    async def send(self, payload: str | bytes) -> None:
        """Send one masked frame (text for `str`, binary for `bytes`) without reading anything: the
        attacker who asks and never reads."""
        opcode = 0x1 if isinstance(payload, str) else 0x2
        data = payload.encode() if isinstance(payload, str) else payload
        length = len(data)
        if length < 126:
            head = bytes([0x80 | opcode, 0x80 | length])
        elif length < 1 << 16:
            head = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length)
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        await asyncio.get_running_loop().sock_sendall(self.sock, head + mask + _mask(data, mask))

    async def _send_close(self, code: int) -> None:
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(struct.pack("!H", code)))
        with contextlib.suppress(OSError):
            await asyncio.get_running_loop().sock_sendall(self.sock, bytes([0x88, 0x80 | len(body)]) + mask + body)

    def close(self) -> None:
        self.sock.close()


def _mask(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the 4-byte `mask`, fast for large payloads (one big-integer XOR)."""
    repeated = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")
