"""The real application (create_app) behind pytest-aiohttp's test client, on every store.

Registered for every suite by the root conftest (`pytest_plugins`): `database_url` is parametrized
over SQLite and PostgreSQL, so a test that starts the app runs once per store on a fresh, migrated
database. Every app is signed with the tests' JWT secret (`support.auth.SECRET`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.config import Settings
from app.factory import create_app
from support.auth import SECRET

Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """`make_settings(**overrides)`: settings on the test's database and data directory."""

    def make(**overrides: Any) -> Settings:
        base = dataclasses.replace(
            Settings.from_env({}), database_url=database_url, data_dir=tmp_path / "data", jwt_secret=SECRET
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def start(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Start:
    """`await start(**settings)`: the app with those settings, served, and a client for it."""

    async def go(**overrides: Any) -> TestClient:
        return await aiohttp_client(create_app(make_settings(**overrides)))

    return go
