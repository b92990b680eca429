"""Who may connect: tokens (guests off), expiry while connected, Origin checks."""

from __future__ import annotations

import time
import unicodedata

import jwt
import pytest
from aiohttp import WSServerHandshakeError
from hypothesis import given
from hypothesis import strategies as st
from support.auth import SECRET, token
from support.ws import connect, refused

from app.auth import _CONTROL, MAX_NICKNAME, sanitize_nickname
from app.keys import ENGINE


@pytest.fixture
async def strict(start):
    """Guests off, an HS256 secret and an audience."""
    return await start(allow_guests=False, jwt_secret=SECRET, jwt_audience="collab-tests")


async def test_bad_credentials_are_refused_with_1008(strict) -> None:
    now = int(time.time())
    cases = {
        "no token": {"nickname": "anon"},
        "wrong key": {
            "token": jwt.encode(
                {"sub": "eve", "aud": "collab-tests", "exp": now + 600},
                "another-secret-that-is-also-32-bytes-long",
                algorithm="HS256",
            )
        },
        "alg none": {
            "token": jwt.encode(
                {"sub": "eve", "aud": "collab-tests", "roles": ["admin"], "exp": now + 600}, None, algorithm="none"
            )
        },
        "expired (past the 30 s leeway)": {"token": token("ann", aud="collab-tests", ttl=-120)},
        "wrong audience": {"token": token("ann", aud="someone-else")},
        "no audience": {"token": token("ann")},
        "garbage": {"token": "not.a.jwt"},
        "no exp": {"token": jwt.encode({"sub": "ann", "aud": "collab-tests"}, SECRET, algorithm="HS256")},
    }
    for case, params in cases.items():
        code, frames = await refused(strict, **params)
        assert code == 1008, (case, code, frames)
        assert [(f["type"], f["code"]) for f in frames] == [("error", "unauthorized")], (case, frames)
        assert frames[0]["message"], case


async def test_guest_token_is_refused_when_guests_are_off(start) -> None:
    open_client = await start(jwt_secret=SECRET)
    guest_token = (await connect(open_client, nickname="gus")).welcome["token"]
    closed_client = await start(jwt_secret=SECRET, allow_guests=False)
    code, frames = await refused(closed_client, token=guest_token)
    assert code == 1008 and frames[0]["code"] == "unauthorized", (code, frames)


async def test_valid_token_is_welcomed_as_its_user(strict) -> None:
    peer = await connect(strict, token=token("u-42", name="Ada", roles=["operator"], aud="collab-tests"))
    user = peer.welcome["user"]
    assert (user["id"], user["name"], user["roles"], user["guest"]) == ("u-42", "Ada", ["operator"], False)
    assert "token" not in peer.welcome  # only guests get one
    await peer.send(type="message", content="signed in", id="1")
    ack = await peer.expect("message", id="1")
    assert (ack["user_id"], ack["nickname"]) == ("u-42", "Ada")


async def test_token_expiring_while_connected_closes_with_1008(start) -> None:
    client = await start(allow_guests=False, jwt_secret=SECRET, jwt_leeway_seconds=0.0)
    peer = await connect(client, token=token("brief", ttl=2))
    # Closed by the expiry timer (how soon after the expiry is bench/expiry_bench.py's figure).
    code, _ = await peer.closed(within=6)
    assert code == 1008


async def test_foreign_origin_is_refused(start) -> None:
    client = await start(allowed_origins=("https://app.example",))
    with pytest.raises(WSServerHandshakeError) as refused_handshake:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused_handshake.value.status == 403


async def test_same_and_listed_origins_are_accepted(start) -> None:
    client = await start(allowed_origins=("https://app.example",))
    same = f"http://{client.host}:{client.port}"
    assert (await connect(client, headers={"Origin": same})).welcome["type"] == "welcome"
    assert (await connect(client, headers={"Origin": "https://app.example"})).welcome["type"] == "welcome"
    assert (await connect(client)).welcome["type"] == "welcome"  # no Origin: not a browser


async def test_readonly_role_reads_but_cannot_write(strict) -> None:
    writer = await connect(strict, channel="notes", token=token("w", aud="collab-tests"))
    await writer.send(type="message", content="for everyone", id="w1")
    await writer.expect("message", id="w1")
    viewer = await connect(strict, channel="notes", since=0, token=token("v", roles=["readonly"], aud="collab-tests"))
    assert (await viewer.expect("message"))["content"] == "for everyone"
    attempts = [
        {"type": "message", "content": "let me in", "id": "r1"},
        {"type": "publish", "event": "e", "data": 1, "id": "r2"},
        {"type": "private", "target": "user:w", "content": "psst", "id": "r3"},
        {"type": "create_room", "name": "mine", "id": "r4"},
    ]
    for attempt in attempts:
        await viewer.send(**attempt)
        error = await viewer.expect("error")
        assert (error["code"], error["id"]) == ("forbidden", attempt["id"]), error
    store = strict.app[ENGINE].store
    assert (await store.head("notes"), await store.head("dm:v:w"), await store.get_channel("mine")) == (1, 0, None)


def test_a_token_signed_by_sign_hs256_is_one_pyjwt_verifies_and_no_other_key_does() -> None:
    from app.auth import sign_hs256

    claims = {"sub": "guest-0123456789ab", "name": "Zoë ✓", "iss": "collab-guest", "iat": 1, "exp": 2**40}
    signed = sign_hs256(claims, SECRET.encode())
    assert jwt.get_unverified_header(signed) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.decode(signed, SECRET, algorithms=["HS256"], issuer="collab-guest") == claims
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(signed, SECRET + "-not", algorithms=["HS256"])


async def test_a_guest_comes_back_as_the_same_user_with_its_token(start) -> None:
    client = await start()
    first = await connect(client, nickname="Ann")
    guest_token = first.welcome["token"]
    user = first.welcome["user"]
    assert user["id"].startswith("guest-") and len(user["id"]) == len("guest-") + 12
    await first.close()
    again = await connect(client, token=guest_token)
    assert again.welcome["user"]["id"] == user["id"]
    assert "token" not in again.welcome
    await again.close()


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=50))
def test_an_ascii_nickname_is_cleaned_as_any_other(raw: str) -> None:
    # The fast path for printable ASCII must give what the general rule gives.
    general = " ".join(
        _CONTROL.sub("", "".join(c for c in unicodedata.normalize("NFKC", raw) if c.isprintable())).split()
    )
    assert sanitize_nickname(raw) == general[:MAX_NICKNAME]


def test_nicknames_are_printable_single_line_and_short() -> None:
    assert sanitize_nickname("  Ada \t Lovelace\n") == "Ada Lovelace"
    assert sanitize_nickname("\uff21\uff44\uff41\u200b\x00") == "Ada"
    assert len(sanitize_nickname("x" * 100)) == MAX_NICKNAME
