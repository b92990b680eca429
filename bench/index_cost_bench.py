"""What the search index costs the server's appends: chat messages a second through `collab serve`, with
the index and with no event indexed, on SQLite and PostgreSQL (not part of the tests).

    .venv/bin/python bench/index_cost_bench.py                  # both databases, 3 runs each: ~3 minutes
    .venv/bin/python bench/index_cost_bench.py --only sqlite --repeat 5

`bench/append_bench.py --compare-index` measures the writer alone (no sockets, no fan-out); this one
measures what a user waits for: a message sent on `/ws`, decoded, stored (with its index row, or not),
and delivered to its room. `--rooms` rooms of `--per-room` clients; every client keeps one message in
flight (it sends the next when its own comes back), so the server is saturated; messages are chat-like
(bench/words.py). The unindexed server is the same code with the writer's indexer answering None, and
SQLite's catch-up of the index indexing nothing (no index row is written; searches would find
nothing): `python -c` patches both before `collab serve` starts.

The server runs pinned to CPU 0, this process (the clients) to CPU 1; PostgreSQL is not pinned. Runs of
the two servers alternate, and the table shows medians and the ratio of the medians, with each run's
server CPU (a server below ~90 % was not saturated: the clients were the limit). A fresh database for
every run (a SQLite file, or a PostgreSQL database created and dropped here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import orjson

# Run as a script: this folder (words, cluster_bench) and the repository (collab) are importable.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from cluster_bench import CHILD_ENV, ROOT, SECRET, free_port, fresh_database, wait_healthy  # noqa: E402
from words import Messages  # noqa: E402

UNINDEXED = (
    "import sys; from collab.store import writer; writer.indexer = lambda postgres: (lambda event: None);"
    " from collab.store.search import catch_up; catch_up.catch_up = lambda conn: 0;"
    " from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(url: str, indexed: bool) -> Iterator[tuple[str, int]]:
    """`collab serve` on `url` (migrated), pinned to CPU 0: its base URL and pid."""
    with tempfile.TemporaryDirectory(prefix="collab-ibench-") as tmp:
        port = free_port()
        env = {k: v for k, v in CHILD_ENV.items() if not k.startswith("COLLAB_")}
        env.update(
            COLLAB_DATABASE_URL=url,
            COLLAB_DATA_DIR=tmp,
            COLLAB_ALLOW_GUESTS="1",
            COLLAB_JWT_SECRET=SECRET,
            COLLAB_LOG_LEVEL="WARNING",
        )
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        launch = ["-m", "app"] if indexed else ["-c", UNINDEXED]
        command = ["taskset", "-c", "0", sys.executable, *launch, "serve", "--host", "127.0.0.1", "--port", str(port)]
        with open(f"{tmp}/server.log", "wb") as log:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(base, proc)
                yield base, proc.pid
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with fresh_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="collab-ibench-db-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/collab.db"


async def saturate(base: str, pid: int, rooms: int, per_room: int, seconds: float) -> tuple[float, float]:
    """Messages a second acknowledged (each sender's own came back) and the server's CPU share, over
    `seconds` after a one-second warm-up."""
    texts = Messages()
    tag = uuid.uuid4().hex[:6]
    done = [0]
    counting = asyncio.Event()
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        sockets = []
        for r in range(rooms):
            for i in range(per_room):
                ws = await session.ws_connect(
                    f"{base}/ws", params={"channel": f"room-{tag}-{r}", "nickname": f"c{i}"}, max_msg_size=0
                )
                sockets.append(ws)

        async def client(n: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            sent = 0
            while not stop.is_set():
                op_id = f"{n}.{sent}"
                frame = {"type": "message", "content": texts.message(sent), "id": op_id}
                await ws.send_str(orjson.dumps(frame).decode())
                sent += 1
                async for msg in ws:  # every frame of the room, until this sender's own
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        return
                    got = orjson.loads(msg.data)
                    if got.get("type") == "error":
                        raise RuntimeError(f"error frame: {got}")
                    if got.get("id") == op_id and got.get("type") == "message":
                        break
                if counting.is_set():
                    done[0] += 1

        tasks = [asyncio.create_task(client(n, ws)) for n, ws in enumerate(sockets)]
        await asyncio.sleep(1.0)
        counting.set()
        started, cpu_started = time.perf_counter(), process_cpu_seconds(pid)
        await asyncio.sleep(seconds)
        counted, elapsed = done[0], time.perf_counter() - started
        cpu = process_cpu_seconds(pid) - cpu_started
        stop.set()
        for ws in sockets:
            await ws.close()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome  # an error frame (a limit, a refusal): the figure would not be the server's
    return counted / elapsed, cpu / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--per-room", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    print(f"{args.rooms} rooms x {args.per_room} clients, each with one message in flight, {args.seconds:g} s a run")
    print("| database | with the index, msg/s | without, msg/s | with ÷ without | server CPU (with / without) |")
    print("|---|---:|---:|---:|---|")
    for kind in kinds:
        rates: dict[bool, list[float]] = {True: [], False: []}
        cpus: dict[bool, list[float]] = {True: [], False: []}
        for run in range(args.repeat):
            for indexed in (True, False):
                with database(kind) as url, server(url, indexed) as (base, pid):
                    rate, cpu = asyncio.run(saturate(base, pid, args.rooms, args.per_room, args.seconds))
                rates[indexed].append(rate)
                cpus[indexed].append(cpu)
                label = "indexed" if indexed else "unindexed"
                print(f"  {kind} run {run + 1} {label}: {rate:,.0f} msg/s, server CPU {cpu:.0%}", file=sys.stderr)
        with_index, without = statistics.median(rates[True]), statistics.median(rates[False])
        cpu_text = f"{statistics.median(cpus[True]):.0%} / {statistics.median(cpus[False]):.0%}"
        print(f"| {kind} | {with_index:,.0f} | {without:,.0f} | **{with_index / without:.2f}x** | {cpu_text} |")


if __name__ == "__main__":
    main()
