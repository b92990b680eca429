"""The monitor page in Chromium against two nodes. A package of its own: Playwright's sync API runs an
event loop of its own while the browser is open (see tests/monitor/pages/conftest.py)."""

from support.browser import (
    browser,  # noqa: F401 - a fixture of this package
    watch,  # noqa: F401 - a fixture
)
