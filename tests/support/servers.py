"""`collab serve` in a subprocess, for the tests that need a real server on a real port (browsers, Node
clients): started and stopped at will, SIGTERM to stop, its output in a log file for failures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from support.auth import SECRET

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """`collab serve` on `database_url` (already migrated), or on a fresh SQLite database in `data_dir`
    (migrated here, once). The port and the data stay across stop and start, so a restarted server is
    the same server to its clients. Guests are allowed and tokens are signed with the tests' secret;
    `settings` are more `COLLAB_*` variables; `args` more arguments of `collab serve` (`--workers 2`)."""

    def __init__(
        self, data_dir: Path, database_url: str | None = None, *, args: Sequence[str] = (), **settings: str
    ) -> None:
        self.data_dir = data_dir
        self.args = tuple(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        # Nothing from the caller's COLLAB_* settings.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
        self.env.update(COLLAB_DATA_DIR=str(data_dir), COLLAB_ALLOW_GUESTS="1", COLLAB_JWT_SECRET=SECRET)
        if database_url is not None:
            self.env["COLLAB_DATABASE_URL"] = database_url
        self.env.update(settings)
        if database_url is None:
            self._migrate()

    def _migrate(self) -> None:
        migrate = subprocess.run(
            [sys.executable, "-m", "app", "migrate"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"collab migrate failed:\n{migrate.stdout}{migrate.stderr}")

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(self.process)

    def stop(self) -> int | None:
        """SIGTERM (the server closes its sockets with 1001), then wait for the exit: its exit status
        (None if it was not running)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is not None:
            return process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as a crashed node would (nothing flushed, nothing closed)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                # Waiting on the process is the pause between probes, and notices an early exit at once.
                code = process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"the server exited with {code} before answering:\n{self.log.read_text()}")
        self.stop()
        raise RuntimeError(f"no answer on /healthz within {SERVER_START_SECONDS} s:\n{self.log.read_text()}")


@contextmanager
def serving(data_dir: Path, database_url: str | None = None, **settings: str) -> Iterator[ServerProcess]:
    """A `ServerProcess` (same arguments), started, and stopped when the block ends however it ends."""
    process = ServerProcess(data_dir, database_url, **settings)
    process.start()
    try:
        yield process
    finally:
        process.stop()
