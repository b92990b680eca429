"""Every JSON frame type of `/ws`, fuzzed through a real socket of a real `collab serve` (issue 11).

Two kinds of examples per frame type (docs/protocol.md, docs/boards.md):

- **bad**: a frame the documentation says is wrong (a valid frame with one field broken: wrong type,
  empty, too long, out of range, a name with a trailing newline, a channel not subscribed, …). It must
  be answered with an `error` (a documented code, the frame's `id` echoed when it was a string), and the
  database must be exactly as before: no event, channel, member or read position from it.
- **hostile**: any frame of that type, fields of any JSON value (huge numbers, unicode, nesting, missing
  and extra fields). Whatever it is, the socket stays open and keeps answering; an `error` answer means
  nothing changed; an accepted append is acknowledged.

Plus raw text and binary frames. The server's log must show no unhandled exception. One socket is
reused for all the examples of a test (a few milliseconds each); `COLLAB_FUZZ_EXAMPLES` runs more.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzzing import BlockingSocket, fuzz_settings, unhandled_errors
from support.servers import ServerProcess

HOME = "fuzz"
KANBAN = "kanban:fz"
DRAW = "draw:fz"
ERROR_CODES = {"bad_request", "forbidden", "not_found", "conflict", "rate_limited", "unavailable", "store_error"}
# Frames that come on their own (presence, heads once a second, room lists after a create_room).
BACKGROUND = {"presence", "presence_diff", "system", "heads", "rooms", "users_update", "read", "subscribed"}
STORED_ANSWER = {"message": "message", "publish": "event", "private": "private"}


# -- the server and its database -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("fuzz-ws"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def sock(server: ServerProcess) -> Iterator[BlockingSocket]:
    """A socket on the chat room `fuzz`, subscribed to a kanban and a drawing board too."""
    log_start = server.log.stat().st_size
    client = BlockingSocket(server.url, channel=HOME, nickname="fuzzer")
    for board in (KANBAN, DRAW):
        answers = client.exchange(json.dumps({"type": "subscribe", "channel": board}))
        assert any(f.get("type") == "subscribed" for f in answers), answers
    try:
        yield client
        assert client.close_code is None, f"the socket closed with {client.close_code}"
    finally:
        client.close()
    assert unhandled_errors(server.log, log_start) == []


def database_state(server: ServerProcess) -> tuple[Any, ...]:
    """What a rejected frame must not change: events (but the monitor's own alerts), channels and their
    heads, members, read positions."""
    conn = sqlite3.connect(f"file:{server.data_dir / 'collab.db'}?mode=ro", uri=True)
    try:
        return (
            conn.execute("SELECT count(*), coalesce(max(id), 0) FROM events WHERE channel != 'monitor'").fetchone(),
            conn.execute("SELECT name, head_seq, private FROM channels ORDER BY name").fetchall(),
            conn.execute("SELECT count(*) FROM channel_members").fetchone(),
            conn.execute("SELECT * FROM read_positions ORDER BY 1, 2").fetchall(),
        )
    finally:
        conn.close()


# -- values ------------------------------------------------------------------------------------------

HUGE_NUMBERS = st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**40, 1e308, -1e308])
TEXT = st.text(max_size=40)
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.sampled_from(["", " ", "\n", "x" * 70_000, "\u0000", "😀" * 10, "a\nb", "general\n", "‮", "\ufeff"]),
)
HOSTILE = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=8,
)
NOT_STRING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=2),
)
NOT_STRING_OR_NULL = NOT_STRING.filter(lambda value: value is not None)
NOT_WHOLE = st.one_of(
    st.integers(max_value=-1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != int(v)),
    TEXT,
    st.lists(st.integers(), max_size=2),
)
BAD_ID_STRING = st.sampled_from(["", "x" * 201])
BAD_ID = st.one_of(BAD_ID_STRING, st.booleans(), st.lists(TEXT, max_size=2), st.dictionaries(TEXT, TEXT, max_size=1))
BLANK = st.sampled_from(["", " ", "\n\t ", "\u3000"])
# Names the documentation does not allow: empty, too long, characters outside letters, digits and _.-:@,
# and a trailing newline (which a `$` in a pattern lets through).
BAD_NAMES = st.one_of(
    st.sampled_from(["", "x" * 201, "a b", "a/b", "a\n", "fuzz\n", "kanban:fz\n", "😀", "a#b", "\u0000"]),
    st.text(min_size=1, max_size=10).filter(lambda s: any(not (c.isalnum() or c in "_.-:@") for c in s)),
)
FRESH = st.from_regex(r"[a-z]{6,12}", fullmatch=True)
BAD_BOARD_IDS = st.sampled_from(["", "a b", "x" * 65, "a\n", "ü", "a.b", "a:b"])
BAD_POINTS = st.one_of(
    NOT_STRING.filter(lambda v: not isinstance(v, list)),
    st.just([]),
    st.lists(
        st.sampled_from([[0], [0, 1, 2], ["a", 1], [True, 1], [1e9, 0], [0, -1e6], None, "xy", {"x": 1}]),
        min_size=1,
        max_size=3,
    ),
    st.just([[0, 0]] * 2001),
)
BAD_COLOR = st.one_of(NOT_STRING, st.sampled_from(["red", "#12", "#12345", "#gggggg", "#fff\n", "000"]))
BAD_WIDTH = st.one_of(st.sampled_from([0, 0.4, 64.5, 1e9, -1, True, "2", None, [2]]))
BAD_TOOL = st.sampled_from(["laser", "", None, 1, ["pen"]])
BAD_COORD = st.one_of(st.sampled_from([None, True, "1", [1], 1e6, -100_001, 2**64]))


def frame_text(frame: dict[str, Any], ascii_only: bool = True) -> str:
    """JSON the way any client may write it (the standard library writes integers of any size). A lone
    surrogate cannot go out as UTF-8: such frames are written with `\\u` escapes."""
    text = json.dumps(frame, ensure_ascii=ascii_only)
    return text if ascii_only or encodable(text) else json.dumps(frame)


def encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# -- bad frames: each a valid frame with one documented mistake ------------------------------------------

# type -> (the valid frame, {field: strategy of values the documentation refuses; `...` removes the field})
MISSING = object()


def bad_frames() -> dict[str, tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]]:
    content = st.one_of(NOT_STRING, BLANK, st.just("x" * 65_537), st.just(MISSING))
    on_kanban = {"channel": KANBAN}
    on_draw = {"channel": DRAW}
    stroke = {"stroke": "s1", "points": [[0, 0], [1, 1]], "color": "#000", "width": 2}
    return {
        "message": (
            {"content": "hi"},
            {"content": content, "id": BAD_ID, "channel": st.one_of(NOT_STRING_OR_NULL, st.just("nope"))},
        ),
        "private": (
            {"target": "user:somebody", "content": "psst"},
            {
                "target": st.one_of(
                    NOT_STRING, st.sampled_from(["", "user:", "no-such-client", "x" * 221]), st.just(MISSING)
                ),
                "content": content,
                "id": BAD_ID,
            },
        ),
        "subscribe": (
            {"channel": "freshroom"},
            {
                "channel": st.one_of(NOT_STRING, BAD_NAMES, st.sampled_from(["zz:x", "audit", HOME, KANBAN])),
                "since": NOT_WHOLE,
            },
        ),
        "unsubscribe": (
            {"channel": KANBAN},
            {"channel": st.one_of(NOT_STRING, BAD_NAMES, st.sampled_from([HOME, "nope"]))},
        ),
        "publish": (
            {"event": "tick", "data": 1},
            {
                "event": st.one_of(NOT_STRING, BLANK, st.just("e" * 101), st.just(MISSING)),
                "data": st.just(MISSING),
                "channel": st.one_of(NOT_STRING, st.sampled_from(["nope", "monitor"])),
                "id": BAD_ID,
            },
        ),
        "create_room": (
            {"name": "newroom"},
            {
                "name": st.one_of(NOT_STRING, BAD_NAMES, st.sampled_from(["x:y", "monitor", "media", "audit", HOME])),
                "private": st.one_of(st.none(), st.integers(), TEXT, st.lists(st.booleans(), max_size=1)),
                "members": st.one_of(
                    TEXT,
                    st.integers(),
                    st.dictionaries(TEXT, TEXT, max_size=1),
                    st.lists(NOT_STRING, min_size=1, max_size=3),
                ),
            },
        ),
        "list_dms": (
            {"limit": 10},
            {
                "limit": st.one_of(NOT_WHOLE, st.sampled_from([0, 201, 10**6])),
                "before": st.one_of(
                    NOT_STRING_OR_NULL, st.sampled_from(["", "nope", "1", "x.dm:a:b", "9" * 30 + ".dm:a:b"])
                ),
            },
        ),
        "read": (
            {"seq": 0},
            {
                "seq": st.one_of(NOT_WHOLE, st.none(), st.just(MISSING)),
                "channel": st.one_of(NOT_STRING, st.just("nope")),
            },
        ),
        "column_add": (
            {**on_kanban, "title": "T"},
            {
                "title": st.one_of(NOT_STRING, BLANK, st.just("t" * 101), st.just(MISSING)),
                "column": BAD_BOARD_IDS,
                "position": st.one_of(NOT_WHOLE, st.just(10**6)),
            },
        ),
        "column_rename": (
            {**on_kanban, "column": "nope", "title": "T"},
            {"column": st.one_of(BAD_BOARD_IDS, st.just("nope"), st.just(MISSING))},
        ),
        "column_move": (
            {**on_kanban, "column": "nope", "position": 0},
            {"column": st.one_of(BAD_BOARD_IDS, st.just("nope"))},
        ),
        "column_remove": (
            {**on_kanban, "column": "nope"},
            {"column": st.one_of(BAD_BOARD_IDS, st.just("nope"), st.just(MISSING))},
        ),
        "card_add": (
            {**on_kanban, "column": "nope", "title": "T"},
            {"column": st.one_of(BAD_BOARD_IDS, st.just("nope"), st.just(MISSING))},
        ),
        "card_edit": (
            {**on_kanban, "card": "nope", "title": "T"},
            {"card": st.one_of(BAD_BOARD_IDS, st.just("nope"), st.just(MISSING))},
        ),
        "card_move": (
            {**on_kanban, "card": "nope", "column": "nope", "position": 0},
            {"card": st.one_of(BAD_BOARD_IDS, st.just("nope"))},
        ),
        "card_remove": (
            {**on_kanban, "card": "nope"},
            {"card": st.one_of(BAD_BOARD_IDS, st.just("nope"), st.just(MISSING))},
        ),
        "stroke_add": (
            {**on_draw, **stroke},
            {
                "stroke": st.one_of(BAD_BOARD_IDS, NOT_STRING),
                "points": BAD_POINTS,
                "color": BAD_COLOR,
                "width": BAD_WIDTH,
                "tool": BAD_TOOL,
            },
        ),
        "stroke_erase": (
            {**on_draw, "stroke": "nope"},
            {"stroke": st.one_of(BAD_BOARD_IDS, NOT_STRING, st.just("nope"))},
        ),
        "stroke_points": (
            {**on_draw, **stroke},
            {
                "stroke": st.one_of(BAD_BOARD_IDS, NOT_STRING),
                "points": BAD_POINTS,
                "color": BAD_COLOR,
                "width": BAD_WIDTH,
                "tool": BAD_TOOL,
            },
        ),
        "cursor": ({**on_draw, "x": 1, "y": 2}, {"x": BAD_COORD, "y": BAD_COORD}),
        # On a chat channel a type it does not define is Base's, refused on a socket connected with `channel`.
        "draw": ({"content": {"points": [[1, 2]]}}, {"content": HOSTILE}),
        "sync": ({"channel": KANBAN}, {"channel": st.one_of(NOT_STRING_OR_NULL, BAD_NAMES, st.just("nope"))}),
    }


BAD = bad_frames()


@st.composite
def a_bad_frame(draw: st.DrawFn, frame_type: str) -> dict[str, Any]:
    valid, breakers = BAD[frame_type]
    frame = {"type": frame_type, **valid}
    field = draw(st.sampled_from(sorted(breakers)))
    value = draw(breakers[field])
    if value is MISSING:
        frame.pop(field, None)
    else:
        frame[field] = value
    if frame_type == "subscribe" and field == "since":
        frame["channel"] = draw(FRESH)
    if draw(st.booleans()):  # an id that is fine, to see it echoed on the error
        frame.setdefault("id", draw(st.text(min_size=1, max_size=20)))
    return frame


def check_error(frame: Any, answers: list[dict[str, Any]]) -> None:
    errors = [a for a in answers if a.get("type") == "error"]
    assert errors, f"no error for {frame!r:.300}: {answers!r:.300}"
    for error in errors:
        assert error["code"] in ERROR_CODES and isinstance(error["message"], str), error
    if isinstance(frame, dict) and isinstance(frame.get("id"), str):
        assert errors[0].get("id") == frame["id"], (frame, errors)


@pytest.mark.parametrize("frame_type", sorted(BAD))
def test_bad_frames_are_refused_and_change_nothing(
    server: ServerProcess, sock: BlockingSocket, frame_type: str
) -> None:
    @fuzz_settings(12)
    @given(frame=a_bad_frame(frame_type), ascii_only=st.booleans())
    def check(frame: dict[str, Any], ascii_only: bool) -> None:
        before = database_state(server)
        answers = sock.exchange(frame_text(frame, ascii_only))
        check_error(frame, answers)
        assert database_state(server) == before, f"{frame!r:.300} was refused but changed the database"

    check()


# -- hostile frames: anything at all of each type --------------------------------------------------------

FIELDS = {
    "message": ["content", "id", "channel"],
    "private": ["target", "content", "id"],
    "subscribe": ["channel", "since"],
    "unsubscribe": ["channel"],
    "publish": ["channel", "event", "data", "id"],
    "create_room": ["name", "private", "members"],
    "list_rooms": [],
    "list_dms": ["limit", "before"],
    "read": ["channel", "seq"],
    "ping": [],
    "sync": ["channel"],
    "column_add": ["channel", "column", "title", "position", "id"],
    "column_rename": ["channel", "column", "title", "id"],
    "column_move": ["channel", "column", "position", "id"],
    "column_remove": ["channel", "column", "id"],
    "card_add": ["channel", "card", "column", "title", "description", "assignee", "labels", "position", "id"],
    "card_edit": ["channel", "card", "title", "description", "assignee", "labels", "version", "id"],
    "card_move": ["channel", "card", "column", "position", "id"],
    "card_remove": ["channel", "card", "id"],
    "stroke_add": ["channel", "stroke", "points", "color", "width", "tool", "id"],
    "stroke_erase": ["channel", "stroke", "id"],
    "undo": ["channel", "id"],
    "clear": ["channel", "id"],
    "stroke_points": ["channel", "stroke", "points", "color", "width", "tool"],
    "cursor": ["channel", "x", "y"],
}
# Values that pass, so that hostile frames reach past the first check too.
PLAUSIBLE = {
    "content": st.text(min_size=1, max_size=50),
    "id": st.one_of(st.text(min_size=1, max_size=30), st.integers()),
    "channel": st.sampled_from([HOME, KANBAN, DRAW, "monitor", "media", "audit", "general", "dm:a:b"]),
    "target": st.one_of(st.just("user:somebody"), st.text(max_size=20).map(lambda s: "user:" + s)),
    "since": st.integers(min_value=0),
    "event": st.text(min_size=1, max_size=100),
    "data": HOSTILE,
    "name": FRESH,
    "private": st.booleans(),
    "members": st.lists(TEXT, max_size=3),
    "seq": st.integers(min_value=0),
    "limit": st.integers(min_value=1, max_value=200),
    "before": st.sampled_from(["1.dm:a:b", "0.dm:x:y", "9" * 30 + ".z"]),
    # Never "nope": the bad frames count on no column, card or stroke of that name.
    "column": st.sampled_from(["c1", "c2"]),
    "card": st.sampled_from(["k1", "k2"]),
    "title": st.text(min_size=1, max_size=30),
    "description": TEXT,
    "assignee": st.one_of(st.none(), TEXT),
    "labels": st.lists(st.text(min_size=1, max_size=10), max_size=3),
    "position": st.integers(min_value=0, max_value=5),
    "version": st.integers(min_value=1, max_value=5),
    "stroke": st.sampled_from(["s1", "s2", "s3"]),
    "points": st.lists(st.lists(st.floats(-1e5, 1e5), min_size=2, max_size=2), min_size=1, max_size=5),
    "color": st.sampled_from(["#000", "#ff00aa"]),
    "width": st.floats(0.5, 64),
    "tool": st.sampled_from(["pen", "highlighter", "eraser"]),
    "x": st.floats(-1e5, 1e5),
    "y": st.floats(-1e5, 1e5),
}


@st.composite
def a_hostile_frame(draw: st.DrawFn, frame_type: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": frame_type}
    for field in FIELDS[frame_type]:
        choice = draw(st.sampled_from(["plausible", "plausible", "hostile", "missing"]))
        if choice == "plausible":
            frame[field] = draw(PLAUSIBLE[field])
        elif choice == "hostile":
            frame[field] = draw(HOSTILE)
    frame.update(draw(st.dictionaries(TEXT.filter(lambda key: key not in frame), HOSTILE, max_size=3)))
    return frame


def acked_or_refused(frame_type: str) -> Any:
    """For appends (answered after their commit, maybe after the pong): read until the stored echo or
    an error arrives."""
    stored = STORED_ANSWER.get(frame_type)
    if stored is None:
        return None
    return lambda frames: any(f.get("type") == "error" or (f.get("type") == stored and "seq" in f) for f in frames)


def check_answers(server: ServerProcess, frame: Any, answers: list[dict[str, Any]], before: tuple[Any, ...]) -> None:
    errors = [a for a in answers if a.get("type") == "error"]
    for error in errors:
        assert error["code"] in ERROR_CODES and isinstance(error["message"], str), error
    if errors:
        assert database_state(server) == before, f"{frame!r:.300} was refused but changed the database"


@pytest.mark.parametrize("frame_type", sorted(FIELDS))
def test_hostile_frames_never_break_the_socket(server: ServerProcess, sock: BlockingSocket, frame_type: str) -> None:
    @fuzz_settings(12)
    @given(frame=a_hostile_frame(frame_type), ascii_only=st.booleans())
    def check(frame: dict[str, Any], ascii_only: bool) -> None:
        before = database_state(server)
        answers = sock.exchange(
            frame_text(frame, ascii_only), pongs=2 if frame_type == "ping" else 1, then=acked_or_refused(frame_type)
        )
        check_answers(server, frame, answers, before)

    check()


# -- frames that are not frames -------------------------------------------------------------------------

RAW = st.one_of(
    st.text(max_size=200).filter(encodable),
    st.sampled_from(
        [
            '{"type": NaN}',
            '{"type":"message","content":"x","id":Infinity}',
            "[]",
            "null",
            '"message"',
            '{"type": ""}',
            '{"type": 7}',
            '{"type": null}',
            '{"type":"message"',
            '{"type":"ping"}{"type":"ping"}',
            '{"type":"message","content":"\\ud800"}',
            '\ufeff{"type":"ping"}',
            '{"type":"message","content":1e999}',
            "{" * 5000 + "}" * 5000,
            '{"a":' * 600 + "1" + "}" * 600,
        ]
    ),
    st.lists(HOSTILE, max_size=3).map(json.dumps),
    st.binary(max_size=100),
)


def test_text_that_is_no_frame_is_refused(server: ServerProcess, sock: BlockingSocket) -> None:
    @fuzz_settings(60)
    @given(text=RAW)
    def check(text: str | bytes) -> None:
        try:
            decoded = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            decoded = None
        frame_type = decoded.get("type") if isinstance(decoded, dict) else None
        is_frame = isinstance(frame_type, str) and frame_type != "" and not isinstance(text, bytes)
        before = database_state(server)
        answers = sock.exchange(
            text,
            pongs=2 if is_frame and frame_type == "ping" else 1,
            then=acked_or_refused(frame_type) if is_frame else None,
        )
        if is_frame:
            check_answers(server, decoded, answers, before)
        else:
            check_error(text, answers)
            assert database_state(server) == before

    check()


# -- what the fuzzing found ---------------------------------------------------------------------------------

TRAILING_NEWLINE = [
    {"type": "subscribe", "channel": "elsewhere\n"},
    {"type": "create_room", "name": "newroom\n"},
    {"type": "column_add", "channel": KANBAN, "column": "c9\n", "title": "T"},
    {"type": "stroke_add", "channel": DRAW, "stroke": "s9\n", "points": [[0, 0]], "color": "#000", "width": 2},
    {"type": "stroke_add", "channel": DRAW, "stroke": "s9", "points": [[0, 0]], "color": "#000\n", "width": 2},
]


@pytest.mark.parametrize("frame", TRAILING_NEWLINE, ids=lambda frame: frame["type"])
def test_a_name_with_a_trailing_newline_is_refused(server: ServerProcess, sock: BlockingSocket, frame: dict) -> None:
    """Names and ids were checked with `^…$` patterns, and `$` matches before a final newline: `room\\n`
    was a channel of its own, `c9\\n` a column id. Every pattern is anchored with `\\Z` now."""
    before = database_state(server)
    check_error(frame, sock.exchange(frame_text(frame)))
    assert database_state(server) == before
