"""A `start` fixture for suites outside tests/app (media, monitor): the real application (create_app) on
every store (`database_url`), signed with the tests' JWT secret. Their conftest imports it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from ws_helpers import SECRET

from app.config import Settings
from app.factory import create_app

Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def start(aiohttp_client: Any, database_url: str, tmp_path: Path) -> Start:
    """`await start(**settings)`: the app with those settings (and the tests' JWT secret), served."""

    async def go(**overrides: Any) -> TestClient:
        settings = dataclasses.replace(
            Settings.from_env({}),
            database_url=database_url,
            data_dir=tmp_path / "data",
            jwt_secret=SECRET,
            **overrides,
        )
        return await aiohttp_client(create_app(settings))

    return go
