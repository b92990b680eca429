"""Document tests: a `collab serve` subprocess for the Node and browser tests. (The app on every store,
`start`, comes from support.apps for every suite.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.browser import watch  # noqa: F401 - a fixture
from support.servers import ServerProcess, serving


@pytest.fixture
def doc_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`collab serve` in a subprocess on a fresh SQLite database, started; stop and start it at will."""
    with serving(tmp_path) as process:
        yield process
