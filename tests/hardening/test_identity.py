"""Identity holes of issue 11 (items 1 and 2), tried as an attacker would: no key from the source signs a
token the server trusts, a guest token names only a guest, and a server without a configured key serves
only on loopback. In-process apps for the token rules; real `collab serve` processes for the secret file
across restarts, `collab token`, and the refusal to serve on a public address."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.auth import SECRET
from support.servers import ROOT, ServerProcess, free_port
from support.ws import connect, refused
from support.yjs import close_code

from app.auth import GUEST_ISSUER

# What `app/config.py` shipped as `_DEV_SECRET` until issue 11: public, so it must sign nothing trusted.
OLD_DEV_SECRET = "collab-local-development-secret-change-me"
DOC_CLOSE_SECONDS = 5.0


def guest_claims(sub: str, key: Any, algorithm: str = "HS256") -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iss": GUEST_ISSUER, "iat": now, "exp": now + 600}, key, algorithm=algorithm)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def assert_refused_on_both_sockets(client: Any, bad_token: str, case: str) -> None:
    code, frames = await refused(client, token=bad_token)
    assert code == 1008, (case, code, frames)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "unauthorized")], (case, frames)
    ws = await client.ws_connect("/ws/doc/notes", params={"token": bad_token})
    try:
        assert await close_code(ws, within=DOC_CLOSE_SECONDS) == 1008, case
    finally:
        await ws.close()


@pytest.mark.parametrize("mode", ["public key", "no secret"])
async def test_a_guest_token_forged_with_the_old_development_secret_is_refused(start, rsa_key, mode) -> None:
    pem = public_pem(rsa_key) if mode == "public key" else None
    client = await start(jwt_secret=None, jwt_public_key=pem)
    for sub in ("alice", "guest-0123456789ab"):
        await assert_refused_on_both_sockets(client, guest_claims(sub, OLD_DEV_SECRET), f"{mode}: {sub}")


async def test_a_guest_token_names_a_guest_id_even_when_signed_with_the_right_key(start) -> None:
    client = await start()  # COLLAB_JWT_SECRET = SECRET: the guest key
    for sub in ("alice", "guest-alice", "guest-0123456789ab-x", "GUEST-0123456789AB", "guest-0123456789ab\n"):
        await assert_refused_on_both_sockets(client, guest_claims(sub, SECRET), repr(sub))
    # The tokens the server makes still bring their guest back.
    first = await connect(client, nickname="gus")
    again = await connect(client, token=first.welcome["token"])
    assert again.welcome["user"]["id"] == first.welcome["user"]["id"]
    assert again.welcome["user"]["id"].startswith("guest-") and again.welcome["user"]["roles"] == []


async def test_with_a_public_key_guests_are_signed_with_the_local_secret_only(start, make_settings, rsa_key) -> None:
    client = await start(jwt_secret=None, jwt_public_key=public_pem(rsa_key))
    first = await connect(client, nickname="gus")
    again = await connect(client, token=first.welcome["token"])
    assert again.welcome["user"]["id"] == first.welcome["user"]["id"]
    local = (make_settings().data_dir / "secret.key").read_text().strip()
    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cases = {
        "the local secret, a user's id": guest_claims("alice", local),
        # The user-token key never signs a guest: the guest issuer is verified with the guest key only.
        "the private key, a guest id": guest_claims("guest-0123456789ab", private_pem, "RS256"),
    }
    for case, bad in cases.items():
        await assert_refused_on_both_sockets(client, bad, case)


async def test_an_admin_token_signed_with_the_old_development_secret_is_refused(start, make_settings) -> None:
    client = await start(jwt_secret=None)
    now = int(time.time())
    forged = jwt.encode({"sub": "mallory", "roles": ["admin"], "exp": now + 600}, OLD_DEV_SECRET, algorithm="HS256")
    for path in ("/api/channels", "/api/moderation/connections"):
        response = await client.get(path, headers={"Authorization": f"Bearer {forged}"})
        assert response.status == 401, (path, response.status, await response.text())
    # Operator tokens still work without COLLAB_JWT_SECRET: signed with the installation's own secret.
    local = (make_settings().data_dir / "secret.key").read_text().strip()
    honest = jwt.encode({"sub": "ops", "roles": ["admin"], "exp": now + 600}, local, algorithm="HS256")
    response = await client.get("/api/channels", headers={"Authorization": f"Bearer {honest}"})
    assert response.status == 200, await response.text()


def test_the_secret_file_is_private_and_stable(make_settings) -> None:
    from app.auth import Authenticator

    settings = make_settings(jwt_secret=None)
    _, made = Authenticator(settings).guest("gus")
    path = settings.data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64  # 32 random bytes, hex
    # A second authenticator (a restart) reads the same file and trusts the first one's token.
    assert Authenticator(settings).verify(made).guest


async def guest_of(server: ServerProcess, **query: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.url}/ws", params=query) as ws:
        welcome = await ws.receive_json(timeout=10)
    assert welcome["type"] == "welcome", welcome
    return welcome


async def test_a_guest_token_survives_a_restart_without_a_configured_secret(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, COLLAB_JWT_SECRET="")
    server.start()
    try:
        first = await guest_of(server, nickname="gus")
        server.stop()
        path = tmp_path / "secret.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        made = path.read_text()
        server.start()
        again = await guest_of(server, token=first["token"])
        assert again["user"]["id"] == first["user"]["id"]
        assert path.read_text() == made
    finally:
        server.stop()


def collab(server: ServerProcess, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=timeout
    )


async def test_collab_token_and_a_server_without_a_secret_agree(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, COLLAB_JWT_SECRET="")
    server.start()
    try:
        made = collab(server, "token", "--sub", "ops", "--role", "operator")
        assert made.returncode == 0, made.stderr
        forged = jwt.encode(
            {"sub": "ops", "roles": ["operator"], "exp": int(time.time()) + 600}, OLD_DEV_SECRET, algorithm="HS256"
        )
        async with aiohttp.ClientSession() as session:
            for bearer, expected in ((made.stdout.strip(), 200), (forged, 401)):
                headers = {"Authorization": f"Bearer {bearer}"}
                async with session.get(f"{server.url}/api/channels", headers=headers) as response:
                    assert response.status == expected, await response.text()
    finally:
        server.stop()


def test_collab_token_refuses_to_sign_when_a_public_key_verifies(tmp_path: Path, rsa_key) -> None:
    server = ServerProcess(tmp_path, COLLAB_JWT_PUBLIC_KEY=public_pem(rsa_key))
    made = collab(server, "token", "--sub", "ops")
    assert (made.returncode, made.stdout) == (2, ""), made
    assert "private key" in made.stderr and "Traceback" not in made.stderr, made.stderr


def test_serve_on_a_public_address_without_a_key_is_refused(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, COLLAB_JWT_SECRET="")
    done = collab(server, "serve", "--host", "0.0.0.0", "--port", str(free_port()), timeout=20)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "COLLAB_JWT_SECRET" in lines[0] and "0.0.0.0" in lines[0], done.stderr
    assert not (tmp_path / "secret.key").exists()  # refused before anything was made


@pytest.mark.parametrize("key", ["COLLAB_JWT_SECRET", "COLLAB_JWT_PUBLIC_KEY"])
def test_serve_on_a_public_address_with_a_key_starts(tmp_path: Path, rsa_key, key: str) -> None:
    value = SECRET if key == "COLLAB_JWT_SECRET" else public_pem(rsa_key)
    server = ServerProcess(tmp_path, args=("--host", "0.0.0.0"), **{"COLLAB_JWT_SECRET": "", key: value})
    server.start()  # answers /healthz (on 127.0.0.1, which 0.0.0.0 includes)
    assert server.stop() == 0


def test_loopback_addresses_need_no_key() -> None:
    from app.cli import _is_loopback

    assert all(_is_loopback(host) for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"))
    assert not any(_is_loopback(host) for host in ("0.0.0.0", "::", "", "192.168.1.10", "example.com"))


def test_no_key_from_the_source_remains() -> None:
    """`collab token` signed with a constant once; nothing in app/ may hold it again."""
    sources = "".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))
    assert OLD_DEV_SECRET not in sources
    assert "_DEV_SECRET" not in sources
