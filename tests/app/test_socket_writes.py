"""How frames reach a socket (collab.realtime.connection): the frames of one loop turn in one write,
each still its own WebSocket frame, in order; a full socket makes later frames wait, bounded."""

from __future__ import annotations

import asyncio

from support.frames import split_frames

from collab.realtime.connection import CloseCode, Connection, State
from collab.realtime.frames import TEXT, frame_payload, json_frame, text_frame
from collab.users import User

USER = User(id="u-ann", name="Ann")


class CountingTransport:
    """Records each write; `full` makes the next writes report a full buffer until `drain` is called."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.full = False
        self.closed: int | None = None
        self._drained = asyncio.Event()

    def write(self, data: bytes) -> bool:
        self.writes.append(data)
        return not self.full

    async def drained(self) -> None:
        await self._drained.wait()

    def drain(self) -> None:
        self.full = False
        self._drained.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    def texts(self) -> list[str]:
        return [payload.decode() for data in self.writes for _, payload in split_frames(data)]


async def turn() -> None:
    await asyncio.sleep(0)


def test_a_frame_is_framed_by_its_length() -> None:
    for size in (0, 125, 126, 65535, 65536):
        wire = text_frame("x" * size)
        assert split_frames(wire) == [(TEXT, b"x" * size)]
        assert frame_payload(wire) == b"x" * size
    assert frame_payload(json_frame({"a": 1})) == b'{"a":1}'


async def test_the_frames_of_a_turn_go_out_in_one_write_in_order() -> None:
    transport = CountingTransport()
    connection = Connection(transport, USER)
    for n in range(10):
        connection.send_frame(f"frame {n}")
    assert transport.writes == []  # nothing before the turn ends
    await turn()
    assert len(transport.writes) == 1
    assert transport.texts() == [f"frame {n}" for n in range(10)]
    connection.send_frame("next turn")
    await turn()
    assert len(transport.writes) == 2 and transport.texts()[-1] == "next turn"


async def test_a_full_socket_holds_later_frames_until_it_drains() -> None:
    transport = CountingTransport()
    connection = Connection(transport, USER)
    transport.full = True
    connection.send_frame("first")
    await turn()
    assert transport.texts() == ["first"]
    for n in range(5):
        connection.send_frame(f"waiting {n}")
    await turn()
    assert len(transport.writes) == 1 and connection.queued == 5  # held for the drain
    transport.drain()
    await turn()
    await turn()
    assert transport.texts() == ["first"] + [f"waiting {n}" for n in range(5)]
    assert len(transport.writes) == 2 and connection.queued == 0


async def test_a_client_that_does_not_read_is_closed_when_its_outbox_is_full() -> None:
    transport = CountingTransport()
    connection = Connection(transport, USER, queue_limit=8)
    transport.full = True
    connection.send_frame("first")
    await turn()
    for n in range(20):
        connection.send_frame(f"waiting {n}")
    assert connection.state is not State.OPEN and connection.queued == 0
    transport.drain()
    for _ in range(3):
        await turn()
    assert transport.closed == CloseCode.TRY_AGAIN_LATER
    assert transport.texts() == ["first"]


async def test_the_frame_that_says_why_goes_out_before_the_close() -> None:
    transport = CountingTransport()
    connection = Connection(transport, USER)
    connection.send_frame('{"type":"error"}')
    connection.close_soon(CloseCode.POLICY_VIOLATION, "kicked")
    for _ in range(3):
        await turn()
    assert transport.texts() == ['{"type":"error"}'] and transport.closed == CloseCode.POLICY_VIOLATION


async def test_a_state_is_still_sending_until_its_turn_is_written() -> None:
    transport = CountingTransport()
    connection = Connection(transport, USER)
    connection.send_frame("state")
    connection.tag_last("state")
    assert connection.still_sending("state")
    await turn()
    assert not connection.still_sending("state")
