"""A custom channel kind in a dozen lines: `shout:<name>` channels upper-case what they are told.

Run it:  COLLAB_DATA_DIR=./data python docs/examples/shout.py   (after `collab migrate`)
Then connect to ws://127.0.0.1:8080/ws?channel=shout:lobby and send {"type":"say","text":"hi"}.
"""

from aiohttp import web

from app.factory import create_app
from collab.realtime.hub import Channel, ChannelManager
from collab.realtime.session import Session


def shout_channels(manager: ChannelManager) -> None:
    shout = manager.register_channel("shout")

    @shout.on_connect
    async def greet(channel: Channel, client: Session) -> None:
        client.send({"type": "hello", "channel": channel.name, "here": len(channel.clients)})

    @shout.on_message("say")
    async def say(channel: Channel, client: Session, frame: dict) -> None:
        text = str(frame.get("text", ""))[:200].upper()
        await channel.append(client, "shout", {"text": text})  # stored, then sent to everyone
        channel.broadcast({"type": "echoed", "by": client.user.name}, exclude=client.id)  # not stored


if __name__ == "__main__":
    web.run_app(create_app(channel_modules=[shout_channels]), host="127.0.0.1", port=8080)
