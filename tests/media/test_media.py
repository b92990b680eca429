"""The media library over HTTP, with its events on channel `media`, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from support.auth import token
from support.images import gif, jpeg, mp4, pdf, png, webp_vp8x
from support.ws import connect

from app.keys import ENGINE

XSS = "<img src=x onerror=alert(1)>"


def bearer(user: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, **claims)}"}


def form(content: bytes, filename: str | None = "picture.png", **fields: str) -> FormData:
    data = FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    # A file object: aiohttp streams it (and refuses to hold large bytes values in a form).
    data.add_field("file", io.BytesIO(content), filename=filename, content_type="application/octet-stream")
    return data


async def upload(client, content: bytes, *, user: str = "alice", status: int = 201, **kwargs: Any) -> dict:
    headers = kwargs.pop("headers", None) or bearer(user, name=user.title())
    response = await client.post("/api/media", data=form(content, **kwargs), headers=headers)
    body = await response.json()
    assert response.status == status, body
    return body


def stored_files(data_dir: Path) -> list[Path]:
    """Every file under the data directory but the database's own."""
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and not p.name.startswith("collab.db"))


async def test_upload_update_delete_with_their_events(start, tmp_path):
    client = await start()
    watcher = await connect(client, channel="media", nickname="watcher")
    content = png(4, 3)

    item = await upload(client, content, filename="sunset.png", tags="Sky, sunset ,sky")
    digest = hashlib.sha256(content).hexdigest()
    assert item["mime"] == "image/png" and (item["width"], item["height"]) == (4, 3)
    assert item["size"] == len(content) and item["sha256"] == digest
    assert item["title"] == "sunset" and item["tags"] == ["sky", "sunset"] and item["filename"] == "sunset.png"
    assert item["uploader"] == {"id": "alice", "name": "Alice"}
    assert item["url"] == item["file_url"] == f"/api/media/{item['id']}/file"  # <img src="${media.url}">
    assert item["api_url"] == f"/api/media/{item['id']}"
    new = await watcher.expect("new_media")
    assert new["seq"] == 1 and new["media_id"] == item["id"] and new["media"] == item
    assert new["user_id"] == "alice" and new["nickname"] == "Alice"

    # Stored by content, nothing left behind in tmp.
    data_dir = tmp_path / "data"
    assert stored_files(data_dir) == [data_dir / "media" / digest[:2] / digest]

    fetched = await client.get(f"/api/media/{item['id']}")
    assert fetched.status == 200 and await fetched.json() == item
    file = await client.get(item["file_url"])
    assert file.status == 200 and await file.read() == content
    assert file.headers["Content-Type"] == "image/png"
    assert file.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in file.headers["Content-Security-Policy"]

    changed = await client.put(
        f"/api/media/{item['id']}",
        json={"title": XSS, "description": "line one\nline two", "tags": ["Evening"]},
        headers=bearer("alice"),
    )
    assert changed.status == 200
    updated = await changed.json()
    assert updated["title"] == XSS and updated["description"] == "line one\nline two" and updated["tags"] == ["evening"]
    assert updated["updated_at"] >= updated["created_at"] == item["created_at"]
    event = await watcher.expect("media_updated")
    assert event["seq"] == 2 and event["media"] == updated and event["changed"] == ["description", "tags", "title"]
    assert (await (await client.get(f"/api/media/{item['id']}")).json())["title"] == XSS
    # `changed` names what changed, not what was sent; sending what is there already changes nothing.
    retitled = await client.put(
        updated["api_url"],
        json={"title": "Dusk", "tags": ["Evening"], "description": "line one\nline two"},
        headers=bearer("alice"),
    )
    assert retitled.status == 200
    event = await watcher.expect("media_updated")
    assert event["seq"] == 3 and event["changed"] == ["title"] and event["media"]["title"] == "Dusk"
    same = await client.put(updated["api_url"], json={"title": "Dusk", "tags": ["evening"]}, headers=bearer("alice"))
    # Its updated_at is kept, and no event is stored: seq 4 is the delete.
    assert same.status == 200 and (await same.json()) == event["media"]

    removed = await client.delete(f"/api/media/{item['id']}", headers=bearer("alice"))
    assert removed.status == 204
    event = await watcher.expect("media_deleted")
    assert event["seq"] == 4 and event["media_id"] == item["id"]
    assert (await client.get(f"/api/media/{item['id']}")).status == 404
    assert (await client.get(item["file_url"])).status == 404
    assert stored_files(data_dir) == []

    # The channel's history has all four, in order, for a client that comes back with since=0.
    late = await connect(client, channel="media", nickname="late", since=0)
    replayed = [await late.expect(kind) for kind in ("new_media", "media_updated", "media_updated", "media_deleted")]
    assert [frame["seq"] for frame in replayed] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("content", "mime", "size"),
    [
        (jpeg(640, 480, exif=70_000), "image/jpeg", (640, 480)),  # the frame header after 70 kB of metadata
        (gif(5, 7), "image/gif", (5, 7)),
        (webp_vp8x(300, 200), "image/webp", (300, 200)),
        (pdf(), "application/pdf", (None, None)),
        (mp4(), "video/mp4", (None, None)),
    ],
)
async def test_the_type_comes_from_the_content(start, content, mime, size):
    client = await start()
    item = await upload(client, content, filename="whatever.png")  # the name says nothing
    assert item["mime"] == mime and (item["width"], item["height"]) == size
    file = await client.get(item["file_url"])
    assert file.headers["Content-Type"] == mime and await file.read() == content


