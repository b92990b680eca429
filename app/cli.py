"""`collab`: serve, migrate, token, replay, and the operators' history, search, prune and revoke
(docs/operators.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys

from app.config import ConfigError, Settings
from app.operator_commands import cmd_history, cmd_prune, cmd_replay, cmd_revoke, cmd_search
from collab.errors import SchemaBehind


def _duration(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `7d` → seconds."""
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 15m, 1h or 7d")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more)")
    return int(text)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from collab.store.lock import DatabaseInUse, database_lock
    from collab.store.migrate import check_schema_current

    if (args.worker is None) != (args.supervisor_fd is None):
        print("collab: --worker and --supervisor-fd are set together, by `collab serve --workers N`", file=sys.stderr)
        return 2
    refusal = _key_refusal(args.host, settings)
    if refusal:
        print(f"collab: serve refused: {refusal}", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.broker != "postgres":
        # Each process delivers only to its own clients without the PostgreSQL broker.
        why = (
            "SQLite is served by one process (its fan-out lives in that process's memory)"
            if settings.database_url.startswith("sqlite")
            else "COLLAB_BROKER=memory delivers within one process"
        )
        print(f"collab: --workers {args.workers} refused: {why}; use PostgreSQL to run several", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as held:
        try:
            # Before the engine opens: a second server on one SQLite file is refused, not half-started.
            held.enter_context(database_lock(settings.database_url, "collab serve"))
        except DatabaseInUse as error:
            print(
                f"collab: serve refused: {error}; SQLite is served by one process at a time "
                "(stop that one first, or use PostgreSQL to run several)",
                file=sys.stderr,
            )
            return 2
        try:
            asyncio.run(check_schema_current(settings.database_url))
        except SchemaBehind as error:
            print(f"collab: {error}", file=sys.stderr)
            return 2
        if args.workers > 1:
            from app.workers import run_workers

            return run_workers(args.workers, args.host, args.port)
        return _serve(args, settings)


def _key_refusal(host: str, settings: Settings) -> str | None:
    """Why this server may not start with the keys it has, or None. Without COLLAB_JWT_SECRET or
    COLLAB_JWT_PUBLIC_KEY the key is the data directory's generated secret: a convenience for one
    machine, so only a loopback address serves on it. The secret is made here, before any worker starts,
    so an unwritable data directory is one line, not a traceback."""
    from app.local_secret import LocalSecretError, local_secret

    if settings.jwt_secret:
        return None
    if not settings.jwt_public_key and not _is_loopback(host):
        return f"--host {host} is not a loopback address; set COLLAB_JWT_SECRET (or COLLAB_JWT_PUBLIC_KEY) first"
    if not settings.allow_guests and settings.jwt_public_key:
        return None  # nothing is signed or verified with a secret
    try:
        local_secret(settings.data_dir)
    except LocalSecretError as error:
        return str(error)
    return None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """One server process: alone (`collab serve`), or worker `args.worker` of a `--workers N` parent."""
    from aiohttp import web

    from app.factory import create_app

    try:
        import uvloop
    except ImportError:
        uvloop = None
    if uvloop is not None and os.environ.get("COLLAB_EVENT_LOOP", "uvloop") != "asyncio":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    worker = "" if args.worker is None else f"worker {args.worker} (pid {os.getpid()}) "
    print(
        f"collab: {worker}serving on http://{args.host}:{args.port} (database {_safe_url(settings.database_url)})",
        flush=True,
    )
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_heap)  # after the engine has opened (cleanup_ctx runs first)
    if args.worker is None:
        web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=10)
        return 0
    from app.workers import SupervisorLink

    # SO_REUSEPORT: the other workers bind the same port; the kernel spreads connections across them.
    # run_app calls `print` once the port listens: that is when the parent hears we are ready.
    link = SupervisorLink(args.supervisor_fd)
    web.run_app(app, host=args.host, port=args.port, print=link.listening, shutdown_timeout=10, reuse_port=True)
    return 0


# The cyclic collector's first threshold: allocations (net of frees) between its youngest collections.
# Python's 700 suits a short script; a server holding 10,000 sockets' objects ran 160 middle and 12 full
# collections while they connected, the full ones 2.2 s of the 8 s of CPU those connects took. At 10,000
# the same storm runs 10 and 1 (0.8 s in all, connects 20 % cheaper); what dies young, most of a
# message's objects, is freed by its reference count and never waits for a collection.
GC_YOUNG_THRESHOLD = 10_000


