"""Header holes of issue 11 (item 15), tried as an attacker would: pages that another site could frame and
that ran any inline script injected into them, PDFs shown inline without the sandbox images get, and a
DNS-rebinding page whose Host follows its Origin past the socket's origin check. In-process apps on
SQLite and PostgreSQL; tests/hardening/pages loads every page in Chromium under the policy."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from aiohttp import FormData, WSServerHandshakeError
from support.auth import token
from support.images import pdf, png
from support.ws import connect

from app.config import ConfigError, Settings

STATIC = Path(__file__).resolve().parents[2] / "static"
PAGES = ["/", *(f"/static/{path.name}" for path in sorted(STATIC.glob("*.html")))]


def assert_page_headers(headers, where: str) -> None:
    policy = headers.get("Content-Security-Policy", "")
    directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";") if part.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (where, policy)
    assert directives.get("default-src") == "default-src 'self'", (where, policy)
    assert "script-src" not in directives and "'unsafe-eval'" not in policy, (where, policy)
    # Inline styles for the editor alone (CodeMirror writes <style> elements); inline scripts for none.
    inline = [name for name, directive in directives.items() if "'unsafe-inline'" in directive]
    assert inline == (["style-src"] if where == "/static/editor.html" else []), (where, policy)
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where


async def test_every_page_and_answer_has_the_policy_and_cannot_be_framed(start) -> None:
    client = await start()
    for path in PAGES:
        response = await client.get(path)
        assert response.status == 200, path
        assert_page_headers(response.headers, path)
    # The API, its errors, and files that are not pages carry them too.
    for path, status in (("/api/media", 200), ("/api/media/0123456789abcdef", 404), ("/healthz", 200)):
        response = await client.get(path)
        assert response.status == status, path
        assert_page_headers(response.headers, path)
    unauthorized = await client.get("/api/channels")
    assert unauthorized.status == 401
    assert_page_headers(unauthorized.headers, "401")
    script = await client.get("/static/js/client.js")
    assert_page_headers(script.headers, "a static script")


def test_no_page_has_inline_script_or_handler() -> None:
    """What the policy would block: an inline <script>, an on… attribute, a style attribute."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=", re.I)
    offenders = [
        f"{path.name}: {m.group(0)}" for path in STATIC.glob("*.html") for m in inline.finditer(path.read_text())
    ]
    assert not offenders, offenders


async def upload(client, content: bytes, filename: str) -> dict:
    data = FormData()
    data.add_field("file", io.BytesIO(content), filename=filename, content_type="application/octet-stream")
    response = await client.post("/api/media", data=data, headers={"Authorization": f"Bearer {token('ann')}"})
    assert response.status == 201
    return await response.json()


async def test_a_pdf_is_a_sandboxed_download_and_an_image_a_sandboxed_inline(start) -> None:
    client = await start()
    document = await upload(client, pdf(), "report.pdf")
    served = await client.get(document["file_url"])
    assert served.status == 200 and served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith('attachment; filename="report.pdf"')
    policy = served.headers["Content-Security-Policy"]
    assert policy.endswith("sandbox") and "frame-ancestors 'none'" in policy and "script" not in policy
    no_name = await upload(client, pdf(), "")
    assert (await client.get(no_name["file_url"])).headers["Content-Disposition"] == "attachment"
    picture = await upload(client, png(), "sky.png")
    shown = await client.get(picture["file_url"])
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["Content-Security-Policy"] == policy


PUBLIC = ("https://chat.example.com", "http://localhost:8080")


async def socket_status(client, path: str, host: str, origin: str | None) -> int:
    headers = {"Host": host, **({"Origin": origin} if origin else {})}
    try:
        ws = await client.ws_connect(path, headers=headers)
    except WSServerHandshakeError as error:
        return error.status
    await ws.close()
    return 101


@pytest.mark.parametrize("path", ["/ws", "/ws/doc/notes"])
async def test_a_rebound_host_is_refused_when_a_public_origin_is_set(start, path) -> None:
    client = await start(public_origins=PUBLIC)
    # The page of evil.example:8080, its name rebound to this server: Host and Origin agree, both wrong.
    assert await socket_status(client, path, "evil.example:8080", "http://evil.example:8080") == 403
    assert await socket_status(client, path, "evil.example:8080", None) == 403
    assert await socket_status(client, path, "127.0.0.1:8080", "http://127.0.0.1:8080") == 403
    # The public names, with or without their default port, from their own pages or no page.
    assert await socket_status(client, path, "chat.example.com", "https://chat.example.com") == 101
    assert await socket_status(client, path, "chat.example.com:443", "https://chat.example.com") == 101
    assert await socket_status(client, path, "CHAT.example.com", None) == 101
    assert await socket_status(client, path, "localhost:8080", "http://localhost:8080") == 101
    assert await socket_status(client, path, "chat.example.com:8443", "https://chat.example.com") == 403
    # A right Host does not make another site's page welcome.
    assert await socket_status(client, path, "chat.example.com", "https://evil.example") == 403


async def test_without_a_public_origin_loopback_use_is_unchanged(start) -> None:
    client = await start()
    peer = await connect(client, channel="room")  # Host 127.0.0.1:<port>, as `make run` and the tests
    assert peer.welcome["type"] == "welcome"
    assert await socket_status(client, "/ws", "localhost:8080", "http://localhost:8080") == 101


@pytest.mark.parametrize("value", ["chat.example.com", "https://chat.example.com/app", "ftp://x", "https://x:port"])
def test_a_public_origin_that_is_no_origin_stops_the_start(value) -> None:
    with pytest.raises(ConfigError, match="COLLAB_PUBLIC_ORIGIN"):
        Settings.from_env({"COLLAB_PUBLIC_ORIGIN": value})
    assert Settings.from_env(
        {"COLLAB_PUBLIC_ORIGIN": "https://Chat.example.com/, http://[::1]:8080"}
    ).public_origins == (
        "https://chat.example.com",
        "http://[::1]:8080",
    )
