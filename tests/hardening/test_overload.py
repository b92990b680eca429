"""Overload: thousands of sockets, a client that floods and a client that stops reading, against a
real `collab serve` process. The server's memory stays under a stated bound, the flooder is held to
its rate, the stalled reader is closed with 1013, and everyone else goes on with a stated p99.

`COLLAB_OVERLOAD_SOCKETS` sets the crowd (5,000 by default); the figures are printed (pytest -s) and
quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import orjson
from support.raw_ws import RawSocket
from support.servers import serving

SOCKETS = int(os.environ.get("COLLAB_OVERLOAD_SOCKETS", "5000"))
ROOMS = 100  # the crowd's rooms: about 50 sockets each
PROBES = 20  # sockets that measure the service everyone else gets
FLOOD_FRAMES = 10_000
PROBE_SECONDS = 10.0
TESTS = Path(__file__).resolve().parents[1]
# The stated bounds (docs/reliability.md): generous for a busy 2-core machine, far below what an
# unbounded queue or an unlimited flooder would take.
MEMORY_BOUND_MB = 1024
PROBE_P99_BOUND_SECONDS = 2.0
# The flooder's allowance (COLLAB_RATE_LIMIT, COLLAB_RATE_BURST below): well within what the server
# serves, so that what it is allowed does not take the others' share; its messages are large, so that
# what it is allowed fills the stalled reader's outbox past its byte bound (COLLAB_SEND_QUEUE_BYTES).
RATE = 500.0
BURST = 500
FLOOD_BYTES = 4000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def enough_descriptors(wanted: int) -> None:
    """This process and the server (which inherits the limit) each hold one descriptor per socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def probe(ws: aiohttp.ClientWebSocketResponse, until: float, latencies: list[float]) -> None:
    """Send a message every 50 ms and time its acknowledgement (the message itself, with its id)."""
    sent: dict[str, float] = {}

    async def read() -> None:
        async for frame in ws:
            data = orjson.loads(frame.data)
            started = sent.pop(data.get("id") or "", None)
            if started is not None and data["type"] == "message":
                latencies.append(time.monotonic() - started)

    reader = asyncio.create_task(read())
    n = 0
    while time.monotonic() < until:
        n += 1
        sent[f"p{n}"] = time.monotonic()
        await ws.send_str(orjson.dumps({"type": "message", "content": "probe", "id": f"p{n}"}).decode())
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    reader.cancel()


async def test_five_thousand_sockets_a_flooder_and_a_stalled_reader(tmp_path: Path) -> None:
    enough_descriptors(SOCKETS + 1000)
    with serving(
        tmp_path, COLLAB_RATE_LIMIT=str(RATE), COLLAB_RATE_BURST=str(BURST), COLLAB_LOG_LEVEL="WARNING"
    ) as server:
        assert server.process is not None
        pid = server.process.pid
        base = server.url.replace("http", "ws")
        crowd = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "support.crowd",
            base,
            str(SOCKETS),
            str(ROOMS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(TESTS)},
        )
        try:
            assert crowd.stdout is not None and crowd.stdin is not None
            ready = (await asyncio.wait_for(crowd.stdout.readline(), 300)).decode().split()
            assert ready[:1] == ["ready"], ready
            idle_rss = peak = rss_mb(pid)
            async with aiohttp.ClientSession() as http:
                figures = await flood_and_probe(http, base, server.port, pid)
            peak = max(peak, figures.pop("peak"))
            crowd.stdin.close()
            still_open = int((await asyncio.wait_for(crowd.stdout.readline(), 60)).decode().split()[1])
        finally:
            if crowd.returncode is None:
                crowd.kill()
            await crowd.wait()

    latencies = figures["latencies"]
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    accepted, limited = figures["accepted"], figures["rate_limited"]
    print(
        f"\n{SOCKETS} sockets connected in {ready[1]} s; server RSS {idle_rss:.0f} MB with them idle,"
        f" peak {peak:.0f} MB; flooder: {FLOOD_FRAMES} frames in {figures['flood_seconds']:.1f} s,"
        f" {accepted} accepted, {limited} rate_limited; stalled reader closed with {figures['code']};"
        f" probes: {len(latencies)} acks, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    assert still_open == SOCKETS, "every ordinary socket is still connected"
    assert figures["code"] == 1013, "the reader that stopped reading is closed with 1013"
    assert limited > 0, "the flooder was told to slow down"
    allowance = BURST + RATE * (figures["flood_seconds"] + 1)
    assert accepted <= allowance, f"the flooder got {accepted} messages stored, over its {allowance:.0f}"
    assert peak < MEMORY_BOUND_MB, f"server RSS peaked at {peak:.0f} MB"
    assert len(latencies) >= PROBES * 50, "the probes were answered"
    assert p99 < PROBE_P99_BOUND_SECONDS, f"everyone else's p99 was {p99 * 1000:.0f} ms"


async def flood_and_probe(http: aiohttp.ClientSession, base: str, port: int, pid: int) -> dict:
    """A reader that stops reading and a flooder in one room, probes in rooms of their own; the figures."""
    stalled = await RawSocket.connect("127.0.0.1", port, "/ws?channel=flood&nickname=stalled")
    await stalled.frame()  # its welcome; then it reads nothing more
    watcher = await http.ws_connect(f"{base}/ws?channel=flood&nickname=watcher")
    flooder = await http.ws_connect(f"{base}/ws?channel=flood&nickname=flooder")
    answers: dict[str, int] = {}

    async def count_answers() -> None:
        async for frame in flooder:
            data = orjson.loads(frame.data)
            if str(data.get("id", "")).startswith("f"):
                key = data["code"] if data["type"] == "error" else data["type"]
                answers[key] = answers.get(key, 0) + 1

    async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _ in ws:
            pass

    readers = [asyncio.create_task(count_answers()), asyncio.create_task(drain(watcher))]
    probes = [await http.ws_connect(f"{base}/ws?channel=probe-{i}&nickname=p{i}") for i in range(PROBES)]
    latencies: list[float] = []
    until = time.monotonic() + PROBE_SECONDS
    probing = [asyncio.create_task(probe(ws, until, latencies)) for ws in probes]
    peak = rss_mb(pid)
    body = "f" * FLOOD_BYTES
    flood_started = time.monotonic()
    # 2.5 times its allowance for 8 s: past the burst, so the limit bites, and long enough that what the
    # flooder is allowed (about 4,500 messages of 4 kB) fills the stalled reader's outbox past its bound.
    for n in range(FLOOD_FRAMES):
        await flooder.send_str(orjson.dumps({"type": "message", "content": body, "id": f"f{n}"}).decode())
        if n % 50 == 49:
            await asyncio.sleep(50 / (RATE * 2.5))  # the probes keep their pace too
        if n % 1000 == 0:
            peak = max(peak, rss_mb(pid))
    flood_seconds = time.monotonic() - flood_started
    while time.monotonic() < until:
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.2)
    await asyncio.gather(*probing)
    code, _ = await stalled.close_code(within=60)
    stalled.close()
    for reader in readers:
        reader.cancel()
    return {
        "latencies": latencies,
        "accepted": answers.get("message", 0),
        "rate_limited": answers.get("rate_limited", 0),
        "flood_seconds": flood_seconds,
        "code": code,
        "peak": max(peak, rss_mb(pid)),
    }
