"""Who is on the other end of a connection."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated user (from a JWT) or a guest (from a signed guest token or a nickname).
    `expires_at` is the token's `exp` (epoch seconds): the connection closes with 1008 then."""

    id: str
    name: str
    roles: frozenset[str] = frozenset()
    guest: bool = False
    expires_at: float | None = None
    token_id: str | None = None
    issued_at: float | None = None
    claims: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_operator(self) -> bool:
        return self.has_role("operator", "admin")

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def read_only(self) -> bool:
        return "readonly" in self.roles

    def public(self) -> dict:
        """The user as other clients see it (in `welcome`, presence)."""
        return {"id": self.id, "name": self.name, "roles": sorted(self.roles), "guest": self.guest}
