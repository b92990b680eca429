"""The operators' commands: `collab replay`, `history`, `search`, `prune` and `revoke`. Each goes through the same
engine code as the HTTP API (docs/operators.md); imports are late so that `collab token` stays quick."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from app.config import Settings
from collab.errors import CollabError, SchemaBehind


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild a channel's state from the log (snapshot + events, the server's own code path)."""
    import orjson

    from collab.engine import PROJECTIONS
    from collab.errors import NotFound
    from collab.projections.base import load_state
    from collab.store.sql import SqlEventStore

    try:
        projection = PROJECTIONS.for_channel(args.channel)
    except NotFound as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2

    async def replay() -> int:
        store = await SqlEventStore.open(settings.database_url)
        try:
            if await store.get_channel(args.channel) is None:  # a typo is not an empty board
                print(f"collab: no channel {args.channel!r}", file=sys.stderr)
                return 1
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


async def _open_store(settings: Settings):  # -> SqlEventStore (imported late: `collab token` stays quick)
    from collab.store.migrate import check_schema_current
    from collab.store.sql import SqlEventStore

    await check_schema_current(settings.database_url)
    return await SqlEventStore.open(settings.database_url)


async def _open_engine(settings: Settings):  # -> collab.engine.Engine (imported late, as above)
    from collab.engine import Engine
    from collab.store.migrate import check_schema_current

    await check_schema_current(settings.database_url)
    return await Engine.open(
        settings.database_url, replay_batch=settings.replay_batch_size, media_dir=settings.data_dir / "media"
    )


def _cli_actor(command: str):  # -> collab.operators.moderation.Actor: who acts from the command line (audit channel)
    import getpass

    from collab.operators.audit import Actor

    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor(f"cli:{login}", f"collab {command}")


