"""The media library through the real application (create_app) on every store (`database_url`)."""

import sys
from pathlib import Path

# tests/app's helpers and its `start` fixture with the tests' secret (that directory is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from secret_app import Start, start  # noqa: F401