async def test_same_bytes_share_one_file_until_the_last_goes(start, tmp_path):
    client = await start()
    content = png(2, 2)
    first = await upload(client, content, user="alice")
    second = await upload(client, content, user="bob")
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert len(stored_files(tmp_path / "data")) == 1
    assert (await client.delete(f"/api/media/{first['id']}", headers=bearer("alice"))).status == 204
    assert (await client.get(second["file_url"])).status == 200
    assert (await client.delete(f"/api/media/{second['id']}", headers=bearer("bob"))).status == 204
    assert stored_files(tmp_path / "data") == []


async def test_uploads_stream_past_the_request_size_limit(start):
    # The app refuses request bodies over 1 MiB that it reads whole; an upload is streamed instead.
    client = await start(media_max_bytes=4 * 1024 * 1024)
    content = png(8, 8, pad=3 * 1024 * 1024)
    item = await upload(client, content)
    assert item["size"] == len(content)
    file = await client.get(item["file_url"])
    assert hashlib.sha256(await file.read()).hexdigest() == item["sha256"]


async def assert_nothing_kept(client, tmp_path: Path) -> None:
    engine = client.server.app[ENGINE]
    assert stored_files(tmp_path / "data") == []
    assert await engine.store.head("media") == 0
    listing = await (await client.get("/api/media")).json()
    assert listing["media"] == []


