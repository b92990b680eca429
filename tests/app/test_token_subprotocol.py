"""Tokens out of URLs (issue 12, item 11): a client offers its token as the WebSocket subprotocol
`collab.token.<token>` beside `collab.auth`, on `/ws` and on `/ws/doc`; the server answers `collab.auth`
only, so the token never appears in a request line. `?token=` keeps working for Base's clients."""

from __future__ import annotations

import pytest
from aiohttp import WSMsgType
from support.auth import SECRET, token
from support.ws import Peer, refused
from support.yjs import close_code


@pytest.fixture
async def strict(start):
    """Guests off: a socket without a good token is refused."""
    return await start(allow_guests=False, jwt_secret=SECRET, jwt_audience="collab-tests")


def offer(value: str) -> tuple[str, str]:
    return ("collab.auth", f"collab.token.{value}")


async def test_a_token_in_the_subprotocol_signs_in_on_ws(strict) -> None:
    ws = await strict.ws_connect(
        "/ws", params={"channel": "general"}, protocols=offer(token("ann", aud="collab-tests"))
    )
    try:
        assert ws.protocol == "collab.auth"  # the answer names the marker, never the token
        welcome = await Peer(ws).recv()
        assert welcome["type"] == "welcome" and welcome["user"]["id"] == "ann", welcome
    finally:
        await ws.close()


async def test_a_bad_token_in_the_subprotocol_is_refused_on_ws(strict) -> None:
    ws = await strict.ws_connect("/ws", params={"channel": "general"}, protocols=offer("not.a.jwt"))
    code, frames = await Peer(ws).closed()
    assert code == 1008
    assert [(f["type"], f["code"]) for f in frames] == [("error", "unauthorized")], frames


async def test_the_query_token_still_works(strict) -> None:
    ws = await strict.ws_connect("/ws", params={"channel": "general", "token": token("bob", aud="collab-tests")})
    try:
        welcome = await Peer(ws).recv()
        assert welcome["user"]["id"] == "bob", welcome
    finally:
        await ws.close()
    code, _ = await refused(strict, token="not.a.jwt")
    assert code == 1008


async def test_a_token_in_the_subprotocol_signs_in_on_the_document_socket(strict) -> None:
    ws = await strict.ws_connect("/ws/doc/notes", protocols=offer(token("ann", aud="collab-tests")))
    try:
        assert ws.protocol == "collab.auth"
        first = await ws.receive(timeout=5)
        assert first.type is WSMsgType.BINARY, first  # the server's sync step 1: admitted
    finally:
        await ws.close()


async def test_a_bad_token_in_the_subprotocol_is_refused_on_the_document_socket(strict) -> None:
    ws = await strict.ws_connect("/ws/doc/notes", protocols=offer("not.a.jwt"))
    try:
        assert await close_code(ws, within=5) == 1008
    finally:
        await ws.close()
    ws = await strict.ws_connect("/ws/doc/notes")  # no token at all, guests off
    try:
        assert await close_code(ws, within=5) == 1008
    finally:
        await ws.close()
