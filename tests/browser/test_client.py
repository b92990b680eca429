"""static/js/client.js on its own, in a page of the real server; Playwright's WebSocket routing plays
the bad network (frames that vanish, sockets cut at the worst moment)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocketRoute
from support.browser import wait_for

SOCKET = re.compile(r"/ws\?")

# A client on `window.client` that records every state and every message it lets through.
START_CLIENT = """async ([channel, options]) => {
    const { CollabClient } = await import("/static/js/client.js");
    window.states = [];
    window.seen = [];
    const client = new CollabClient({ channel, nickname: "probe", since: 0, ...options });
    client.on("statechange", ({ state }) => window.states.push(state));
    client.on("message", (frame) => window.seen.push([frame.seq, frame.content, frame.id ?? null]));
    client.connect();
    window.client = client;
}"""


def fresh_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


def open_blank(new_context, watch) -> Page:
    page = watch.attach(new_context().new_page())
    page.goto("/")
    return page


def wait_open(page: Page, count: int = 1) -> None:
    wait_for(page, "n => window.states.filter(s => s === 'open').length >= n", arg=count)


def cut_first_socket_at_a_message(sockets: list[WebSocketRoute], *, echo: bool) -> Callable[[WebSocketRoute], None]:
    """A route that lists every socket in `sockets` and passes its frames, except on the first one: a chat
    message's `echo` from the server (or, without `echo`, the message from the page) closes it (4000)
    instead of passing."""

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        first = not sockets
        sockets.append(ws)
        if not first:
            return
        # Frames in the other direction pass untouched: no handler is set there.
        source, sink = (upstream, ws) if echo else (ws, upstream)

        def forward(message: str | bytes) -> None:
            if isinstance(message, str) and '"type":"message"' in message:
                ws.close(code=4000, reason="cut")
            else:
                sink.send(message)

        source.on_message(forward)

    return route


@pytest.mark.browser
def test_backoff_has_full_jitter_under_a_cap(new_context, watch):
    page = open_blank(new_context, watch)
    delays = page.evaluate(
        """async () => {
            const { backoffDelay } = await import("/static/js/client.js");
            return [0, 1, 2, 5, 40].map((n) => [backoffDelay(n, 500, 15000, () => 0.999999),
                                              backoffDelay(n, 500, 15000, () => 0)]);
        }"""
    )
    highs = [high for high, _ in delays]
    assert highs == [499, 999, 1999, 14999, 14999]
    assert all(low == 0 for _, low in delays)


@pytest.mark.browser
def test_a_silent_socket_is_replaced_after_a_missed_heartbeat(new_context, watch):
    page = open_blank(new_context, watch)
    sockets: list[WebSocketRoute] = []
    silent = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        first = not sockets
        sockets.append(ws)
        if first:
            # The first socket stays "open" but nothing comes back any more: a dead network.
            upstream.on_message(lambda message: None if silent["on"] else ws.send(message))

    page.route_web_socket(SOCKET, route)
    page.evaluate(START_CLIENT, [fresh_room(), {"heartbeat": {"interval": 300, "timeout": 300}}])
    wait_open(page)
    silent["on"] = True
    wait_open(page, 2)
    states = page.evaluate("window.states")
    assert states == ["connecting", "open", "reconnecting", "open"], states
    assert len(sockets) == 2


@pytest.mark.browser
def test_a_message_whose_echo_was_lost_is_resent_and_stored_once(new_context, watch):
    page = open_blank(new_context, watch)
    room = fresh_room()
    sockets: list[WebSocketRoute] = []
    # The server stores the message, but the socket dies before the echo reaches the page.
    page.route_web_socket(SOCKET, cut_first_socket_at_a_message(sockets, echo=True))
    page.evaluate(START_CLIENT, [room, {"backoff": {"base": 50, "cap": 200}}])
    wait_open(page)
    page.evaluate("window.op = window.client.message('only once'); window.op.ack.then((f) => window.acked = f)")
    wait_for(page, "window.acked !== undefined")
    acked = page.evaluate("[window.acked.seq, window.acked.id === window.op.id]")
    assert acked == [1, True]
    assert page.evaluate("window.client.pending.size") == 0
    assert len(sockets) == 2
    op_id = page.evaluate("window.op.id")
    assert page.evaluate("window.seen") == [[1, "only once", op_id]]

    # A second client reading the whole channel finds it stored once.
    other = open_blank(new_context, watch)
    other.evaluate(START_CLIENT, [room, {}])
    wait_open(other)
    other.evaluate("window.client.message('after')")
    wait_for(other, "window.seen.length >= 2")
    assert [content for _, content, _ in other.evaluate("window.seen")] == ["only once", "after"]


@pytest.mark.browser
def test_a_message_that_never_left_is_sent_after_the_reconnect(new_context, watch):
    page = open_blank(new_context, watch)
    sockets: list[WebSocketRoute] = []
    # The page's message is lost on the way, and then the socket dies.
    page.route_web_socket(SOCKET, cut_first_socket_at_a_message(sockets, echo=False))
    page.evaluate(START_CLIENT, [fresh_room(), {"backoff": {"base": 50, "cap": 200}}])
    wait_open(page)
    page.evaluate("window.client.message('lost then found').ack.then((f) => window.acked = f)")
    wait_for(page, "window.acked !== undefined")
    assert [content for _, content, _ in page.evaluate("window.seen")] == ["lost then found"]
    assert len(sockets) == 2


@pytest.mark.browser
def test_extra_subscriptions_resume_after_a_reconnect(new_context, watch):
    page = open_blank(new_context, watch)
    home, extra = fresh_room(), fresh_room()
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(SOCKET, route)
    page.evaluate(START_CLIENT, [home, {"backoff": {"base": 50, "cap": 200}}])
    wait_open(page)
    page.evaluate(f"window.client.subscribe({extra!r}, {{since: 0}})")
    wait_for(page, f"window.client._ready.has({extra!r})")

    writer = open_blank(new_context, watch)
    writer.evaluate(START_CLIENT, [extra, {}])
    wait_open(writer)
    writer.evaluate("window.client.message('e1')")
    wait_for(page, "window.seen.length === 1")
    sockets[0].close(code=4000, reason="cut")
    writer.evaluate("window.client.message('e2'); window.client.message('e3')")
    wait_open(page, 2)
    wait_for(page, "window.seen.length >= 3")
    assert page.evaluate("window.seen.map(([seq, content]) => [seq, content])") == [[1, "e1"], [2, "e2"], [3, "e3"]]


@pytest.mark.browser
def test_a_refused_channel_is_fatal_but_another_channel_opens(new_context, watch):
    owner = open_blank(new_context, watch)
    lobby, secret = fresh_room(), fresh_room()
    owner.evaluate(START_CLIENT, [lobby, {}])
    wait_open(owner)
    owner.evaluate(
        f"""() => {{
            window.client.on("rooms", (frame) => (window.rooms = frame.rooms.map((r) => r.name)));
            window.client.createRoom({secret!r}, {{private: true}});
        }}"""
    )
    wait_for(owner, f"window.rooms?.includes({secret!r})")

    page = open_blank(new_context, watch)
    page.evaluate(START_CLIENT, [lobby, {}])
    wait_open(page)
    user = page.evaluate("window.client.user.id")
    page.evaluate(
        """() => {
            window.refreshed = 0;
            window.client.refreshToken = () => { window.refreshed += 1; return null; };
            window.client.on("fatal", (detail) => (window.fatal = detail));
        }"""
    )
    page.evaluate(f"window.client.switchChannel({secret!r})")
    wait_for(page, "window.fatal !== undefined")
    assert page.evaluate("[window.client.state, window.fatal.code, window.fatal.error.code, window.refreshed]") == [
        "closed",
        1008,
        "forbidden",
        0,
    ]
    # The guest is still the same user in a room it may enter.
    page.evaluate(f"window.client.switchChannel({lobby!r})")
    wait_open(page, 2)
    assert page.evaluate("window.client.user.id") == user
