"""A process killed while appending loses nothing it reported as committed, and leaves no gap."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from collab.store.sql import SqlEventStore

# Eight appenders, so that batches are in flight when the kill comes. A seq is printed only after
# `append` returned, that is after its commit.
CHILD = """
import asyncio, sys
from collab.events import NewEvent
from collab.store.sql import SqlEventStore

async def main(url):
    store = await SqlEventStore.open(url)

    async def appender(index):
        while True:
            appended = await store.append(NewEvent("crash", "message", {"appender": index}))
            sys.stdout.write(f"{appended.event.seq}\\n")
            sys.stdout.flush()

    await asyncio.gather(*(appender(i) for i in range(8)))

asyncio.run(main(sys.argv[1]))
"""

WANTED = 300
DEADLINE_SECONDS = 60


async def test_a_killed_appender_loses_nothing_it_reported(database_url: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, database_url, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    reported: list[int] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(reported) < WANTED:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=max(0.1, deadline - time.monotonic()))
            assert line, f"the child stopped early (exit code {await child.wait()})"
            reported.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    # Lines the child wrote before the kill but we had not read yet count too.
    reported.extend(int(line) for line in (await child.stdout.read()).split())
    assert child.returncode == -signal.SIGKILL

    store = await SqlEventStore.open(database_url)
    try:
        head = await store.head("crash")
        stored = [e.seq for e in await store.read("crash")]
    finally:
        await store.close()
    assert len(set(reported)) == len(reported)
    assert stored == list(range(1, head + 1))
    assert set(reported) <= set(stored)