async def test_an_oversize_upload_is_refused_and_nothing_kept(start, tmp_path):
    client = await start(media_max_bytes=1000)
    refused = await upload(client, png(2, 2, pad=2000), status=413)
    assert refused["error"] == "too_large"
    # Declared too large up front: refused before a byte is read.
    big = b"\x00" * (300 * 1024)
    response = await client.post(
        "/api/media", data=big, headers={**bearer("alice"), "Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status == 413
    await assert_nothing_kept(client, tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"hello, this is plain text and not a picture at all",
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"<!doctype html><script>alert(1)</script>",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature without its header chunk
        b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 30,  # a JPEG that ends before its frame header
        b"\x89PNG",  # too short to be anything
    ],
)
async def test_a_fake_type_is_refused_and_nothing_kept(start, tmp_path, content):
    client = await start()
    refused = await upload(client, content, filename="innocent.png", status=415)
    assert refused["error"] == "unsupported_media_type"
    await assert_nothing_kept(client, tmp_path)


def raw_multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """A body written by hand: the file name exactly as given, as curl or a script would send it."""
    boundary = "collab-test-boundary"
    quoted = filename.replace("\\", "\\\\")  # a backslash in a quoted string is escaped
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("filename", ["../../x", "..\\..\\x", "/etc/passwd", "..", "a/b.png", "..%2F..%2Fx"])
async def test_a_file_name_with_a_path_is_refused_and_nothing_written(start, tmp_path, filename):
    client = await start()
    body, content_type = raw_multipart(filename, png())
    response = await client.post("/api/media", data=body, headers={**bearer("alice"), "Content-Type": content_type})
    assert response.status == 400 and (await response.json())["error"] == "bad_request"
    if "%" not in filename:  # aiohttp's client percent-encodes names (and so encodes a "%" again)
        await upload(client, png(), filename=filename, status=400)
    await assert_nothing_kept(client, tmp_path)
    assert not (tmp_path / "x").exists() and not (tmp_path / "data" / "x").exists()


async def test_ids_that_are_paths_are_not_found(start):
    client = await start()
    item = await upload(client, png())
    for path in ("/api/media/..%2F..", "/api/media/..", "/api/media/%2E%2E", f"/api/media/{item['id']}%2F..%2F.."):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(method, path, json={"title": "x"}, headers=bearer("alice"))
            assert response.status == 404, (method, path, response.status)
    assert (await client.get("/api/media/..%2F../file")).status == 404
    assert (await client.get(f"/api/media/{item['id']}")).status == 200


async def test_who_may_do_what(start):
    client = await start()
    no_token = await client.post("/api/media", data=form(png()))
    assert no_token.status == 401 and (await no_token.json())["error"] == "unauthorized"
    assert no_token.headers["WWW-Authenticate"].startswith("Bearer")
    bad = await client.post("/api/media", data=form(png()), headers={"Authorization": "Bearer not-a-token"})
    assert bad.status == 401
    await upload(client, png(), headers=bearer("reader", roles=["readonly"]), status=403)

    item = await upload(client, png(), user="alice")
    url = f"/api/media/{item['id']}"
    assert (await client.put(url, json={"title": "mine"})).status == 401
    assert (await client.delete(url)).status == 401
    assert (await client.put(url, json={"title": "mine"}, headers=bearer("mallory"))).status == 403
    assert (await client.delete(url, headers=bearer("mallory"))).status == 403
    assert (await client.put(url, json={"title": "x"}, headers=bearer("alice", roles=["readonly"]))).status == 403
    # Reading needs nothing.
    assert (await client.get(url)).status == 200 and (await client.get(item["file_url"])).status == 200
    # An operator may change and delete anyone's.
    by_operator = await client.put(url, json={"title": "tidied"}, headers=bearer("op", roles=["operator"]))
    assert by_operator.status == 200 and (await by_operator.json())["title"] == "tidied"
    assert (await client.delete(url, headers=bearer("op", roles=["operator"]))).status == 204


async def test_a_guest_token_from_the_socket_may_upload(start):
    client = await start()
    guest = await connect(client, channel="media", nickname="Visitor")
    guest_token = guest.welcome["token"]
    item = await upload(client, png(), headers={"Authorization": f"Bearer {guest_token}"})
    assert item["uploader"] == {"id": guest.welcome["user"]["id"], "name": "Visitor"}
    assert (await guest.expect("new_media"))["media_id"] == item["id"]
    changed = await client.put(
        f"/api/media/{item['id']}", json={"tags": ["mine"]}, headers={"Authorization": f"Bearer {guest_token}"}
    )
    assert changed.status == 200

    closed = await start(allow_guests=False)
    await upload(closed, png(), headers={"Authorization": f"Bearer {guest_token}"}, status=401)


async def test_bad_metadata_is_refused(start):
    client = await start()
    item = await upload(client, png(), title="first", description="about it")
    assert item["title"] == "first" and item["description"] == "about it"
    url = f"/api/media/{item['id']}"
    for body in (
        {"owner": "me"},
        {"title": "x" * 201},
        {"tags": 5},
        {"tags": [f"t{n}" for n in range(21)]},
        {"description": ["no"]},
        [1, 2],
    ):
        response = await client.put(url, json=body, headers=bearer("alice"))
        assert response.status == 400, body
        assert (await response.json())["error"] == "bad_request"
    raw = await client.put(url, data=b"{nope", headers={**bearer("alice"), "Content-Type": "application/json"})
    assert raw.status == 400
    two_files = form(png())
    two_files.add_field("file", io.BytesIO(png()), filename="b.png")
    assert (await client.post("/api/media", data=two_files, headers=bearer("alice"))).status == 400
    no_file = FormData()
    no_file.add_field("title", "nothing")
    no_file.add_field("x", "y", filename="x.txt")  # a second part makes it multipart
    assert (await client.post("/api/media", data=no_file, headers=bearer("alice"))).status == 400
    assert (await client.post("/api/media", json={"title": "x"}, headers=bearer("alice"))).status == 400


async def test_the_list_pages_and_filters(start):
    client = await start()
    ids = []
    for n in range(5):
        item = await upload(client, png(n + 1, 1), user="alice" if n % 2 else "bob", tags="even" if n % 2 == 0 else "")
        ids.append(item["id"])
    pdf_item = await upload(client, pdf(), user="carol")
    newest_first = [pdf_item["id"], *reversed(ids)]

    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get("/api/media", params=query)).json()
        assert len(page["media"]) <= 2
        seen += [item["id"] for item in page["media"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == newest_first

    async def ids_for(**params: str) -> list[str]:
        return [item["id"] for item in (await (await client.get("/api/media", params=params)).json())["media"]]

    assert await ids_for(tag="even") == [ids[4], ids[2], ids[0]]
    assert await ids_for(tag="EVEN ") == [ids[4], ids[2], ids[0]]
    assert await ids_for(uploader="alice") == [ids[3], ids[1]]
    assert await ids_for(type="image/") == list(reversed(ids))
    assert await ids_for(type="application/pdf") == [pdf_item["id"]]
    assert await ids_for(tag="nope") == []
    assert (await client.get("/api/media", params={"cursor": "garbage"})).status == 400
    assert (await client.get("/api/media", params={"limit": "many"})).status == 400


async def test_files_left_by_crashed_uploads_are_swept(start, tmp_path):
    tmp = tmp_path / "data" / "media" / "tmp"
    tmp.mkdir(parents=True)
    stale, recent = tmp / "upload-stale", tmp / "upload-recent"
    stale.write_bytes(b"half an upload")
    recent.write_bytes(b"an upload under way in another process")
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    client = await start()
    await upload(client, png())
    assert not stale.exists() and recent.exists()


async def test_the_seeds_media_updated_frame_edits_like_put(start):
    """`{"type": "media_updated", "mediaId", "metadata"}` on the socket, as the seed's clients send it:
    the owner's and an operator's are applied and broadcast like PUT; anyone else's is `forbidden`."""
    client = await start()
    item = await upload(client, png(), user="alice")
    owner = await connect(client, channel="media", token=token("alice", name="Alice"))
    watcher = await connect(client, channel="general", nickname="watcher")
    await watcher.send(type="subscribe", channel="media")
    await watcher.expect("subscribed", channel="media")

    await owner.send(type="media_updated", id="t1", mediaId=item["id"], metadata={"title": "Dawn", "tags": ["Sky"]})
    for peer in (owner, watcher):
        event = await peer.expect("media_updated")
        assert event["media_id"] == item["id"] and event["changed"] == ["tags", "title"] and event["id"] == "t1"
        assert event["media"]["title"] == "Dawn" and event["media"]["tags"] == ["sky"]
        assert event["user_id"] == "alice"
    fetched = await (await client.get(item["api_url"])).json()
    assert fetched["title"] == "Dawn" and fetched == event["media"]

    operator = await connect(client, channel="media", token=token("op", roles=["operator"]))
    await operator.send(type="media_updated", mediaId=item["id"], metadata={"description": "tidied"})
    assert (await watcher.expect("media_updated"))["changed"] == ["description"]

    # Anyone else, a read-only owner, bad frames: an error to the sender, nothing changed or sent.
    mallory = await connect(client, channel="media", token=token("mallory"))
    reader = await connect(client, channel="media", token=token("alice", roles=["readonly"]))
    refusals = [
        (mallory, {"mediaId": item["id"], "metadata": {"title": "mine"}}, "forbidden"),
        (mallory, {"channel": "media", "mediaId": item["id"], "metadata": {"title": "mine"}}, "forbidden"),
        (reader, {"mediaId": item["id"], "metadata": {"title": "mine"}}, "forbidden"),
        (owner, {"mediaId": item["id"], "metadata": {"owner": "mallory"}}, "bad_request"),
        (owner, {"mediaId": item["id"], "metadata": "title"}, "bad_request"),
        (owner, {"metadata": {"title": "x"}}, "bad_request"),
        (owner, {"mediaId": "0" * 16, "metadata": {"title": "x"}}, "not_found"),
    ]
    for peer, fields, code in refusals:
        await peer.send(type="media_updated", id="r", **fields)
        error = await peer.expect("error")
        assert error["code"] == code and error["id"] == "r", (fields, error)
    after = await (await client.get(item["api_url"])).json()
    assert after["title"] == "Dawn" and after["description"] == "tidied"
    engine = client.server.app[ENGINE]
    assert [e.type for e in await engine.store.read("media")] == ["new_media", "media_updated", "media_updated"]
