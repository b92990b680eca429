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


def test_a_large_batch_names_its_seqs_only() -> None:
    events = [event("room", n, {"content": "x" * 1000}) for n in range(1, 21)]
    [payload] = commit_payloads("node-a", events)
    assert len(payload.encode()) <= MAX_PAYLOAD
    assert read_commit(payload) == ("node-a", {"room": (1, 20)}, None)


def test_a_batch_over_thousands_of_channels_is_split_and_every_channel_named_once() -> None:
    events = [event(f"room-with-a-long-name-{n:05d}", 3) for n in range(3000)]
    payloads = commit_payloads("node-a", events)
    assert len(payloads) > 1
    assert all(len(payload.encode()) <= MAX_PAYLOAD for payload in payloads)
    named: dict[str, tuple[int, int]] = {}
    for payload in payloads:
        _, ranges, inline = read_commit(payload)
        assert inline is None and not set(ranges) & set(named)
        named.update(ranges)
    assert named == {e.channel: (3, 3) for e in events}


def test_a_relayed_frame_keeps_its_bytes_and_a_too_large_one_is_not_sent() -> None:
    frame = {"type": "y-awareness", "update": b"\x01\x02", "frame": b"\x03", "from": "peer", "n": [1, {"a": b"z"}]}
    payload = relay_payload("node-a", "doc:x", frame)
    assert payload is not None
    assert read_relay(payload) == ("node-a", "doc:x", frame)
    assert relay_payload("node-a", "doc:x", {"update": b"x" * MAX_PAYLOAD}) is None
