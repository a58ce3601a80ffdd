"""The operator's commands at a terminal: `mlops-bot suggestions ...`, `catalog export`, `db upgrade`.

They go through the same service as chat (same rules, same audit), acting as the operator."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any, TextIO

from bot.app.wiring import App
from bot.core.permissions import OPERATOR
from bot.service import Request

EXIT_OK, EXIT_ERROR = 0, 1


def _operator() -> Request:
    return Request("", platform=OPERATOR.platform, user_id=OPERATOR.user_id, user_name=OPERATOR.name)


def suggestions_command(args: argparse.Namespace, app: App, out: TextIO) -> int:
    from bot.adapters.console import render_text

    suggestions = app.suggestions
    assert suggestions is not None
    repo = suggestions.repo
    command = args.suggestions_command
    if command == "list":
        rows = repo.listing(args.state)
        if args.format == "json":
            print(json.dumps([_row(r) for r in rows], ensure_ascii=False, indent=2), file=out)
        elif not rows:
            print("No suggestions" + (f" {args.state}." if args.state else "."), file=out)
        for row in rows if args.format == "text" else ():
            print(f"#{row['id']:<5} {row['state']:<9} {row['created_at']:%Y-%m-%d}  {row['title'][:60]}  "
                  f"<{row['url']}>", file=out)
        return EXIT_OK
    if command == "show":
        row = repo.get(args.number)
        if row is None:
            print(f"There is no suggestion #{args.number}.", file=out)
            return EXIT_ERROR
        entries = repo.audit_log(args.number)
        if args.format == "json":
            print(json.dumps({**_row(row), "log": [_entry(e) for e in entries]}, ensure_ascii=False, indent=2),
                  file=out)
            return EXIT_OK
        for key, value in _row(row).items():
            if value not in (None, ""):
                print(f"{key:>13}: {value}", file=out)
        for entry in entries:
            print(f"{'':>13}  {entry.at:%Y-%m-%d %H:%M} {entry.action} by {entry.actor}", file=out)
        return EXIT_OK
    if command in ("approve", "reject"):
        if command == "approve":
            text = f"approve {args.number}" + (f" kind:{args.kind}" if args.kind else "") + (
                f" category:{args.category}" if args.category else "")
        else:
            text = f"reject {args.number} {args.reason}"
        request = _operator()
        reply = asyncio.run(_decide_and_finish(app, Request(text, platform=request.platform,
                                                             user_id=request.user_id, user_name=request.user_name)))
        out.write(render_text(reply))
        return EXIT_ERROR if reply.is_error else EXIT_OK
    entries = repo.audit_log(args.number)
    if args.format == "json":
        print(json.dumps([_entry(e) for e in entries], ensure_ascii=False, indent=2), file=out)
        return EXIT_OK
    for entry in entries:
        where = f" in {entry.place}" if entry.place else ""
        detail = f": {entry.detail}" if entry.detail else ""
        print(f"{entry.at:%Y-%m-%d %H:%M:%S} #{entry.suggestion_id or '-'} {entry.action} by {entry.actor}"
              f"{where}{detail}", file=out)
    if not entries:
        print("The audit log is empty.", file=out)
    return EXIT_OK


async def _decide_and_finish(app: App, request: Request) -> Any:
    reply = await app.service.handle(request)
    if app.suggestions is not None:
        await app.suggestions.drain(10)  # the member's DM and the review posts, before the process ends
    return reply


def catalog_export(path: Path | None, app: App, out: TextIO) -> int:
    from bot.core.catalog_export import already_present, merge_resources

    source = app.service.path
    assert source is not None
    text = source.read_text(encoding="utf-8")
    approved = list(app.service.approved)
    merged = merge_resources(text, approved)
    added = len(approved) - len(already_present(text, approved))
    if path is None:
        out.write(merged)
    else:
        path.write_text(merged, encoding="utf-8")
        print(f"wrote {path}: {added} approved resource(s) added", file=out)
    return EXIT_OK


def db_upgrade(database_url: str, out: TextIO) -> int:
    from bot.storage.database import HEAD, create_database_engine, migrate

    engine = create_database_engine(database_url)
    try:
        before = migrate(engine)
    finally:
        engine.dispose()
    print(f"database at revision {HEAD}" + (f" (was {before})" if before != HEAD else " (already current)"),
          file=out)
    return EXIT_OK


def db_backup(database_url: str, path: Path, out: TextIO) -> int:
    """SQLite's online backup: a consistent copy while the bot keeps writing (pages copied in steps,
    restarted by SQLite if a write lands meanwhile), never a half-written file at `path`."""
    import sqlite3

    from bot.errors import ConfigError
    from bot.storage.database import database_url as parse_url

    url = parse_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ConfigError("mlops-bot db backup copies a SQLite database; for PostgreSQL use pg_dump -Fc "
                          "(see 'Running it for real' in the README)")
    source_path = Path(url.database).expanduser()
    if not source_path.exists():
        raise ConfigError(f"there is no database at {source_path} to back up")
    partial = path.with_name(path.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=15)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=256, sleep=0.01)
        finally:
            target.close()
    finally:
        source.close()
    partial.replace(path)
    print(f"backed up {source_path} to {path}", file=out)
    return EXIT_OK


def _row(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()
            if k not in ("url_key",)}


def _entry(entry: Any) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "suggestion": entry.suggestion_id, "place": entry.place, "before": entry.before, "after": entry.after,
            "detail": entry.detail}
