"""Issue 11, items 7 and 8, measured on a real `collab serve`: how much the server's resident memory grows
when one socket that never reads asks 300 times for a whole document or board, and when one awareness
frame announces thousands of states. Not a test (pytest does not collect it): a figure for the report.

    PYTHONPATH=$PWD:$PWD/tests /work/main/.venv/bin/python tests/hardening/measure_memory.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from pycrdt import Encoder, create_awareness_message
from support.raw_ws import RawSocket
from support.servers import ServerProcess
from support.yjs import Changes, YClient

REQUESTS = 300
DOC_CHARS = 900_000
STROKES = 19  # of 2,000 points: about 0.75 MB of board
SETTLE_SECONDS = 3.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def settle(pid: int) -> float:
    """RSS once it stops growing (the server has handled what was sent)."""
    last, same = rss_mb(pid), 0
    deadline = time.monotonic() + 30
    while same < 3 and time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_SECONDS / 3)
        now = rss_mb(pid)
        same = same + 1 if abs(now - last) < 1 else 0
        last = now
    return last


async def document_attack(server: ServerProcess, pid: int, http: aiohttp.ClientSession) -> None:
    changes = Changes()
    writer = await YClient.open(http, "big", changes)
    await writer.insert(0, "x" * DOC_CHARS)
    reader = await YClient.open(http, "big", changes)
    await changes.until(lambda: len(str(reader)) == DOC_CHARS, "the document to be stored", seconds=60)
    before = await settle(pid)
    raw = await RawSocket.connect("127.0.0.1", server.port, "/ws/doc/big")
    for _ in range(REQUESTS):
        await raw.send(b"\x00\x00\x01\x00")  # sync step 1 with an empty state vector: "send me everything"
    after = await settle(pid)
    print(f"doc: {REQUESTS} sync step 1 on a {DOC_CHARS / 1e6:.1f} MB document: {before:.0f} -> {after:.0f} MB RSS")
    raw.close()
    await writer.disconnect()
    await reader.disconnect()


async def board_attack(server: ServerProcess, pid: int, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect("/ws", params={"channel": "draw:big", "nickname": "artist"}) as ws:
        for n in range(STROKES):
            points = [[round(random.uniform(-99_999, 99_999), 1), round(random.uniform(-99_999, 99_999), 1)]]
            points *= 2000
            await ws.send_json(
                {"type": "stroke_add", "stroke": f"s{n}", "points": points, "color": "#123456", "width": 2}
            )
        acked = 0
        while acked < STROKES:
            frame = json.loads((await ws.receive(timeout=30)).data)
            acked += frame.get("type") == "stroke_added"
            if frame.get("type") == "error":
                raise RuntimeError(frame)
        async with http.ws_connect("/ws", params={"channel": "draw:big", "nickname": "probe"}) as probe:
            while True:
                frame = json.loads((await probe.receive(timeout=30)).data)
                if frame.get("type") == "state":
                    size = len(json.dumps(frame))
                    break
        before = await settle(pid)
        raw = await RawSocket.connect("127.0.0.1", server.port, "/ws?channel=draw:big&nickname=raw")
        for _ in range(REQUESTS):
            await raw.send('{"type":"sync"}')
        after = await settle(pid)
        print(f"board: {REQUESTS} sync on a {size / 1e6:.2f} MB board: {before:.0f} -> {after:.0f} MB RSS")
        raw.close()


async def awareness_attack(server: ServerProcess, pid: int, http: aiohttp.ClientSession) -> None:
    changes = Changes()
    attacker = await YClient.open(http, "aware", changes)
    encoder = Encoder()
    clients = 20_000
    encoder.write_var_uint(clients)
    for client in range(clients):
        encoder.write_var_uint(client + 1)
        encoder.write_var_uint(1)
        encoder.write_var_string(json.dumps({"user": {"name": "n" * 20}}))
    frame = create_awareness_message(encoder.to_bytes())
    before = await settle(pid)
    cpu = cpu_seconds(pid)
    assert attacker.ws is not None
    await attacker.ws.send_bytes(frame)
    joiner = await YClient.open(http, "aware", changes)
    await changes.until(lambda: bool(joiner.awareness), "the joiner's awareness", seconds=60)
    cpu = cpu_seconds(pid) - cpu
    after = await settle(pid)
    received = max((len(f) for f in joiner.frames if f[0] == 1), default=0)
    print(
        f"awareness: one {len(frame) / 1024:.0f} KiB frame of {clients} states: {before:.0f} -> {after:.0f} MB RSS, "
        f"{cpu:.2f} s of server CPU; a joiner's awareness frame: {received} bytes, {len(joiner.awareness)} states"
    )
    await attacker.disconnect()
    await joiner.disconnect()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), COLLAB_LOG_LEVEL="WARNING")
        server.start()
        try:
            assert server.process is not None
            pid = server.process.pid
            async with aiohttp.ClientSession(base_url=server.url) as http:
                which = sys.argv[1:] or ["doc", "board", "awareness"]
                if "doc" in which:
                    await document_attack(server, pid, http)
                if "board" in which:
                    await board_attack(server, pid, http)
                if "awareness" in which:
                    await awareness_attack(server, pid, http)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
