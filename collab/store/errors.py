"""The one place where database errors become the engine's errors (collab.errors).

Every store module runs its queries inside `translated()` (or hands a caught error to `translate`), so
a caller above the store sees `StoreError` (or `Conflict`, where the caller says what a duplicate
means) and never a driver's or SQLAlchemy's exception. An error that is the engine's already, or is
no database error at all, passes through unchanged: a bug stays a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from collab.errors import CollabError, Conflict, StoreError

log = logging.getLogger(__name__)


def _detail(error: sa_exc.SQLAlchemyError) -> object:
    """The driver's own message when there is one: SQLAlchemy's wraps it in the statement's text."""
    return getattr(error, "orig", None) or error


# Errors that say the database was not there (a connection lost, a server down), not that it said no.
_UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


def translate(error: BaseException, *, conflict: str | None = None) -> Exception:
    """`error` as the engine's error. With `conflict` (what a duplicate means to the caller, e.g.
    "channel 'x' exists already") an integrity error becomes `Conflict`; otherwise every database
    error is `StoreError`. Its message is the engine's own words: clients see it (an `error` frame, a
    503), and the database's text — a table, a column, a value, the driver's name — is for the log
    alone, written here with the error's class."""
    if isinstance(error, CollabError):
        return error
    if isinstance(error, sa_exc.IntegrityError) and conflict is not None:
        return Conflict(conflict)
    if isinstance(error, sa_exc.SQLAlchemyError):
        log.warning("database error (clients see only that it failed): %s: %s", type(error).__name__, _detail(error))
        if isinstance(error, _UNREACHABLE):
            return StoreError("the database is unavailable (nothing was changed); try again")
        return StoreError("the database refused the operation (nothing was changed)")
    return error if isinstance(error, Exception) else StoreError(str(error))


@contextmanager
def translated(*, conflict: str | None = None) -> Iterator[None]:
    """Run a block of queries; a database error leaves it as `translate` makes it."""
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise translate(error, conflict=conflict) from error


__all__ = ["translate", "translated"]
