"""One server process per SQLite file: `collab serve --workers N` is refused there, a second `collab
serve` on the same file is refused while the first runs (and accepted once it stopped), and the
commands meant to run beside a server still do."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from support.databases import sqlite_url
from support.servers import ROOT, ServerProcess, free_port
from support.ws import connect

from app.cli import main
from collab.store.lock import DatabaseInUse, database_lock


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`collab serve` expected to refuse: it returns at once (a timeout here means it started)."""
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", str(free_port()), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment without the caller's COLLAB_* settings, on a data directory of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COLLAB_")}
    env.update(COLLAB_DATA_DIR=str(tmp_path), **settings)
    return env


def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    done = serve(clean_env(tmp_path), "--workers", "2")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "collab: --workers 2 refused: SQLite is served by one process (its fan-out lives in that process's "
        "memory); use PostgreSQL to run several"
    ]
    assert not (tmp_path / "collab.db").exists()  # refused before anything was opened


def test_workers_are_refused_without_the_postgres_broker(tmp_path: Path) -> None:
    # Never connected: the refusal comes before the database is touched.
    env = clean_env(
        tmp_path, COLLAB_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none", COLLAB_BROKER="memory"
    )
    done = serve(env, "--workers", "3")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "collab: --workers 3 refused: COLLAB_BROKER=memory delivers within one process; use PostgreSQL to run several"
    ]


def test_the_lock_names_its_holder_and_goes_with_it(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "collab.db")
    lock_file = tmp_path / "collab.db.lock"
    with database_lock(url, "collab serve") as held:
        assert held == lock_file
        # flock belongs to the open file: a second open, even in this process, is refused.
        with pytest.raises(DatabaseInUse) as refused, database_lock(url, "collab serve"):
            pass
        assert refused.value.lock_path == lock_file
        assert str(refused.value) == f"{lock_file} is held by process {os.getpid()} (collab serve)"
    assert lock_file.read_text() == ""
    with database_lock(url, "collab migrate") as held:
        assert held == lock_file


@pytest.mark.parametrize("url", ["postgresql+asyncpg://u@h/db", "sqlite+aiosqlite:///:memory:", "sqlite://"])
def test_nothing_to_lock_beyond_a_sqlite_file(url: str) -> None:
    with database_lock(url, "collab serve") as held, database_lock(url, "collab serve") as again:
        assert held is None and again is None


async def test_a_second_server_on_one_sqlite_file_is_refused_until_the_first_stops(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path)
    await asyncio.to_thread(first.start)
    try:
        assert first.process is not None
        pid = first.process.pid
        done = await asyncio.to_thread(serve, first.env)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"collab: serve refused: {tmp_path / 'collab.db.lock'} is held by process {pid} (collab serve); "
            "SQLite is served by one process at a time (stop that one first, or use PostgreSQL to run several)"
        ]
        # The first one never noticed.
        async with aiohttp.ClientSession(base_url=first.url) as http:
            peer = await connect(http, channel="room", nickname="ann")
            await peer.close()
    finally:
        assert await asyncio.to_thread(first.stop) == 0
    second = ServerProcess(tmp_path, sqlite_url(tmp_path / "collab.db"))  # the same file, already migrated
    await asyncio.to_thread(second.start)
    assert await asyncio.to_thread(second.stop) == 0


async def test_the_commands_beside_a_server_keep_working(tmp_path: Path, monkeypatch, capsys) -> None:
    """history, replay, prune, revoke, token and a `migrate` with nothing to do take no lock."""
    server = ServerProcess(tmp_path)
    await asyncio.to_thread(server.start)
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            ann = await connect(http, channel="room", nickname="ann")
            await ann.send(type="message", content="beside the server", id="m1")
            await ann.expect("message", content="beside the server")
            await ann.close()
            board = await connect(http, channel="kanban:team", nickname="ann")
            await board.send(type="column_add", column="todo", title="To do", id="c1")
            await board.expect("column_added", id="c1")
            await board.close()
        monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path))
        for argv in (
            ["history", "room", "--json"],
            ["replay", "kanban:team"],
            ["prune", "--older-than", "90d", "--dry-run"],
            ["revoke", "--user", "bob"],
            ["token", "--sub", "ann"],
            ["migrate"],
        ):
            code = await asyncio.to_thread(main, argv)
            out, err = capsys.readouterr()
            assert code == 0, (argv, err)
            if argv[0] == "history":
                assert "beside the server" in out
            if argv[0] == "replay":
                assert "To do" in out
    finally:
        assert await asyncio.to_thread(server.stop) == 0


def test_a_migration_that_changes_the_schema_waits_for_the_server_to_stop(tmp_path: Path, monkeypatch, capsys) -> None:
    server = ServerProcess(tmp_path)
    server.start()
    try:
        assert server.process is not None
        # The code was upgraded under a running server: its database is now one migration behind.
        with sqlite3.connect(tmp_path / "collab.db") as db:
            (head,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
            db.execute("UPDATE alembic_version SET version_num = ?", (f"{int(head) - 1:04d}",))
        monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path))
        assert main(["migrate"]) == 2
        _, err = capsys.readouterr()
        assert err.splitlines()[-1] == (
            f"collab: migrate refused: {tmp_path / 'collab.db.lock'} is held by process {server.process.pid} "
            "(collab serve); stop the server, migrate, then start it again"
        )
        with sqlite3.connect(tmp_path / "collab.db") as db:
            assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (f"{int(head) - 1:04d}",)
    finally:
        assert server.stop() == 0
