"""What a commit tells the other processes fits PostgreSQL's notification payload, whatever the batch."""

from __future__ import annotations

from datetime import UTC, datetime

from collab.events import StoredEvent
from collab.store.notify import MAX_PAYLOAD, commit_payloads, read_commit, read_relay, relay_payload


def event(channel: str, seq: int, data: object = None, blob: bytes | None = None) -> StoredEvent:
    return StoredEvent(channel, seq, "message", data, blob, "ann", "Ann", f"op-{seq}", datetime.now(UTC))


def test_a_small_batch_travels_whole() -> None:
    events = [event("room", 1, {"content": "hi"}), event("room", 2, blob=b"\x00\xff"), event("other", 7)]
    [payload] = commit_payloads("node-a", events)
    node, ranges, inline = read_commit(payload)
    assert node == "node-a" and ranges == {"room": (1, 2), "other": (7, 7)}
    assert inline == events


def carried(payloads: list[str]) -> tuple[list[StoredEvent], dict[str, list[tuple[int, int]]]]:
    """What a listener learns from a batch's notifications: the inline events, and per channel the
    seq ranges named (every payload within the limit)."""
    events: list[StoredEvent] = []
    named: dict[str, list[tuple[int, int]]] = {}
    for payload in payloads:
        assert len(payload.encode()) <= MAX_PAYLOAD
        _, ranges, inline = read_commit(payload)
        for channel, span in ranges.items():
            named.setdefault(channel, []).append(span)
        if inline is not None:
            assert {(e.channel, e.seq) for e in inline} == {
                (c, seq) for c, (first, last) in ranges.items() for seq in range(first, last + 1)
            }, "a payload names exactly the events it carries"
            events += inline
    return events, named


def test_a_large_batch_is_packed_into_as_many_notifications_as_it_takes() -> None:
    events = [event("room", n, {"content": "x" * 1000}) for n in range(1, 21)]
    payloads = commit_payloads("node-a", events)
    assert 2 < len(payloads) <= 4
    inline, named = carried(payloads)
    assert inline == events
    assert [seq for first, last in named["room"] for seq in range(first, last + 1)] == list(range(1, 21))


def test_an_event_too_large_to_travel_names_its_seq_in_its_place() -> None:
    events = [event("room", 1), event("room", 2, {"content": "x" * MAX_PAYLOAD}), event("room", 3)]
    payloads = commit_payloads("node-a", events)
    assert [read_commit(p)[1:] for p in payloads] == [
        ({"room": (1, 1)}, events[:1]),
        ({"room": (2, 2)}, None),
        ({"room": (3, 3)}, events[2:]),
    ]


def test_a_batch_over_thousands_of_channels_is_split_and_every_event_carried_once() -> None:
    events = [event(f"room-with-a-long-name-{n:05d}", 3) for n in range(3000)]
    payloads = commit_payloads("node-a", events)
    assert len(payloads) > 1
    inline, named = carried(payloads)
    assert inline == events
    assert named == {e.channel: [(3, 3)] for e in events}


def test_a_relayed_frame_keeps_its_bytes_and_a_too_large_one_is_not_sent() -> None:
    frame = {"type": "y-awareness", "update": b"\x01\x02", "frame": b"\x03", "from": "peer", "n": [1, {"a": b"z"}]}
    payload = relay_payload("node-a", "doc:x", frame)
    assert payload is not None
    assert read_relay(payload) == ("node-a", "doc:x", frame)
    assert relay_payload("node-a", "doc:x", {"update": b"x" * MAX_PAYLOAD}) is None
