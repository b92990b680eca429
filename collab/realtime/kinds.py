"""A kind of channel: the hooks its module registers (message handlers by frame type, join and leave
hooks, who may join, the state a resume past the kept log gets), which `collab.realtime.hub` calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from collab.events import ChannelInfo
from collab.realtime.session import Session

# The hooks' channel is a `collab.realtime.channel.Channel`: `Any` here, as that module imports this one (and
# sibling modules may not import each other both ways); each hook names the type where it is defined.
MessageHandler = Callable[[Any, Session, dict[str, Any]], Awaitable[None]]
ConnectHook = Callable[[Any, Session], Awaitable[None]]
Authorize = Callable[[ChannelInfo | None, Session], None]
StateProvider = Callable[[Any], Awaitable[dict[str, Any]]]
Ensure = Callable[[str, Session], Awaitable[ChannelInfo | None]]


class ChannelKind:
    """The hooks of one kind of channel. `on_message` handlers are looked up by frame type; a handler
    registered without a type gets every type the kind has no handler for."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message_handlers: dict[str, MessageHandler] = {}
        self.fallback: MessageHandler | None = None
        self.connect_hooks: list[ConnectHook] = []
        self.disconnect_hooks: list[ConnectHook] = []
        self.authorize: Authorize | None = None
        self.state_provider: StateProvider | None = None
        # `ensure(name, client)` makes a channel its joiner found missing exist (chat rooms are made by
        # their first joiner) and returns its record as stored, which the joiner must pass too.
        self.ensure: Ensure | None = None
        # `known(name)`: a record of the channel that this process keeps current and that may stand in
        # for reading it (chat's public rooms: nothing about them changes but their head), or None.
        self.known: Callable[[str], ChannelInfo | None] | None = None
        # Kinds whose channels announce who is there (presence, system notices).
        self.presence = True
        # Whether clients may `publish` events of their own here (no for channels the server writes).
        self.client_publish = True

    def on_message(self, frame_type: str | MessageHandler | None = None) -> Any:
        if callable(frame_type):
            self.fallback = frame_type
            return frame_type

        def register(handler: MessageHandler) -> MessageHandler:
            if frame_type is None:
                self.fallback = handler
            else:
                self.message_handlers[frame_type] = handler
            return handler

        return register

    def on_connect(self, hook: ConnectHook) -> ConnectHook:
        self.connect_hooks.append(hook)
        return hook

    def on_disconnect(self, hook: ConnectHook) -> ConnectHook:
        self.disconnect_hooks.append(hook)
        return hook

    def authorizer(self, check: Authorize) -> Authorize:
        """`check(info, client)` raises `Forbidden` when the client may not join."""
        self.authorize = check
        return check

    def state(self, provider: StateProvider) -> StateProvider:
        """`provider(channel)` returns the `state` frame sent when a resume reaches past what is kept."""
        self.state_provider = provider
        return provider
