"""One server process per SQLite file: an exclusive `flock` on `<database file>.lock`, held while it serves.

On SQLite the fan-out lives in the server's memory (the in-process broker): a second server on the same
file would store events that the first one's clients never hear of, and each would believe it owns the
delivery. The lock turns that into a refusal that names the file and the process holding it. PostgreSQL
needs no lock: its broker ties any number of processes together.

`flock` belongs to the open file, not to a path or a pid: the kernel drops it when the holder exits
however it exits (SIGKILL included), so a stale lock file never blocks a restart. The pid written into
the file is only there to name the holder in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from collab.errors import StoreError


class DatabaseInUse(StoreError):
    """Another process holds the database's lock (a `collab serve`, or a `collab migrate` changing it);
    the message names the file and that process, the caller says what it means for its command."""

    code = "database_in_use"

    def __init__(self, lock_path: Path, holder: str | None) -> None:
        who = f"process {holder}" if holder else "another process"
        super().__init__(f"{lock_path} is held by {who}")
        self.lock_path = lock_path
        self.holder = holder


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and for an in-memory SQLite database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


@contextmanager
def database_lock(database_url: str, holder: str) -> Iterator[Path | None]:
    """Hold the lock of a SQLite database file for the block (nothing to hold for other databases).
    `holder` says what holds it (`collab serve`): written after the pid, shown in another process's
    refusal. Raises `DatabaseInUse` at once, without waiting, when another process holds it."""
    database = sqlite_file(database_url)
    if database is None:
        yield None
        return
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # Opened without truncating: the holder's pid stays readable until we have the lock.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(lock_path, _read_holder(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} ({holder})\n".encode(), 0)
        try:
            yield lock_path
        finally:
            # Emptied before the lock goes: a later reader never names a process that has let go.
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _read_holder(fd: int) -> str | None:
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text or None
