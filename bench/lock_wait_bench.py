"""How freely the event loop turns while the SQLite writer waits for another process's write lock
(not part of the tests).

    PYTHONPATH=. .venv/bin/python bench/lock_wait_bench.py [--hold 0.5]

Another connection holds the write lock for `--hold` seconds while an append waits; meanwhile a task
sleeps 10 ms at a time. Prints the turns it got and the worst lateness of a wake-up. The tests check
that the loop serves reads while the append waits (tests/store/test_concurrency.py); the suite used
to require at least 10 turns in 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from collab.events import NewEvent
from collab.store.migrate import upgrade_to_head
from collab.store.sql import SqlEventStore


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="collab-bench-") as tmp:
        path = Path(tmp) / "collab.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_to_head(url)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        store = await SqlEventStore.open(url)
        try:
            append = asyncio.create_task(store.append(NewEvent("room", "message")))
            turns, worst = 0, 0.0
            deadline = time.monotonic() + args.hold
            while time.monotonic() < deadline:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                worst = max(worst, time.monotonic() - before - 0.01)
                turns += 1
            pending = not append.done()
            blocker.execute("COMMIT")
            await asyncio.wait_for(append, timeout=30)
        finally:
            blocker.close()
            await store.close()
    print(
        f"{turns} turns in {args.hold} s while the append waited (pending: {pending}); "
        f"worst lateness {worst * 1000:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
