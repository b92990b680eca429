"""`collab serve --workers N`: N server processes on one port, so that one machine's cores are all used.

The parent serves nothing. It starts N ordinary `collab serve` processes that each bind the same port
with `SO_REUSEPORT` (the kernel spreads new connections across them), waits until every one listens,
restarts one that dies, and on SIGTERM or SIGINT forwards that signal and waits: each worker then does
what a lone `collab serve` does (sockets closed with 1001, pending appends flushed). The processes share
nothing but the database: the PostgreSQL broker carries every event to the clients of every worker,
which is why the CLI allows N > 1 only with that broker.

Each worker gets one end of a socket pair (`--supervisor-fd`). The worker writes one byte on it once its
port listens (the parent's readiness signal), and reads it for end-of-file: the parent is gone (even by
SIGKILL), so the worker stops itself rather than hold the port as an orphan that a new parent would
silently share it with.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass

log = logging.getLogger("collab.workers")

# A worker that listens later than this did not start (engine open, schema check: a second or two).
READY_SECONDS = 60.0
# SIGTERM, then this long for the worker's own shutdown (run_app gives its sockets 10 s) before SIGKILL.
STOP_SECONDS = 30.0
# Restarts: the first after 1 s, doubled for each worker that dies again within STABLE_SECONDS of its
# start, at most 30 s apart; a worker that ran STABLE_SECONDS resets it. Never given up: a database
# that is down for a while comes back, and the workers with it.
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_SECONDS = 30.0


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"status {returncode}"


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process
    started: float
    # The parent's end of the socket pair: kept open while the worker runs (its lifeline).
    link: socket.socket


class Supervisor:
    """Starts `count` workers on `host:port`, keeps them running, stops them on a signal."""

    def __init__(self, count: int, host: str, port: int) -> None:
        self.count = count
        self.host = host
        self.port = port
        self.workers: dict[int, Worker] = {}
        self._stopping = asyncio.Event()
        self._signal = signal.SIGTERM

    async def run(self) -> int:
        """0 once every worker stopped cleanly after a signal; the exit status of a worker that did not
        start (1 if it had none of its own) after the others were stopped."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        failures = [f for f in await asyncio.gather(*(self._start(i) for i in range(self.count))) if f]
        if failures and not self._stopping.is_set():
            index, why, status = failures[0]
            print(f"collab: worker {index} did not start ({why}); stopping the others", file=sys.stderr, flush=True)
            await self._stop_all(signal.SIGTERM)
            return status if status > 0 else 1
        if not self._stopping.is_set():
            pids = ", ".join(str(w.process.pid) for w in self.workers.values())
            print(f"collab: {self.count} workers serving on http://{self.host}:{self.port} (pids {pids})", flush=True)
        watchers = [asyncio.create_task(self._watch(i)) for i in range(self.count)]
        await self._stopping.wait()
        # Watchers first: none may start a worker after the signals below went out.
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        return await self._stop_all(self._signal)

    def _on_signal(self, signum: int) -> None:
        if self._stopping.is_set():
            # A second signal would cut a worker's own shutdown short: the first one is on its way.
            log.warning("already stopping (waiting up to %g s for the workers)", STOP_SECONDS)
            return
        log.info("%s: stopping %d workers", signal.Signals(signum).name, len(self.workers))
        self._signal = signal.Signals(signum)
        self._stopping.set()

    def _command(self, index: int, fd: int) -> list[str]:
        return [
            sys.executable, "-m", "app", "serve", "--host", self.host, "--port", str(self.port),
            "--worker", str(index), "--supervisor-fd", str(fd),
        ]  # fmt: skip

    async def _start(self, index: int) -> tuple[int, str, int] | None:
        """Start worker `index` and wait until it listens: None, or (index, why, exit status) if it did not."""
        ours, theirs = socket.socketpair()
        try:
            # Its own process group: a terminal's Ctrl-C reaches the parent alone, which forwards it
            # once (a second SIGINT would interrupt a worker's shutdown).
            process = await asyncio.create_subprocess_exec(
                *self._command(index, theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                process_group=0,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        # Registered before any wait: a stop that comes now signals it too.
        self.workers[index] = Worker(index, process, time.monotonic(), ours)
        ours.setblocking(False)
        ready = asyncio.ensure_future(asyncio.get_running_loop().sock_recv(ours, 1))
        exited = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {ready, exited, stopping}, timeout=READY_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (ready, exited, stopping):
                waiter.cancel()
        if stopping in done or (ready in done and ready.exception() is None and ready.result()):
            return None
        if not done:
            process.kill()
            await process.wait()
            return index, f"not listening within {READY_SECONDS:g} s", 1
        status = await process.wait()  # it closed its end: it is exiting
        return index, f"exited with {describe(status)}", status

    async def _watch(self, index: int) -> None:
        """Restart worker `index` whenever it exits, with the backoff above, until the stop."""
        backoff = BACKOFF_FIRST_SECONDS
        while True:
            worker = self.workers[index]
            status = await worker.process.wait()
            worker.link.close()
            ran = time.monotonic() - worker.started
            if ran >= STABLE_SECONDS:
                backoff = BACKOFF_FIRST_SECONDS
            log.error(
                "worker %d (pid %d) exited with %s after %.0f s; starting it again in %g s",
                index, worker.process.pid, describe(status), ran, backoff,
            )  # fmt: skip
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
            failure = await self._start(index)
            if failure is None:
                log.info("worker %d started again (pid %d)", index, self.workers[index].process.pid)
            else:
                log.error("worker %d did not start again (%s)", index, failure[1])

    async def _stop_all(self, signum: int) -> int:
        """Forward `signum` to every running worker and wait: 0 if each stopped cleanly, else 1."""
        running = [w for w in self.workers.values() if w.process.returncode is None]
        for worker in running:
            worker.process.send_signal(signum)
        clean = True
        for worker in running:
            try:
                status = await asyncio.wait_for(worker.process.wait(), STOP_SECONDS)
            except TimeoutError:
                log.error("worker %d (pid %d) still running after %g s: killing it", worker.index, worker.process.pid,
                          STOP_SECONDS)  # fmt: skip
                worker.process.kill()
                status = await worker.process.wait()
            # -signum: it died of the signal itself, before its server had set its handlers (still starting).
            if status not in (0, -signum):
                log.error("worker %d (pid %d) stopped with %s", worker.index, worker.process.pid, describe(status))
                clean = False
        for worker in self.workers.values():
            worker.link.close()
        return 0 if clean else 1


def run_workers(count: int, host: str, port: int) -> int:
    """The parent process of `collab serve --workers N` (N > 1): returns its exit status."""
    return asyncio.run(Supervisor(count, host, port).run())


class SupervisorLink:
    """A worker's end of the socket pair: tell the parent we listen, stop when the parent is gone."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)

    def listening(self, *_message: object) -> None:
        """`run_app`'s `print` hook: it is called once every site listens, in the server's loop."""
        loop = asyncio.get_running_loop()
        try:
            self._sock.sendall(b"r")
        except OSError:
            self._parent_gone()
            return
        self._sock.setblocking(False)
        loop.add_reader(self._sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = self._sock.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._parent_gone()

    def _parent_gone(self) -> None:
        log.warning("the supervising process is gone: stopping (as on SIGTERM)")
        # run_app's own SIGTERM handler: the same shutdown as an operator's signal.
        os.kill(os.getpid(), signal.SIGTERM)
