"""The JWT secret every test server is configured with, and tokens signed with it."""

from __future__ import annotations

import time
from typing import Any

import jwt

SECRET = "tests-hs256-secret-of-at-least-32-bytes"


def token(
    sub: str, *, name: str | None = None, roles: list[str] | None = None, ttl: float = 3600, **claims: Any
) -> str:
    """An HS256 token for `sub`, signed with `SECRET`, expiring `ttl` seconds from now."""
    body: dict[str, Any] = {"sub": sub, "exp": int(time.time() + ttl), "iat": int(time.time())}
    if name is not None:
        body["name"] = name
    if roles is not None:
        body["roles"] = roles
    body.update(claims)
    return jwt.encode(body, SECRET, algorithm="HS256")