async def _freeze_startup_heap(app: object) -> None:
    """Move what start-up allocated (modules, SQLAlchemy, the engine: ~100k objects) out of the cyclic
    collector's reach. Without it, the full collections that objects in flight eventually trigger scan
    them all: a 50-80 ms pause every few seconds under load, which alone sets a latency p99. And collect
    the young generation less often (`GC_YOUNG_THRESHOLD`)."""
    import gc

    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Only a migration that changes something takes the SQLite lock: it would change the tables under a
    running server, which checked the schema once, at its start. A migration with nothing to do runs
    beside a server (deploy scripts run it every time)."""
    from collab.store.lock import DatabaseInUse, database_lock
    from collab.store.migrate import check_schema_current, upgrade_to_head

    try:
        asyncio.run(check_schema_current(settings.database_url))
    except SchemaBehind:
        try:
            with database_lock(settings.database_url, "collab migrate"):
                asyncio.run(upgrade_to_head(settings.database_url))
        except DatabaseInUse as error:
            print(
                f"collab: migrate refused: {error}; stop the server, migrate, then start it again",
                file=sys.stderr,
            )
            return 2
    print(f"collab: {_safe_url(settings.database_url)} is at the newest schema")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Signed with the key `collab serve` verifies with: COLLAB_JWT_SECRET, else the generated secret of
    the same COLLAB_DATA_DIR (so `make run` and this agree with no setup)."""
    from app.auth import Authenticator, AuthError
    from app.local_secret import LocalSecretError

    roles = [role for group in args.role for role in group.split(",") if role]
    try:
        print(Authenticator(settings).issue(args.sub, name=args.name, roles=roles, ttl_seconds=args.ttl))
    except (AuthError, LocalSecretError) as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2
    return 0


def _safe_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collab", description="Event-sourced collaboration backend.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers", type=_workers, default=1, help="server processes on the port (SO_REUSEPORT; PostgreSQL only)"
    )
    # Set by the parent of `--workers N` on each worker it starts (app/workers.py), not by people.
    serve.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument("--supervisor-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(run=cmd_serve)
    migrate = commands.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(run=cmd_migrate)
    token = commands.add_parser(
        "token", help="print a signed JWT (HS256: COLLAB_JWT_SECRET, else the data directory's secret)"
    )
    token.add_argument("--sub", required=True, help="user id")
    token.add_argument("--name", help="display name")
    token.add_argument("--role", action="append", default=[], help="role (repeat or comma-separate)")
    token.add_argument("--ttl", type=_duration, default=3600, help="lifetime: 30m, 1h, 7d (default 1h)")
    token.set_defaults(run=cmd_token)
    replay = commands.add_parser("replay", help="rebuild a board's or document's state from the log and print it")
    replay.add_argument("channel", help="e.g. kanban:team or doc:notes")
    replay.add_argument("--until", type=int, default=None, help="the state after this seq (default: the head)")
    replay.set_defaults(run=cmd_replay)
    history = commands.add_parser("history", help="print a channel's stored events (filters as the history API)")
    history.add_argument("channel")
    history.add_argument("--since", help="stored at or after: ISO 8601 or an age (24h, 7d)")
    history.add_argument("--until", help="stored before: ISO 8601 or an age")
    history.add_argument("--after", type=int, help="seqs above this")
    history.add_argument("--before", type=int, help="seqs below this")
    history.add_argument("--user", action="append", default=[], help="user id (repeat or comma-separate)")
    history.add_argument("--type", action="append", default=[], help="event type (repeat or comma-separate)")
    history.add_argument(
        "--text",
        help='search what users typed: words, "a phrase", prefix* (case and accents do not matter)',
    )
    history.add_argument("--limit", type=int, help="at most this many events")
    output = history.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON event per line, as the socket sent it")
    output.add_argument("--csv", action="store_true", help="CSV with a header row")
    history.set_defaults(run=cmd_history)
    search = commands.add_parser(
        "search", help="search what users typed across channels, newest first (filters as GET /api/events)"
    )
    search.add_argument("text", nargs="*", help='words, "a phrase" (quote it for the shell too), prefix*')
    search.add_argument("--user", action="append", default=[], help="user id (repeat or comma-separate)")
    search.add_argument("--channel", action="append", default=[], help="channel (repeat or comma-separate)")
    search.add_argument("--type", action="append", default=[], help="event type (repeat or comma-separate)")
    search.add_argument("--since", help="stored at or after: ISO 8601 or an age (24h, 7d)")
    search.add_argument("--until", help="stored before: ISO 8601 or an age")
    search.add_argument("--limit", type=int, help="at most this many hits")
    found = search.add_mutually_exclusive_group()
    found.add_argument("--json", action="store_true", help="one JSON hit per line, as the API's jsonl")
    found.add_argument("--csv", action="store_true", help="CSV with a header row, the snippet last")
    search.set_defaults(run=cmd_search)
    prune_cmd = commands.add_parser("prune", help="remove old events (boards and documents keep their state)")
    prune_cmd.add_argument("--older-than", required=True, help="age of the events to remove: 90d, 12w, 24h")
    prune_cmd.add_argument("--channel", action="append", default=[], help="only this channel (repeat)")
    prune_cmd.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    prune_cmd.set_defaults(run=cmd_prune)
    revoke = commands.add_parser("revoke", help="revoke a token (by jti) or a user's tokens issued before a time")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--jti", help="the token's jti claim")
    target.add_argument("--user", help="every token of this user id issued before --before")
    revoke.add_argument("--before", help="with --user: ISO 8601 or an age (default: now)")
    revoke.add_argument("--reason", help="recorded on the audit channel")
    revoke.set_defaults(run=cmd_revoke)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2
    # A worker of `serve --workers N` says which one it is: their lines share the parent's output.
    worker = getattr(args, "worker", None)
    who = "" if worker is None else f"[worker {worker}] "
    logging.basicConfig(level=settings.log_level, format=f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO if args.command == "migrate" else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
