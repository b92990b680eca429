"""The y-websocket decoder fuzzed (issue 11): arbitrary bytes and real messages mutated, first through
the decoder and what the server does with what it accepts (in process, thousands a second), then through
a real `/ws/doc/{name}` socket of a real `collab serve`.

The rule (docs/editor.md, collab/documents/wire.py): a frame either parses, and then everything the
server does with it works (a state vector answers a step 2, an update applies, an awareness update
applies), or it is refused with `ProtocolError`, which closes the socket with 1007 and keeps every byte of
it out of the document, the log and the other clients. No other exception, no other close code, and
the stored document still loads afterwards. `COLLAB_FUZZ_EXAMPLES` runs more examples.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text, create_awareness_message, create_sync_message, create_update_message
from support.auth import token
from support.fuzzing import fuzz_settings, unhandled_errors
from support.servers import ServerProcess

from collab.documents import wire
from collab.errors import ProtocolError

# -- real messages to mutate ---------------------------------------------------------------------------


def real_messages(seed: int) -> list[bytes]:
    """Messages a y-websocket client sends: sync step 1 and 2, updates (inserts, deletes), awareness."""
    rng = random.Random(seed)
    doc = Doc(client_id=rng.randrange(1, 2**32))  # the same bytes for the same seed (hypothesis replays)
    text = doc.get("content", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for _ in range(rng.randint(1, 4)):
        if len(text) and rng.random() < 0.3:
            start = rng.randrange(len(text))
            del text[start : min(len(text), start + rng.randint(1, 3))]
        else:
            text.insert(rng.randint(0, len(text)), "".join(rng.choice("ab\n") for _ in range(rng.randint(1, 5))))
    if rng.random() < 0.5:
        text.insert(0, "😀é")  # (only at the start: pycrdt's lengths and indices count differently past it)
    state = '{"user":{"name":"fz","color":"#123"},"cursor":{"anchor":1}}'
    awareness = bytes([1]) + _var_uint(rng.randrange(2**32)) + _var_uint(rng.randint(0, 9)) + _var_string(state)
    return [
        create_sync_message(doc),
        b"\x00\x01" + _var_bytes(doc.get_update()),
        *(create_update_message(update) for update in updates),
        create_awareness_message(awareness),
        b"\x03",
    ]


def _var_uint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _var_bytes(data: bytes) -> bytes:
    return _var_uint(len(data)) + data


def _var_string(text: str) -> bytes:
    return _var_bytes(text.encode())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real message with a few bytes flipped, cut, inserted or repeated."""
    messages = real_messages(draw(st.integers(0, 2**16)))
    data = bytearray(draw(st.sampled_from(messages)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "set", "cut", "insert", "repeat", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            data[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif how == "cut" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 16))]
        elif how == "truncate":
            del data[at:]
    return bytes(data)


FRAMES = st.one_of(
    st.binary(max_size=64),
    mutated(),
    # Real messages untouched too: every branch is reached in every run, not only in most.
    st.integers(0, 2**16).flatmap(lambda seed: st.sampled_from(real_messages(seed))),
    st.sampled_from([b"", b"\x00", b"\x00\x00", b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f"]),
)


def handled(frame: bytes) -> str:
    """What the server's document path does with `frame`, in process: 'refused' or what it accepted. Any
    exception other than `ProtocolError` escapes (and fails the test)."""
    try:
        message = wire.parse_message(frame)
    except ProtocolError:
        return "refused"
    doc = Doc()
    doc.get("content", type=Text).insert(0, "hello")
    if message.type == wire.SYNC and message.sync == wire.STEP1:
        try:
            wire.sync_step2_message(doc, message.payload)
        except ProtocolError:
            return "refused step 1"
        return "step 1"
    if message.type == wire.SYNC:
        # The wire module's promise: an update that parses also applies (it is stored before it is applied).
        assert wire.apply_update(wire.new_doc(), message.payload), f"stored but cannot apply: {frame!r}"
        assert wire.apply_update(doc, message.payload), f"stored but cannot apply on a document: {frame!r}"
        wire.read_text(doc)
        return "update"
    if message.type == wire.AWARENESS:
        wire.DocAwareness().apply(message.payload, "peer")
        return "awareness"
    return "ignored"


def test_the_decoder_refuses_or_handles_every_frame() -> None:
    seen: set[str] = set()

    @fuzz_settings(1500)
    @given(frame=FRAMES)
    def check(frame: bytes) -> None:
        seen.add(handled(frame))

    check()
    # The mutations reach every branch, not only the refusal.
    assert {"refused", "update", "awareness"} <= seen, seen


# -- through a real socket ------------------------------------------------------------------------------

# Sync step 1 with an empty state vector (varUint8Array of varUint(0)): the server answers a step 2.
STEP1_EMPTY = b"\x00\x00\x01\x00"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("fuzz-docs"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def send_and_probe(http: aiohttp.ClientSession, url: str, frame: bytes) -> int | None:
    """Send `frame` on a fresh document socket, then a step 1: None when the step 2 comes back (the
    socket took the frame), else the close code."""
    async with http.ws_connect(f"{url}/ws/doc/fuzzdoc") as ws:
        await ws.send_bytes(frame)
        await ws.send_bytes(STEP1_EMPTY)
        async with asyncio.timeout(15):
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.CLOSE:
                    return msg.data
                if msg.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return ws.close_code
                if msg.type is aiohttp.WSMsgType.BINARY and msg.data[:2] == b"\x00\x01":
                    # The server sends a step 2 only as an answer (to the frame, if it was a step 1, or to
                    # the probe), and handles a socket's frames in order: a refused frame gets no answer.
                    return None


def test_the_document_socket_refuses_malformed_frames_with_1007(server: ServerProcess) -> None:
    log_start = server.log.stat().st_size
    outcomes: dict[str, int] = {}

    @fuzz_settings(40)
    @given(frame=FRAMES)
    def check(frame: bytes) -> None:
        expected = handled(frame)
        code = asyncio.run(probe(server.url, frame))
        if expected.startswith("refused"):
            assert code == 1007, f"{frame!r} must close with 1007, not {code}"
        else:
            assert code is None, f"{frame!r} ({expected}) closed the socket with {code}"
        outcomes[expected] = outcomes.get(expected, 0) + 1

    check()
    assert unhandled_errors(server.log, log_start) == []
    # The document the fuzzing stored into still loads, for an operator and for a new client.
    asyncio.run(check_document_loads(server.url))


async def probe(url: str, frame: bytes) -> int | None:
    async with aiohttp.ClientSession() as http:
        return await send_and_probe(http, url, frame)


async def check_document_loads(url: str) -> None:
    headers = {"Authorization": f"Bearer {token('ops', roles=['operator'])}"}
    # One well-formed edit after the fuzzing, so that the document exists even when no fuzzed frame was
    # an update (the examples are random): what the fuzzing stored must not keep it from loading.
    doc = Doc()
    doc.get("content", type=Text).insert(0, "after the fuzzing")
    async with aiohttp.ClientSession() as http:
        assert await send_and_probe(http, url, wire.update_message(doc.get_update())) is None
        async with http.get(f"{url}/api/docs/fuzzdoc", headers=headers) as response:
            assert response.status == 200, await response.text()
        assert await send_and_probe(http, url, STEP1_EMPTY) is None
