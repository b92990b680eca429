"""The documented example channel module (docs/examples/shout.py) works as docs/channels.md says."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from support.auth import token

from app.factory import create_app
from collab.realtime.hub import ChannelManager

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "shout.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("shout_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _next_of(ws: Any, frame_type: str) -> dict:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] == frame_type:
            return frame


async def test_shout_channel_from_the_docs(aiohttp_client: Any, make_settings: Any) -> None:
    client = await aiohttp_client(create_app(make_settings(), channel_modules=[_load_example().shout_channels]))
    alice = await client.ws_connect("/ws?channel=shout:lobby&nickname=alice")
    assert (await _next_of(alice, "hello"))["here"] == 1
    bob = await client.ws_connect("/ws?channel=shout:lobby&nickname=bob")
    assert (await _next_of(bob, "hello"))["here"] == 2

    await alice.send_json({"type": "say", "text": "hi there"})
    for ws in (alice, bob):
        shouted = await _next_of(ws, "shout")
        assert (shouted["text"], shouted["seq"], shouted["nickname"]) == ("HI THERE", 1, "alice")
    assert (await _next_of(bob, "echoed"))["by"] == "alice"

    await bob.send_json({"type": "whisper"})
    error = await _next_of(bob, "error")
    assert error["code"] == "bad_request"
    await alice.close()
    await bob.close()


async def test_clients_cannot_publish_into_server_written_channels(aiohttp_client: Any, make_settings: Any) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    ws = await client.ws_connect("/ws?channel=general&nickname=mallory")
    for channel in ("monitor", "media"):
        await ws.send_json({"type": "subscribe", "channel": channel})
        await _next_of(ws, "subscribed")
        await ws.send_json({"type": "publish", "channel": channel, "event": "alert", "data": {"fake": True}, "id": "x"})
        error = await _next_of(ws, "error")
        assert (error["code"], error.get("id")) == ("forbidden", "x")
    await ws.close()


def _base_style_module(manager: ChannelManager) -> None:
    """An `OnConnect` hook as Base's examples write it: it reads who connected from the attributes."""
    greet = manager.register_channel("greet")

    @greet.on_connect
    async def on_connect(channel: Any, client: Any) -> None:
        client.send(
            {
                "type": "hello",
                "nickname": client.GetAttr("nickname"),
                "user_id": client.get_attr("user_id"),
                "userId": client.GetAttr("userId"),
                "home": client.get_attr("home"),
            }
        )


async def test_an_on_connect_hook_reads_the_nickname_and_user_id(aiohttp_client: Any, make_settings: Any) -> None:
    client = await aiohttp_client(create_app(make_settings(), channel_modules=[_base_style_module]))
    guest = await client.ws_connect("/ws?channel=greet:lobby&nickname=alice")
    welcome = await _next_of(guest, "welcome")
    hello = await _next_of(guest, "hello")
    assert hello == {
        "type": "hello",
        "nickname": "alice",
        "user_id": welcome["user"]["id"],
        "userId": welcome["user"]["id"],
        "home": "greet:lobby",
    }
    member = await client.ws_connect(f"/ws?channel=general&token={token('u-7', name='Ada')}")
    await member.send_json({"type": "subscribe", "channel": "greet:lobby"})
    hello = await _next_of(member, "hello")
    assert (hello["nickname"], hello["user_id"], hello["home"]) == ("Ada", "u-7", "general")
    await guest.close()
    await member.close()
