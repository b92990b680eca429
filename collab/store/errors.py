"""The one place where database errors become the engine's errors (collab.errors).

Every store module runs its queries inside `translated()` (or hands a caught error to `translate`), so
a caller above the store sees `StoreError` (or `Conflict`, where the caller says what a duplicate
means) and never a driver's or SQLAlchemy's exception. An error that is the engine's already, or is
no database error at all, passes through unchanged: a bug stays a bug.

Errors that say the database is out of reach for now (a lost or refused connection, SQLite busy past
its timeout, a full disk, PostgreSQL shutting down or out of connections, no connection free in the
pool in time) become `StoreUnavailable`
(wire code `unavailable`): the client retries later. Every other refusal stays `StoreError`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from collab.errors import CollabError, Conflict, StoreError, StoreUnavailable

# SQLite's primary result codes that mean "not now" rather than "never": the lock is held elsewhere,
# the disk is full or failing, the file cannot be opened.
_SQLITE_UNAVAILABLE = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN}
)
# PostgreSQL's SQLSTATE classes of the same meaning: 08 connection exception, 53 insufficient resources
# (disk full, out of memory, too many connections), 57P operator intervention (shutting down, starting).
_POSTGRES_UNAVAILABLE = ("08", "53", "57P")

# Errors that are "not now" whatever the database: a connection lost or refused, and the pool that gave no
# connection in time (`sa_exc.TimeoutError`: every one busy, as in a storm of reconnects).
_UNREACHABLE = (OSError, TimeoutError, sa_exc.TimeoutError, sa_exc.DisconnectionError, sa_exc.InterfaceError)

log = logging.getLogger(__name__)


def _detail(error: sa_exc.SQLAlchemyError) -> object:
    """The driver's own message when there is one: SQLAlchemy's wraps it in the statement's text."""
    return getattr(error, "orig", None) or error


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach for now (see the module docstring)."""
    if isinstance(error, _UNREACHABLE):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, OSError | TimeoutError):
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_UNAVAILABLE
    state = getattr(orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_POSTGRES_UNAVAILABLE)


def translate(error: BaseException, *, conflict: str | None = None) -> Exception:
    """`error` as the engine's error. With `conflict` (what a duplicate means to the caller, e.g.
    "channel 'x' exists already") an integrity error becomes `Conflict`; a database out of reach is
    `StoreUnavailable`; every other database error is `StoreError`. Its message is the engine's own
    words: clients see it (an `error` frame, a 503), and the database's text — a table, a column, a
    value, the driver's name — is for the log alone, written here with the error's class."""
    if isinstance(error, CollabError):
        return error
    if isinstance(error, sa_exc.IntegrityError) and conflict is not None:
        return Conflict(conflict)
    detail = _detail(error) if isinstance(error, sa_exc.SQLAlchemyError) else error
    if unreachable(error):
        log.warning("database out of reach: %s: %s", type(error).__name__, detail)
        return StoreUnavailable("the database is unavailable (nothing was changed); try again")
    if isinstance(error, sa_exc.SQLAlchemyError):
        log.warning("database error (clients see only that it failed): %s: %s", type(error).__name__, detail)
        return StoreError("the database refused the operation (nothing was changed)")
    return error if isinstance(error, Exception) else StoreError(str(error))


@contextmanager
def translated(*, conflict: str | None = None) -> Iterator[None]:
    """Run a block of queries; a database error (or a connection's OSError, which the drivers raise
    unwrapped when they cannot connect) leaves it as `translate` makes it."""
    try:
        yield
    except (sa_exc.SQLAlchemyError, OSError) as error:
        raise translate(error, conflict=conflict) from error


__all__ = ["translate", "translated", "unreachable"]
