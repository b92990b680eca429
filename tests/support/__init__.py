"""Helpers and shared fixtures for every test suite, imported as `support.<module>`.

Why `support` is importable from any folder: tests/ holds the root conftest.py and no __init__.py, so
pytest (rootdir and `testpaths` from pyproject.toml, the default `prepend` import mode) puts tests/
itself on `sys.path` when it imports that conftest, and it imports it before any conftest or test
below it, whichever subset of the suite runs. Suites import `support.*`, never each other's
conftests or modules; a conftest keeps only the fixtures of its own folder.

- `auth`: the tests' JWT secret and token maker.
- `databases`: fresh databases (SQLite file copies, PostgreSQL templates); the root conftest's fixtures use it.
- `apps`: the `make_settings` / `start` fixtures (the real app behind pytest-aiohttp's client), for all.
- `ws`, `raw_ws`: a JSON `/ws` client with deadlines; a hand-written WebSocket client (the slow reader).
- `yjs`: a y-websocket client on pycrdt for `/ws/doc/{name}`.
- `servers`: `collab serve` in a subprocess (`serving`: started, and stopped at the end of a block).
- `browser`: Debian's chromium through Playwright, the page watch, browser contexts and pages opened connected.
- `pages`: the fixtures of the page-test folders (a server on the test's database, pages opened as new users).
- `boards`: board clients at the engine level (sessions on fake transports) and the users they act as.
- `closing`: `opened`, what a fixture opens (a store, a cluster), closed however the test ends.
- `images`, `openapi_schema`: small files of every media type; a JSON Schema checker for the OpenAPI tests.
"""
