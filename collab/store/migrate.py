"""Schema version checks and upgrades through alembic, for the CLI, the server and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from collab.errors import SchemaBehind
from collab.store.engine import make_engine

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    return config


def _run(url: str, action: str, revision: str) -> None:
    getattr(command, action)(alembic_config(url), revision)


async def upgrade_to_head(url: str) -> None:
    """`alembic upgrade head` on `url` (alembic runs its own event loop, so it goes to a thread)."""
    import asyncio

    await asyncio.to_thread(_run, url, "upgrade", "head")


async def check_schema_current(url: str) -> None:
    """Raise `SchemaBehind` unless the database is at the newest migration."""
    expected = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            current = set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
    finally:
        await engine.dispose()
    if current != expected:
        shown = ", ".join(sorted(current)) or "empty"
        raise SchemaBehind(
            f"the database schema is behind (at {shown}, code needs {', '.join(sorted(expected))}): "
            "run `collab migrate`"
        )
