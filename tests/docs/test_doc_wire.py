"""The y-websocket wire format in collab.documents.wire: what is accepted, what is refused, what is sent."""

from __future__ import annotations

import json
import random

import pytest
from pycrdt import Doc, Encoder, Text, create_awareness_message, create_sync_message, create_update_message

from collab.documents import wire as documents
from collab.errors import ProtocolError


def update_of(text: str) -> bytes:
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    doc.get("content", type=Text).insert(0, text)
    return updates[0]


def awareness_update(*entries: tuple[int, int, object]) -> bytes:
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for client, clock, state in entries:
        encoder.write_var_uint(client)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state))
    return encoder.to_bytes()


def test_messages_a_provider_sends_are_accepted() -> None:
    step1 = documents.parse_message(create_sync_message(Doc()))
    assert (step1.type, step1.sync) == (documents.SYNC, documents.STEP1)
    update = update_of("hi")
    parsed = documents.parse_message(create_update_message(update))
    assert (parsed.type, parsed.sync, parsed.payload) == (documents.SYNC, documents.UPDATE, update)
    aware = awareness_update((7, 1, {"user": {"name": "A"}}), (8, 3, None))
    parsed = documents.parse_message(create_awareness_message(aware))
    assert (parsed.type, parsed.payload) == (documents.AWARENESS, aware)
    assert documents.parse_message(b"\x03").type == documents.QUERY_AWARENESS
    assert documents.parse_message(b"\x09\x01\x02").type == 9  # unknown types are the caller's to ignore


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "truncated"),
        (b"\x80", "truncated"),
        (b"\x00\x05\x00", "unknown sync message type"),
        (b"\x00\x02\x09abc", "truncated"),
        (b"\x00\x02\x02\x00\x00!", "after the end"),
        (b"\x00\x02\x04abcd", "not a Yjs update"),
        (b"\x00\x00\x03\x01\x01", "truncated"),
        (b"\x01\x04\x01\x01\x01\x00", "not JSON"),
        (b"\x01\x06\x01\x01\x01\x02\xff\xfe", "not UTF-8"),
        (b"\x01\x06\x01\x01\x01\x02\x34\x32", "JSON object or null"),
        (b"\xff" * 9 + b"\x01", "too large"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        documents.parse_message(frame)


def test_random_corruptions_never_escape_as_anything_but_protocol_errors() -> None:
    """Whatever bytes arrive, parsing either accepts a message whose update applies, or says why not."""
    rng = random.Random(5)
    valid = [
        create_update_message(update_of("some text")),
        create_sync_message(Doc()),
        create_awareness_message(awareness_update((1, 2, {"cursor": 4}))),
    ]
    for _ in range(3000):
        frame = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 3)):
            choice = rng.random()
            if choice < 0.4 and frame:
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            elif choice < 0.7 and frame:
                del frame[rng.randrange(len(frame)) :]
            else:
                frame += bytes([rng.randrange(256)])
        try:
            message = documents.parse_message(bytes(frame))
        except ProtocolError:
            continue
        if message.type == documents.SYNC and message.sync != documents.STEP1:
            assert documents.apply_update(Doc(), message.payload)
        elif message.type == documents.AWARENESS:
            documents.DocAwareness().apply(message.payload, "peer")


def test_state_vector_answer_and_merge() -> None:
    doc = Doc()
    doc.get("content", type=Text).insert(0, "abc")
    answer = documents.sync_step2_message(doc, b"\x00")
    assert answer[:2] == b"\x00\x01"
    with pytest.raises(ProtocolError):
        documents.sync_step2_message(doc, b"\x05\x01")
    merged = documents.merge_updates([update_of("x"), update_of("y")])
    target = Doc()
    documents.apply_update(target, merged)
    assert sorted(str(target.get("content", type=Text))) == ["x", "y"]


def test_awareness_tracks_who_announced_which_client() -> None:
    awareness = documents.DocAwareness()
    assert awareness.states_message() is None
    assert awareness.apply(awareness_update((10, 1, {"user": "a"})), "peer-a")
    assert awareness.apply(awareness_update((11, 1, {"user": "b"})), "peer-b")
    assert not awareness.apply(awareness_update((10, 1, {"user": "a"})), "peer-a")  # not newer: nothing
    assert awareness.apply(awareness_update((10, 2, {"user": "a"})), "peer-a")  # a renewal counts
    assert sorted(awareness.clients) == [10, 11]
    removal = awareness.removal_of("peer-a")
    assert removal is not None
    assert awareness.apply(removal, None)
    assert awareness.clients == [11]
    assert awareness.removal_of("peer-a") is None


def test_documents_fold_snapshot_and_restore() -> None:
    doc = documents.new_doc()
    assert documents.apply_update(doc, update_of("one"))
    assert not documents.apply_update(doc, b"\xff\xff")  # skipped, the document unchanged
    assert documents.apply_update(doc, documents.EMPTY_UPDATE)
    restored = documents.restore_doc(documents.encode_doc(doc))
    assert documents.read_text(restored) == "one"
    assert documents.show_doc(restored) == {"text": "one", "texts": {"content": "one"}}
    assert documents.read_text(restored, "missing") == ""


def test_an_update_says_whether_it_inserts() -> None:
    """What the document size bound lets through: an update that only deletes inserts nothing, whether
    it is a client's first update or a later one (whose structs start past clock 0)."""
    doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("content", type=Text)
    text.insert(0, "first")
    text.insert(0, "later")
    del text[0:3]
    parsed = [documents.parse_message(create_update_message(update)) for update in updates]
    assert [message.inserts for message in parsed] == [True, True, False]
    assert not documents.parse_message(create_update_message(documents.EMPTY_UPDATE)).inserts


def test_awareness_entries_keep_each_state_as_sent() -> None:
    update = awareness_update((1, 2, {"user": "é"}), (3, 4, None))
    first, second = documents.parse_message(create_awareness_message(update)).entries
    assert (first.client, first.clock, first.removal) == (1, 2, False)
    assert first.size == len(json.dumps({"user": "é"}).encode())
    assert (second.client, second.clock, second.removal) == (3, 4, True)
    assert documents.awareness_update([first, second]) == update
