"""Several `collab serve` processes on one PostgreSQL database, measured (not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/cluster_bench.py            # everything: 10-15 minutes
    PYTHONPATH=. .venv/bin/python bench/cluster_bench.py --only chat --repeat 1

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and `taskset`. A fresh database is
created (asyncpg), migrated (`python -m app migrate`) and dropped at the end. Three measurements, each
printed as a markdown table of medians over `--repeat` runs:

(a) chat: one node, then two nodes on the same database with each room's clients split across them
    (client i of a room on node i % 2, senders in turn), at a fixed rate of deliveries (`--rooms` x
    `--clients` sockets, `--rate` messages/s in all: 10 x 10 at 500/s is 5,000 deliveries/s). From a
    message's send to its arrival at each member: p50/p99, and for two nodes separately for the
    deliveries that crossed nodes. Every member must get every message of its room once, in seq
    order: lost, duplicated and out-of-order deliveries are counted.
(b) appends/s of bench/append_bench.py with each batch sending its NOTIFY (the broker on) and without,
    runs interleaved, at two concurrencies (many callers: big batches; few: small ones, so more
    NOTIFYs per event).
(c) NOTIFY's own rate: one listener (parsing as the broker does) hears commit notifications of one
    event each, sent at rising rates by another process; the table shows what it heard and how late.

CPUs (the machine has 2): the load generator (this process) and the listener of (c) on CPU 1; one
node on CPU 0; two nodes both on CPU 0 (the same CPU budget as one node), then one on each CPU (node
two sharing CPU 1 with the load generator); append_bench of (b) and the NOTIFY sender of (c) on CPU 0.
PostgreSQL is a system service and is not pinned: it runs wherever the kernel puts it. On a machine
shared with other work the wall-clock figures swing; compare rows of one run, not runs of two days.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# Run as a script: this folder (cluster_load) and the repository (collab) are importable without PYTHONPATH.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from cluster_load import ChatResult, Listener, chat_load, quantile, send_notifications  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVER = "postgres@127.0.0.1:5432"
SECRET = "cluster-bench-secret-" + "x" * 24
# Every child process imports from this checkout, whatever the caller's PYTHONPATH.
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


# -- the database and the servers --------------------------------------------------------------------


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(f"postgresql://{SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated database's SQLAlchemy URL; dropped afterwards."""
    name = f"collab_cbench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{SERVER}/{name}"
    try:
        env = {**CHILD_ENV, "COLLAB_DATABASE_URL": url}
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def servers(url: str, cpus: tuple[int, ...]) -> Iterator[list[str]]:
    """One `collab serve` process on `url` per entry of `cpus`, pinned to that CPU; their base URLs."""
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    with tempfile.TemporaryDirectory(prefix="collab-cbench-") as tmp:
        try:
            for n, cpu in enumerate(cpus):
                port = free_port()
                env = {k: v for k, v in CHILD_ENV.items() if not k.startswith("COLLAB_")}
                env.update(
                    COLLAB_DATABASE_URL=url,
                    COLLAB_DATA_DIR=f"{tmp}/node{n}",
                    COLLAB_ALLOW_GUESTS="1",
                    COLLAB_JWT_SECRET=SECRET,
                    COLLAB_LOG_LEVEL="WARNING",
                )
                log = open(f"{tmp}/node{n}.log", "wb")  # noqa: SIM115 - closed with the directory
                command = ["taskset", "-c", str(cpu), sys.executable, "-m", "app", "serve"]
                procs.append(
                    subprocess.Popen(
                        [*command, "--host", "127.0.0.1", "--port", str(port)],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                bases.append(f"http://127.0.0.1:{port}")
            for base, proc in zip(bases, procs, strict=True):
                wait_healthy(base, proc)
            yield bases
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{base}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base}: no healthy answer within 30 s")


# -- (a) chat across nodes ---------------------------------------------------------------------------


CHAT_SETUPS = (
    ("1 node (CPU 0)", (0,)),
    ("2 nodes, both on CPU 0", (0, 0)),
    ("2 nodes, one per CPU (0, 1)", (0, 1)),
)


def chat_table(url: str, args: argparse.Namespace) -> None:
    # Setups interleaved run by run, so that a neighbour's burst on this shared machine hits each alike.
    results: dict[str, list[ChatResult]] = {label: [] for label, _ in CHAT_SETUPS}
    for run in range(args.repeat):
        for label, cpus in CHAT_SETUPS:
            with servers(url, cpus) as bases:
                result = asyncio.run(chat_load(bases, args.rooms, args.clients, args.rate, args.seconds))
            every = result.same_node + result.cross_node
            print(
                f"  {label}, run {run + 1}: {result.rate:,.0f} deliveries/s, p99 {ms(quantile(every, 0.99))} ms"
                f" (crossed {ms(quantile(result.cross_node, 0.99))} ms), lost {result.lost},"
                f" dup {result.duplicated}, out of order {result.disordered}",
                flush=True,
            )
            results[label].append(result)
    rows: list[tuple[str, list[ChatResult], Callable[[ChatResult], list[float]]]] = []
    for label, cpus in CHAT_SETUPS:
        if len(cpus) == 1:
            rows.append((label, results[label], lambda r: r.same_node))
        else:
            rows.append((f"{label}: all", results[label], lambda r: r.same_node + r.cross_node))
            rows.append((f"{label}: same node", results[label], lambda r: r.same_node))
            rows.append((f"{label}: crossed nodes", results[label], lambda r: r.cross_node))
    print(
        f"\n(a) chat, {args.rooms} rooms x {args.clients} clients, {args.rate:g} messages/s"
        f" ({args.rate * args.clients:,.0f} deliveries/s) for {args.seconds:g} s; medians of {args.repeat}\n"
    )
    print("| setup | deliveries | deliveries/s | p50 ms | p99 ms | lost | dup | out of order |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, results, latencies in rows:
        p50 = median([quantile(latencies(r), 0.5) for r in results])
        p99 = median([quantile(latencies(r), 0.99) for r in results])
        count = median([len(latencies(r)) for r in results]) or 0
        rate = median([len(latencies(r)) / r.seconds for r in results]) or 0
        # Loss, duplicates and disorder are per socket, so they belong to the setup, not to a subset.
        lost = sum(r.lost for r in results)
        dup = sum(r.duplicated for r in results)
        disordered = sum(r.disordered for r in results)
        print(f"| {label} | {count:,.0f} | {rate:,.0f} | {ms(p50)} | {ms(p99)} | {lost} | {dup} | {disordered} |")
    print("\n(lost, dup and out of order: totals over all runs of the setup, every socket)")


# -- (b) appends/s with and without NOTIFY -----------------------------------------------------------


def append_rate(url: str, cpu: int, callers: int, per_caller: int, notifying: bool) -> float:
    command = ["taskset", "-c", str(cpu), sys.executable, str(ROOT / "bench" / "append_bench.py")]
    command += ["--url", url, "--callers", str(callers), "--per-caller", str(per_caller), "--repeat", "1"]
    if notifying:
        command.append("--notify")
    done = subprocess.run(command, cwd=ROOT, env=CHILD_ENV, check=True, capture_output=True, text=True)
    found = re.search(r"median: ([\d,]+) events/s", done.stdout)
    if found is None:
        raise RuntimeError(f"append_bench printed no median:\n{done.stdout}{done.stderr}")
    return float(found.group(1).replace(",", ""))


def append_table(url: str, args: argparse.Namespace) -> None:
    print(f"\n(b) appends/s on PostgreSQL, broker off vs on (NOTIFY per batch); medians of {args.repeat}\n")
    print("| callers x appends each | broker off | broker on | on / off |")
    print("| --- | ---: | ---: | ---: |")
    for callers, per_caller in ((1000, 100), (20, 500)):
        off, on = [], []
        for _ in range(args.repeat):  # interleaved, so that a neighbour's burst hits both alike
            off.append(append_rate(url, args.server_cpu, callers, per_caller, False))
            on.append(append_rate(url, args.server_cpu, callers, per_caller, True))
        m_off, m_on = statistics.median(off), statistics.median(on)
        print(f"| {callers} x {per_caller} | {m_off:,.0f} | {m_on:,.0f} | {m_on / m_off:.2f} |")


# -- (c) NOTIFY's own rate ---------------------------------------------------------------------------


@dataclass
class NotifyStep:
    sent: int
    sent_rate: float
    heard: int
    heard_rate: float
    latencies: list[float]


async def notify_step(dsn: str, rate: float, seconds: float, cpu: int) -> NotifyStep:
    listener = Listener()
    await listener.start(dsn)
    try:
        command = ["taskset", "-c", str(cpu), sys.executable, __file__, "notify-sender"]
        command += ["--dsn", dsn, "--rate", str(rate), "--seconds", str(seconds)]
        sender = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=CHILD_ENV, stdout=asyncio.subprocess.PIPE)
        out, _ = await sender.communicate()
        sent, took = out.decode().split()
        # Whatever is still queued for the listener arrives within a moment, or it is late for good.
        await listener.heard(int(sent), within=5)
        return NotifyStep(
            int(sent), int(sent) / float(took), len(listener.latencies), listener.rate, listener.latencies
        )
    finally:
        await listener.close()


def notify_table(url: str, args: argparse.Namespace) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    print(f"\n(c) NOTIFY: one listener, commit notifications of 1 event each, {args.seconds:g} s per rate\n")
    print("| offered /s | sent /s | heard | of sent | heard /s | p50 ms | p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rate in args.notify_rates:
        steps = [asyncio.run(notify_step(dsn, rate, args.seconds, args.server_cpu)) for _ in range(args.repeat)]
        sent_rate = median([s.sent_rate for s in steps]) or 0
        heard = median([float(s.heard) for s in steps]) or 0
        missing = sum(s.sent - s.heard for s in steps)
        heard_rate = median([s.heard_rate for s in steps]) or 0
        p50 = median([quantile(s.latencies, 0.5) for s in steps])
        p99 = median([quantile(s.latencies, 0.99) for s in steps])
        print(
            f"| {rate:,.0f} | {sent_rate:,.0f} | {heard:,.0f} | {'all' if missing == 0 else f'{missing} missing'}"
            f" | {heard_rate:,.0f} | {ms(p50)} | {ms(p99)} |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "notify-sender":  # the other process of (c)
        sender = argparse.ArgumentParser()
        sender.add_argument("--dsn", required=True)
        sender.add_argument("--rate", type=float, required=True)
        sender.add_argument("--seconds", type=float, required=True)
        options = sender.parse_args(sys.argv[2:])
        sent, took = asyncio.run(send_notifications(options.dsn, options.rate, options.seconds))
        print(sent, took)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("chat", "appends", "notify"), action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--clients", type=int, default=10, help="clients per room")
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second, all rooms together")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--notify-rates", type=float, nargs="+", default=[500, 1000, 2000, 4000, 8000])
    args = parser.parse_args()
    args.server_cpu, client_cpu = 0, 1
    os.sched_setaffinity(0, {client_cpu})
    print(
        f"append_bench and the NOTIFY sender on CPU {args.server_cpu}; this process on CPU {client_cpu};"
        f" PostgreSQL unpinned; load average {os.getloadavg()[0]:.1f} at start"
    )
    only = set(args.only or ("chat", "appends", "notify"))
    with fresh_database() as url:
        if "chat" in only:
            chat_table(url, args)
        if "appends" in only:
            append_table(url, args)
        if "notify" in only:
            notify_table(url, args)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
