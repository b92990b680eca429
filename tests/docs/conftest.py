"""Document tests: the real app on every store (`database_url`), a `collab serve` subprocess for the Node
and browser tests, and tests/browser's chromium fixtures."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from browser.conftest import (  # tests/browser's fixtures and server, shared
    ServerProcess,
    watch,  # noqa: F401 - a fixture
)

from app.config import Settings
from app.factory import create_app

from .yclient import SECRET

Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = Settings.from_env({"COLLAB_JWT_SECRET": SECRET})
        return dataclasses.replace(base, database_url=database_url, data_dir=tmp_path / "data", **overrides)

    return make


@pytest.fixture
def start(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Start:
    """`await start(**settings)`: the app with those settings, served, and a test client for it."""

    async def go(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return go


@pytest.fixture
def doc_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`collab serve` in a subprocess on a fresh SQLite database, started; stop and start it at will."""
    process = ServerProcess(tmp_path)
    process.env["COLLAB_JWT_SECRET"] = SECRET
    process.start()
    try:
        yield process
    finally:
        process.stop()
