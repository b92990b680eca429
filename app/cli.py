"""`collab`: serve, migrate, token (and the operators' commands as they come)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys

from app.config import ConfigError, Settings
from collab.errors import SchemaBehind


def _duration(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `7d` → seconds."""
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 15m, 1h or 7d")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from app.factory import create_app
    from collab.store.migrate import check_schema_current

    try:
        asyncio.run(check_schema_current(settings.database_url))
    except SchemaBehind as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2
    try:
        import uvloop
    except ImportError:
        uvloop = None
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    print(
        f"collab: serving on http://{args.host}:{args.port} (database {_safe_url(settings.database_url)})", flush=True
    )
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None, shutdown_timeout=10)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from collab.store.migrate import upgrade_to_head

    asyncio.run(upgrade_to_head(settings.database_url))
    print(f"collab: {_safe_url(settings.database_url)} is at the newest schema")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from app.auth import Authenticator

    roles = [role for group in args.role for role in group.split(",") if role]
    print(Authenticator(settings).issue(args.sub, name=args.name, roles=roles, ttl_seconds=args.ttl))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild a channel's state from the log (snapshot + events, the server's own code path)."""
    import orjson

    from collab.errors import NotFound
    from collab.projections.base import load_state
    from collab.projections.registry import projection_for
    from collab.store.sql import SqlEventStore

    try:
        projection = projection_for(args.channel)
    except NotFound as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2

    async def replay() -> int:
        store = await SqlEventStore.open(settings.database_url)
        try:
            loaded = await load_state(store, projection, args.channel, until=args.until)
        finally:
            await store.close()
        shown = projection.show(loaded.state) if projection.show else loaded.state
        print(
            orjson.dumps(
                {"channel": args.channel, "seq": loaded.seq, "state": shown}, option=orjson.OPT_INDENT_2
            ).decode()
        )
        return 0

    return asyncio.run(replay())


def _safe_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collab", description="Event-sourced collaboration backend.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(run=cmd_serve)
    migrate = commands.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(run=cmd_migrate)
    token = commands.add_parser("token", help="print a signed JWT (HS256, COLLAB_JWT_SECRET)")
    token.add_argument("--sub", required=True, help="user id")
    token.add_argument("--name", help="display name")
    token.add_argument("--role", action="append", default=[], help="role (repeat or comma-separate)")
    token.add_argument("--ttl", type=_duration, default=3600, help="lifetime: 30m, 1h, 7d (default 1h)")
    token.set_defaults(run=cmd_token)
    replay = commands.add_parser("replay", help="rebuild a board's or document's state from the log and print it")
    replay.add_argument("channel", help="e.g. kanban:team or doc:notes")
    replay.add_argument("--until", type=int, default=None, help="the state after this seq (default: the head)")
    replay.set_defaults(run=cmd_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO if args.command == "migrate" else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
