"""Who is connecting: JWTs (HS256 secret or RS256/ES256 public key), signed guest tokens, Origin checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import jwt
import orjson

from app.config import Settings
from app.local_secret import signing_secret
from collab.errors import CollabError
from collab.operators.moderation import RevocationList
from collab.users import User

GUEST_TOKEN_TTL = 30 * 24 * 3600
GUEST_ISSUER = "collab-guest"
# The ids `Authenticator.guest` makes. A guest token names only such an id: whoever holds the guest key
# could otherwise sign themself in as any user.
GUEST_ID = re.compile(r"guest-[0-9a-f]{12}")
MAX_NICKNAME = 32
_ALLOWED = ("HS256", "RS256", "ES256")


class AuthError(CollabError):
    """A token that is missing, malformed, badly signed, expired or meant for someone else."""

    code = "unauthorized"


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Guest tokens: HS256 with COLLAB_JWT_SECRET or this installation's generated secret, never a key
        # from the source. Resolved once, at start: a data directory that cannot hold it stops the start.
        self._guest_key = signing_secret(settings.jwt_secret, settings.data_dir) if settings.allow_guests else ""
        self._guest_key_bytes = self._guest_key.encode()
        # Which algorithms a token may claim: the key decides, so an HS256 token can never be verified
        # with an RSA public key as its "secret" (the classic algorithm-confusion attack), and `none`
        # is never accepted.
        if settings.jwt_public_key:
            self._key: str = settings.jwt_public_key
            self._algorithms = ["RS256", "ES256"]
        else:
            self._key = self._guest_key or signing_secret(settings.jwt_secret, settings.data_dir)
            self._algorithms = ["HS256"]
        # Revoked tokens: by `jti`, and per user everything issued before a time (moderation). Loaded
        # from the database at start and kept current by collab.operators.moderation (app/moderation.py).
        self.revocations = RevocationList()
        self.revoked_ids: set[str] = self.revocations.token_ids
        self.revoked_before: dict[str, float] = self.revocations.users_before

    def verify(self, token: str) -> User:
        """The user a token names, or `AuthError`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token: {error}") from None
        algorithm = header.get("alg")
        if self._is_guest_token(token):
            return self._verify_guest(token)
        if algorithm not in _ALLOWED or algorithm not in self._algorithms:
            raise AuthError(f"token algorithm {algorithm!r} is not accepted")
        options: dict[str, Any] = {"require": ["sub", "exp"]}
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options=options,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError as error:
            raise AuthError(f"invalid token: {error}") from None
        return self._user(claims, guest=False)

    def _is_guest_token(self, token: str) -> bool:
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == GUEST_ISSUER
        except jwt.PyJWTError:
            return False

    def _verify_guest(self, token: str) -> User:
        if not self.settings.allow_guests:
            raise AuthError("guests are not allowed here")
        try:
            claims = jwt.decode(
                token,
                self._guest_key,
                algorithms=["HS256"],
                issuer=GUEST_ISSUER,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": ["sub", "exp"]},
            )
        except jwt.PyJWTError as error:
            raise AuthError(f"invalid guest token: {error}") from None
        return self._user(claims, guest=True)

    def _user(self, claims: dict[str, Any], *, guest: bool) -> User:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 200 or "\x00" in subject:
            raise AuthError("token claim 'sub' must be a non-empty string of at most 200 characters, without U+0000")
        if "\x00" in str(claims.get("jti", "")):
            raise AuthError("token claim 'jti' must not contain U+0000")  # it would be stored by a revocation
        if guest and not GUEST_ID.fullmatch(subject):
            raise AuthError("a guest token names a guest id")
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("token claim 'roles' must be a list of strings")
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        user = User(
            id=subject,
            name=sanitize_nickname(name) if name else subject[:MAX_NICKNAME],
            roles=frozenset(roles) if not guest else frozenset(),
            guest=guest,
            expires_at=float(claims["exp"]) if isinstance(claims.get("exp"), int | float) else None,
            token_id=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
            issued_at=float(claims["iat"]) if isinstance(claims.get("iat"), int | float) else None,
            claims=claims,
        )
        self.check_revoked(user)
        return user

    def check_revoked(self, user: User) -> None:
        reason = self.revocations.reason(user)
        if reason is not None:
            raise AuthError(reason)

    def guest(self, nickname: str | None) -> tuple[User, str]:
        """A new guest and the signed token that brings them back as the same user."""
        if not self.settings.allow_guests:
            raise AuthError("a token is required (guests are not allowed)")
        random = secrets.token_hex(8)  # one read of the system's randomness, not two
        name = sanitize_nickname(nickname or "") or f"guest-{random[12:]}"
        user_id = f"guest-{random[:12]}"
        now = int(time.time())
        claims = {"sub": user_id, "name": name, "iss": GUEST_ISSUER, "iat": now, "exp": now + GUEST_TOKEN_TTL}
        return self._user(claims, guest=True), sign_hs256(claims, self._guest_key_bytes)

    def issue(
        self, sub: str, *, name: str | None = None, roles: list[str] | None = None, ttl_seconds: int = 3600
    ) -> str:
        """A token signed with the key this server verifies with (`collab token`): COLLAB_JWT_SECRET, else
        the data directory's generated secret."""
        if self.settings.jwt_public_key:
            raise AuthError("tokens are verified with a public key here; sign them with the private key")
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_hex(8),
        }
        if name:
            claims["name"] = name
        if roles:
            claims["roles"] = roles
        if self.settings.jwt_audience:
            claims["aud"] = self.settings.jwt_audience
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        return jwt.encode(claims, self._key, algorithm="HS256")


