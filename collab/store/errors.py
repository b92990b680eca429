"""The one place where database errors become the engine's errors (collab.errors).

Every store module runs its queries inside `translated()` (or hands a caught error to `translate`), so
a caller above the store sees `StoreError` (or `Conflict`, where the caller says what a duplicate
means) and never a driver's or SQLAlchemy's exception. An error that is the engine's already, or is
no database error at all, passes through unchanged: a bug stays a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from collab.errors import CollabError, Conflict, StoreError


def _detail(error: sa_exc.SQLAlchemyError) -> object:
    """The driver's own message when there is one: SQLAlchemy's wraps it in the statement's text."""
    return getattr(error, "orig", None) or error


def translate(error: BaseException, *, conflict: str | None = None) -> Exception:
    """`error` as the engine's error. With `conflict` (what a duplicate means to the caller, e.g.
    "channel 'x' exists already") an integrity error becomes `Conflict`; otherwise every database
    error is `StoreError`."""
    if isinstance(error, CollabError):
        return error
    if isinstance(error, sa_exc.IntegrityError) and conflict is not None:
        return Conflict(conflict)
    if isinstance(error, sa_exc.SQLAlchemyError):
        return StoreError(f"the database refused: {_detail(error)}")
    return error if isinstance(error, Exception) else StoreError(str(error))


@contextmanager
def translated(*, conflict: str | None = None) -> Iterator[None]:
    """Run a block of queries; a database error leaves it as `translate` makes it."""
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise translate(error, conflict=conflict) from error


__all__ = ["translate", "translated"]
