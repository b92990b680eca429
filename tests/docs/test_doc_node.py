"""Real Yjs clients in Node (yjs + y-websocket's WebsocketProvider, from package-lock.json) against
`collab serve`: concurrent typing, offline edits merged on reconnect, then a restart that loses nothing."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import orjson
import pytest
from support.auth import token

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "node" / "yjs_clients.mjs"


def node(*args: str) -> dict:
    done = subprocess.run(["node", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=90)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = orjson.loads(lines[-1]) if lines else {}
    assert done.returncode == 0 and "error" not in result, f"{result}\n{done.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (ROOT / "node_modules" / "y-websocket").is_dir():
        pytest.skip("node_modules is missing: run `make setup` (scripts/build-static.sh runs npm ci)")


def test_yjs_clients_converge_offline_edits_merge_and_a_restart_loses_nothing(doc_server) -> None:
    base = doc_server.url.replace("http://", "ws://") + "/ws/doc"
    edited = node("edit", base, "node-notes")
    assert edited["length"] > 200

    doc_server.stop()  # SIGTERM: sockets closed, appends flushed, final snapshot
    doc_server.start()
    assert node("check", base, "node-notes")["text"] == edited["text"]

    request = urllib.request.Request(
        f"{doc_server.url}/api/docs/node-notes", headers={"Authorization": f"Bearer {token('op', roles=['operator'])}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = orjson.loads(answer.read())
    assert body["text"] == edited["text"]
