"""Where an idle `/ws` socket's memory goes: tracemalloc's view of the Python heap of a real server
while N sockets (in rooms of 10, like the peers' bench) sit idle, grouped by who allocated it.

    .venv/bin/python bench/socket_memory.py --sockets 2000

The server runs in this process (so tracemalloc sees it); the clients run in a child process (so their
allocations do not count). Prints KB per socket by package and the top allocation sites, and the
process's RSS growth per socket beside it (what the allocator adds on top of the Python heap).
Not a test: figures for the performance notes.
"""

from __future__ import annotations

import argparse
import asyncio
import linecache
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import aiohttp
from served import served


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def clients(url: str, sockets: int, concurrency: int) -> None:
    """The child: open `sockets` sockets, say so on stdout, hold them until stdin closes."""
    held = []
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(i: int) -> None:
            async with gate:
                ws = await http.ws_connect(f"{url}/ws?channel=room-{i // 10}&nickname=u{i}", autoping=True)
                await ws.receive()  # welcome
                held.append(ws)

        await asyncio.gather(*(one(i) for i in range(sockets)))
        print("open", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def where(frame_file: str) -> str:
    for marker in ("/collab/", "/app/", "/aiohttp/", "/asyncio/", "/sqlalchemy/", "/uvloop/", "/yarl/", "/multidict/"):
        if marker in frame_file:
            return marker.strip("/")
    return "other"


async def measure(sockets: int) -> None:
    async with served() as client:
        url = str(client.make_url("")).rstrip("/")
        await asyncio.sleep(0.5)
        tracemalloc.start(8)
        before = tracemalloc.take_snapshot()
        rss_before = rss_kb()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            url,
            "--sockets",
            str(sockets),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        line = await child.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == b"open", line
        await asyncio.sleep(2)  # presence and room lists go out
        after = tracemalloc.take_snapshot()
        rss_after = rss_kb()
        diff = after.compare_to(before, "traceback")
        by_package: Counter[str] = Counter()
        by_site: Counter[str] = Counter()
        for stat in diff:
            if stat.size_diff <= 0:
                continue
            # Attribute to the innermost frame in our code if there is one, else the innermost frame.
            frames = list(reversed(stat.traceback))  # the most recent call first
            ours = [f for f in frames if "/collab/" in f.filename or "/app/" in f.filename]
            site = (ours or frames)[0]
            by_package[where(frames[0].filename)] += stat.size_diff
            text = linecache.getline(site.filename, site.lineno).strip()
            by_site[f"{site.filename.split('site-packages/')[-1]}:{site.lineno}  {text[:70]}"] += stat.size_diff
        heap = sum(by_package.values())
        print(
            f"{sockets} sockets: Python heap +{heap / sockets / 1024:.1f} KB/socket (tracemalloc), "
            f"RSS +{(rss_after - rss_before) / sockets:.1f} KB/socket (tracemalloc's own overhead included)"
        )
        for package, size in by_package.most_common():
            print(f"  {package:12} {size / sockets:8.0f} B/socket")
        print("top sites (innermost frame in collab/ or app/ when there is one):")
        for site, size in by_site.most_common(int(__import__("os").environ.get("TOP", "25"))):
            print(f"  {size / sockets:7.0f} B  {site}")
        child.stdin.close()  # type: ignore[union-attr]
        await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(clients(args.client, args.sockets, 100))
    else:
        asyncio.run(measure(args.sockets))


if __name__ == "__main__":
    main()
