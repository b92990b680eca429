"""The HS256 key when `COLLAB_JWT_SECRET` is unset: a secret generated at first start and kept in the data
directory (`secret.key`, mode 0600), so no key from the source ever signs a token a deployment trusts.

It is this installation's own: guest tokens survive its restarts, and `collab token` run beside it (same
`COLLAB_DATA_DIR`) signs with it. Nodes that share no data directory share no such secret: they set
`COLLAB_JWT_SECRET` (docs/deployment.md). `collab serve` refuses a non-loopback address on it alone."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

FILENAME = "secret.key"
# 32 random bytes, hex: as strong as HS256's own key length.
_BYTES = 32


class LocalSecretError(RuntimeError):
    """The data directory's secret cannot be read or created (the server does not start without a key)."""


def signing_secret(jwt_secret: str | None, data_dir: Path) -> str:
    """The key that signs and verifies HS256 tokens: `COLLAB_JWT_SECRET`, else this installation's own."""
    return jwt_secret or local_secret(data_dir)


def local_secret(data_dir: Path) -> str:
    """`<data_dir>/secret.key`, created on first use. Several processes starting at once (`serve --workers`,
    `collab token` beside a starting server) end up with the same secret: the file appears complete or
    not at all (written aside, then hard-linked into place, which fails if another got there first)."""
    path = data_dir / FILENAME
    existing = _read(path)
    if existing is not None:
        return existing
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_hex(_BYTES) + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    except OSError as error:
        raise LocalSecretError(
            f"cannot create {path} ({error.strerror}); set COLLAB_JWT_SECRET or make COLLAB_DATA_DIR writable"
        ) from None
    found = _read(path)
    if found is None:
        raise LocalSecretError(f"{path} is empty; delete it or set COLLAB_JWT_SECRET")
    return found


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LocalSecretError(f"cannot read {path} ({error.strerror}); set COLLAB_JWT_SECRET") from None
    if not text:
        raise LocalSecretError(f"{path} is empty; delete it or set COLLAB_JWT_SECRET")
    return text
