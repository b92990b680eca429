"""The revocations in force, held in memory for the authenticator's check on every connect."""

from __future__ import annotations

from collab.store.revocations import Revocation
from collab.users import User


class RevocationList:
    """The revocations in force, in memory: what `app.auth.Authenticator` checks every token against
    (a sync check on every connect and request, so no database round trip)."""

    def __init__(self) -> None:
        self.token_ids: set[str] = set()
        # user id -> epoch seconds: that user's tokens issued (`iat`) before it are revoked.
        self.users_before: dict[str, float] = {}
        self.last_id = 0
        self._seen: set[int] = set()

    def add(self, revocation: Revocation) -> bool:
        """Take a revocation in; False when it was known already."""
        if revocation.id in self._seen:
            return False
        self._seen.add(revocation.id)
        self.last_id = max(self.last_id, revocation.id)
        if revocation.token_id is not None:
            self.token_ids.add(revocation.token_id)
        if revocation.user_id is not None and revocation.issued_before is not None:
            moment = revocation.issued_before.timestamp()
            self.users_before[revocation.user_id] = max(self.users_before.get(revocation.user_id, 0.0), moment)
        return True

    def reason(self, user: User) -> str | None:
        """Why `user`'s token is refused, or None. A token without `iat` counts as issued before any
        time; a user-wide revocation refuses it."""
        if user.token_id is not None and user.token_id in self.token_ids:
            return "token revoked"
        before = self.users_before.get(user.id)
        if before is not None and (user.issued_at is None or user.issued_at < before):
            return "token revoked"
        return None