_HS256_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def sign_hs256(claims: dict[str, Any], key: bytes) -> str:
    """`jwt.encode(claims, key, algorithm="HS256")` in a tenth of its time (a guest token is signed on
    every guest's connect: PyJWT's general encoder, which looks at the key and sorts the claims, was a
    tenth of a connect's CPU). Tokens are still verified by PyJWT alone (`Authenticator.verify`)."""
    signing_input = _HS256_HEADER + b"." + base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def sanitize_nickname(raw: str) -> str:
    """Printable, single-line, trimmed and at most 32 characters; markup stays text in the pages."""
    if raw.isascii() and raw.isprintable():
        # What most nicknames are, and what the general case leaves as it is (NFKC changes no ASCII,
        # and ASCII's only "other" characters are the controls): a twentieth of its cost.
        text = raw.strip()
    else:
        text = unicodedata.normalize("NFKC", raw)
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
        text = _CONTROL.sub("", text).strip()
    return " ".join(text.split())[:MAX_NICKNAME]


def origin_allowed(origin: str | None, host: str, scheme: str, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin on WebSocket handshakes: same origin, or one listed, or `*`. Non-browser
    clients send none and are judged by their token alone."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    origin = origin.rstrip("/")
    if origin in (f"{scheme}://{host}", f"http://{host}", f"https://{host}"):
        return True
    return origin in {o.rstrip("/") for o in allowed}


def _name_and_port(netloc: str) -> tuple[str, int | None]:
    parts = urlsplit("//" + netloc.strip())
    try:
        return parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number
        return "", None


def host_allowed(host: str, public_origins: tuple[str, ...]) -> bool:
    """The request's Host names this server: one of `public_origins` (any Host when there are none; a Host
    without a port means the origin's default port). The same-origin rule of `origin_allowed` trusts the
    Host; a page on a rebound name (evil.example resolving to this server) sends its own name as Host
    and Origin alike, so only this check stops it."""
    if not public_origins:
        return True
    name, port = _name_and_port(host)
    for origin in public_origins:
        parts = urlsplit(origin)
        default = 443 if parts.scheme == "https" else 80
        if name and name == parts.hostname and (port or default) == (parts.port or default):
            return True
    return False
