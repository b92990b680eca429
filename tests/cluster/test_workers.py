"""`collab serve --workers N` on PostgreSQL: N real processes on one port (SO_REUSEPORT), the fan-out
between them through the PostgreSQL broker, a clean stop on SIGTERM, a killed worker started again.

Which worker a socket landed on is read from its `welcome`: a `client_id` starts with six hex digits
drawn once per process (`collab/realtime/connection.py`, `new_client_id`)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.servers import ROOT, ServerProcess, free_port
from support.waiting import wait_for
from support.ws import Closed, Peer, connect

pytestmark = pytest.mark.postgres

# The kernel picks a listener per connection from a hash of its addresses: with two workers, 64
# connections all on one of them has a chance of 2**-63.
MAX_CONNECTIONS = 64


def process_of(peer: Peer) -> str:
    return peer.client_id[:6]


def children(parent: int) -> set[int]:
    """The pids whose parent is `parent` (from /proc: the workers of a `--workers` parent)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def in_log(server: ServerProcess, text: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    assert server.process is not None
    while text not in server.log.read_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} in the log within {within}s:\n{server.log.read_text()}")
        try:
            # Waiting on the process is the pause between reads, and notices an early exit at once.
            code = server.process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"the server exited with {code}:\n{server.log.read_text()}")


@pytest.fixture
def workers(cluster_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """`collab serve --workers 2` on the test's database, started (stopped at the end if still running)."""
    server = ServerProcess(tmp_path, cluster_database, args=["--workers", "2"])
    server.start()
    try:
        # /healthz answered from the first worker to listen; the parent says when all of them do.
        in_log(server, "collab: 2 workers serving on")
        yield server
    finally:
        server.stop()


async def one_per_process(session, channel: str, processes: int = 2, seen: set[str] = frozenset()) -> list[Peer]:
    """Connect to `channel` until peers on `processes` processes not in `seen` are open: one peer each
    (the others are closed again)."""
    found: dict[str, Peer] = {}
    spare: list[Peer] = []
    for n in range(MAX_CONNECTIONS):
        peer = await connect(session, channel=channel, nickname=f"p{n}")
        key = process_of(peer)
        if key in found or key in seen:
            spare.append(peer)
        else:
            found[key] = peer
        if len(found) == processes:
            break
    for peer in spare:
        await peer.close()
    assert len(found) == processes, f"{MAX_CONNECTIONS} sockets reached only the processes {sorted(found)}"
    return list(found.values())


async def crosses(sender: Peer, receiver: Peer, channel: str, content: str) -> None:
    await sender.send(type="message", content=content, id=uuid.uuid4().hex)
    got = await receiver.expect("message", channel=channel, content=content)
    assert got["seq"] >= 1


async def the_one_alive(peers: list[Peer]) -> Peer:
    """The one of `peers` whose socket is still open (the other was on the killed worker)."""
    alive = []
    for peer in peers:
        try:
            await peer.barrier()
        except (Closed, ConnectionError):
            continue
        alive.append(peer)
    assert len(alive) == 1, f"{len(alive)} of {len(peers)} sockets still open"
    return alive[0]


async def test_two_workers_share_one_port_and_the_fan_out(workers, http) -> None:
    assert len(children(workers.process.pid)) == 2
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann, bob = await one_per_process(http(workers), channel)
    await crosses(ann, bob, channel, "from ann's worker to bob's")
    await crosses(bob, ann, channel, "and back")


async def test_sigterm_stops_every_worker_cleanly(workers, http) -> None:
    pids = children(workers.process.pid)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    peers = await one_per_process(http(workers), channel)
    status = await asyncio.to_thread(workers.stop)
    assert status == 0, workers.log.read_text()
    for peer in peers:
        code, _ = await peer.closed()
        assert code == 1001
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    log = workers.log.read_text()
    assert "Traceback" not in log, log


async def test_a_killed_worker_is_started_again(workers, http) -> None:
    parent = workers.process.pid
    channel = f"room-{uuid.uuid4().hex[:6]}"
    before = await one_per_process(http(workers), channel)
    pids = children(parent)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    await wait_for(lambda: "started again" in workers.log.read_text(), within=30, what="a new worker to listen")
    assert len(children(parent)) == 2 and victim not in children(parent)
    # The new process answers on the port and shares the fan-out with the worker that stayed up.
    old = {process_of(peer) for peer in before}
    (fresh,) = await one_per_process(http(workers), channel, processes=1, seen=old)
    survivor = await the_one_alive(before)
    await crosses(fresh, survivor, channel, "from the new worker")
    await crosses(survivor, fresh, channel, "to the new worker")
    assert "starting it again in 1 s" in workers.log.read_text()


def test_a_worker_that_cannot_start_fails_the_parent(cluster_database: str, tmp_path: Path) -> None:
    """The port is taken by a socket without SO_REUSEPORT: no worker can bind it, the parent says so
    and exits non-zero instead of serving with fewer processes than asked."""
    port = free_port()
    server = ServerProcess(tmp_path, cluster_database)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 1, done.stderr
    assert "did not start (exited with status 1); stopping the others" in done.stderr
    assert time.monotonic() - started < 60