_LINE_BREAKERS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, 0x85)} | {
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def _one_line(text: str) -> str:
    """Control characters and line breaks written as escapes: a multi-line message keeps its one line and
    the columns of the ones after it (`--json` has the exact text)."""
    return text.translate(_LINE_BREAKERS)


def _text_line(frame: dict) -> str:
    """One event as a line for people: seq, time, who, type, then its content (or its other fields)."""
    import orjson

    who = frame.get("nickname") or frame.get("user_id") or "-"
    if frame.get("user_id") and frame.get("user_id") != who:
        who = f"{who} ({frame['user_id']})"
    rest = {k: v for k, v in frame.items() if k not in ("seq", "ts", "type", "channel", "user_id", "nickname")}
    content = rest.pop("content", None)
    body = content if isinstance(content, str) else orjson.dumps(rest if content is None else content).decode()
    if isinstance(content, str) and rest:
        body += "  " + orjson.dumps(rest).decode()
    return _one_line(f"{frame['seq']:>6}  {frame['ts']}  {who}  {frame['type']}  {body}")


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    """A channel's stored events by filter: the query code of GET /api/channels/{channel}/events."""
    from collab.operators.history import History, HistoryQuery, csv_header, csv_lines, history_frame, jsonl_lines

    params = {"format": ["jsonl"]}
    for key in ("since", "until", "after", "before", "text", "limit"):
        value = getattr(args, key)
        if value is not None:
            params[key] = [str(value)]
    params["type"] = args.type
    params["user"] = args.user

    async def run() -> int:
        query = HistoryQuery.parse(args.channel, params)
        store = await _open_store(settings)
        try:
            if await store.get_channel(args.channel) is None:
                print(f"collab: no channel {args.channel!r}", file=sys.stderr)
                return 1
            batches = History(store).stream(query)
            await _write_batches(
                args, batches, csv_header(), jsonl_lines, csv_lines, lambda e: _text_line(history_frame(e))
            )
        finally:
            await store.close()
        return 0

    return _run_piped(run())


def _hit_line(frame: dict) -> str:
    """One hit as a line for people: where (channel#seq), when, who, type, then its snippet."""
    from collab.operators.snippets import snippet_text

    who = frame.get("nickname") or frame.get("user_id") or "-"
    if frame.get("user_id") and frame.get("user_id") != who:
        who = f"{who} ({frame['user_id']})"
    where = f"{frame['channel']}#{frame['seq']}"
    return _one_line(f"{where}  {frame['ts']}  {who}  {frame['type']}  {snippet_text(frame['snippet'])}")


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Search what users typed across channels: the query code of GET /api/events (every channel,
    direct messages included: the command line reads the database itself)."""
    from collab.operators.exports import csv_header, frames_jsonl
    from collab.operators.search import SNIPPET_COLUMN, Search, SearchQuery, hits_csv

    params = {"format": ["jsonl"], "user": args.user, "channel": args.channel, "type": args.type}
    for key in ("since", "until", "limit"):
        value = getattr(args, key)
        if value is not None:
            params[key] = [str(value)]
    if args.text:
        params["text"] = [" ".join(args.text)]

    async def run() -> int:
        query = SearchQuery.parse(params)
        store = await _open_store(settings)
        try:
            batches = Search(store).stream(query, None)
            await _write_batches(args, batches, csv_header(SNIPPET_COLUMN), frames_jsonl, hits_csv, _hit_line)
        finally:
            await store.close()
        return 0

    return _run_piped(run())


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Remove old events; boards and documents keep their state (a snapshot at the head first)."""
    from collab.engine import PROJECTIONS
    from collab.operators.prune import older_than, prune
    from collab.timetext import wire_timestamp

    async def run() -> int:
        cutoff = older_than(args.older_than)
        store = await _open_store(settings)
        try:
            done = await prune(
                store, PROJECTIONS, cutoff, args.channel, dry_run=args.dry_run, actor=_cli_actor("prune")
            )
            changed = [item for item in done if item.removed]
            verb = "would remove" if args.dry_run else "removed"
            for item in changed:
                snapshot = f", state kept in the snapshot at seq {item.snapshot_seq}" if item.snapshot_seq else ""
                print(f"{item.channel}: {verb} {item.removed} events (seq {item.first}..{item.last}){snapshot}")
            total = sum(item.removed for item in done)
            print(f"collab: {verb} {total} events stored before {wire_timestamp(cutoff)} from {len(changed)} channels")
        finally:
            await store.close()
        return 0

    return _run(run())


def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Store a revocation; running servers apply it within seconds (they poll for new ones)."""
    from collab.operators.history import parse_time
    from collab.operators.moderation import REFRESH_SECONDS

    if args.jti and args.before:
        print("collab: --before goes with --user", file=sys.stderr)
        return 2

    async def run() -> int:
        before = parse_time(args.before, key="before") if args.before else None
        # The same call as POST /api/moderation/revoke: stored, applied, recorded on the audit channel.
        engine = await _open_engine(settings)
        try:
            outcome = await engine.moderation.revoke(
                _cli_actor("revoke"), token_id=args.jti, user_id=args.user, before=before, reason=args.reason
            )
        finally:
            await engine.close()
        issued_before = outcome.details.get("issued_before")
        what = f"token {args.jti}" if args.jti else f"tokens of {args.user} issued before {issued_before}"
        print(f"collab: revoked {what} (running servers apply it within {REFRESH_SECONDS:g} s)")
        return 0

    return _run(run())


async def _write_batches(
    args: argparse.Namespace,
    batches: AsyncIterator[list[Any]],
    header: bytes,
    as_jsonl: Callable[[list[Any]], bytes],
    as_csv: Callable[[list[Any]], bytes],
    as_text: Callable[[Any], str],
) -> None:
    """Write what `history` or `search` found to standard output as it comes, a batch at a time: JSON
    lines with `--json`, CSV (after its `header`) with `--csv`, else a line for people per item."""
    out = sys.stdout.buffer
    if args.csv:
        out.write(header)
    async for batch in batches:
        if args.json:
            out.write(as_jsonl(batch))
        elif args.csv:
            out.write(as_csv(batch))
        else:
            out.write("".join(as_text(item) + "\n" for item in batch).encode())
        out.flush()


def _run_piped(command: Coroutine[Any, Any, int]) -> int:
    """`_run` for a command whose output may go to a pipe that closes early (`collab search x | head`)."""
    try:
        return _run(command)
    except BrokenPipeError:
        sys.stderr.close()
        return 0


def _run(command: Coroutine[Any, Any, int]) -> int:
    """Run a command that uses the database; a refusal or a database behind its schema is one line
    and exit status 2."""
    try:
        return asyncio.run(command)
    except (CollabError, SchemaBehind) as error:
        print(f"collab: {error}", file=sys.stderr)
        return 2
