"""The engine's error tree. Driver and transport errors are translated into these at the boundary."""


class CollabError(Exception):
    """Base of every error the engine raises on purpose; `code` is the wire error code."""

    code = "error"


class ProtocolError(CollabError):
    """A frame or command that does not follow the contract (bad JSON, missing or mistyped field)."""

    code = "bad_request"


class NotFound(CollabError):
    code = "not_found"


class Forbidden(CollabError):
    code = "forbidden"


class Conflict(CollabError):
    code = "conflict"


class StoreError(CollabError):
    """The event store could not do what was asked (database unreachable, constraint broken)."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The database cannot be reached, or cannot take the write now (connection lost or refused, SQLite
    busy past its timeout, disk full): nothing was stored, or, for a commit cut short, the client cannot
    know; a retry with the same op id is safe either way. Wire code `unavailable`."""

    code = "unavailable"


class SchemaBehind(StoreError):
    """The database schema is older than the code; `collab migrate` brings it up to date."""


class LimitExceeded(CollabError):
    """A per-user or per-socket cap is reached (rooms created, subscriptions, connections): nothing was
    done; the same request stays refused until the user has less of it."""

    code = "limit_exceeded"
