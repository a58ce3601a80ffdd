"""`mlops-bot`: the one entry point. Heavy modules are imported inside each command, so that a
one-shot `ask` or `search` pays only for what it uses."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import __version__

if TYPE_CHECKING:
    from bot.app.wiring import App
    from bot.service import BotService, Request
    from bot.settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", type=Path, default=argparse.SUPPRESS, metavar="PATH",
                        help="catalog file to load (default: $MLOPS_BOT_CATALOG, else the bundled one)")

    parser = argparse.ArgumentParser(
        prog="mlops-bot", parents=[common],
        description="A community bot for people learning MLOps: Slack, Discord, or a local console.",
        epilog="Run 'mlops-bot COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-bot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="start every configured platform (console chat if none)",
                         description="Start Slack and/or Discord as configured in the environment or .env; "
                                     "with neither configured, open a local console chat.")
    run.add_argument("--only", type=_platforms, metavar="slack|discord|console",
                     help="run only these (comma-separated): scale Slack over HTTP to several replicas while "
                          "Discord, which holds one gateway connection per token, runs in exactly one")

    ask = sub.add_parser("ask", parents=[common], help="answer one command and exit",
                         description='Answer one command, e.g. mlops-bot ask "/mlops resource feature-store".')
    ask.add_argument("text", nargs="+", help="the command, with or without the leading /mlops")

    search = sub.add_parser("search", parents=[common], help="search the catalog (scriptable JSON)",
                            description="Search the catalog. JSON output: an array of objects with id, title, "
                                        "url, links, kind, score (one array per line with --stdin).")
    search.add_argument("query", nargs="*", help="search text, filters allowed (kind:paper level:beginner free)")
    search.add_argument("--stdin", action="store_true", help="read one query per line; print one JSON array per line")
    search.add_argument("--format", choices=("json", "text"), default="text")
    search.add_argument("--limit", type=_positive, default=5, help="results per query (default 5)")
    search.add_argument("--offset", type=_non_negative, default=0, help="skip this many results (paging)")

    validate = sub.add_parser("validate", parents=[common], help="check a catalog file and report every problem",
                              description="Validate a catalog: prints 'OK: N resources, M categories' or one "
                                          "'path:line: field: problem' line per problem and exits 1.")
    validate.add_argument("path", nargs="?", type=Path, help="catalog file (default: the one --catalog selects)")

    suggestions = sub.add_parser("suggestions", parents=[common], help="review members' suggestions",
                                 description="List, show, approve and reject members' suggestions, and read the "
                                             "audit log. The same rules and audit as in chat; you act as the "
                                             "operator.")
    sug = suggestions.add_subparsers(dest="suggestions_command", metavar="SUBCOMMAND", required=True)
    listing = sug.add_parser("list", parents=[common], help="every suggestion, or those in one state")
    listing.add_argument("--state", choices=("pending", "approved", "rejected"))
    listing.add_argument("--format", choices=("json", "text"), default="text")
    show = sug.add_parser("show", parents=[common], help="one suggestion in full, with its history")
    show.add_argument("number", type=_positive_int)
    show.add_argument("--format", choices=("json", "text"), default="text")
    approve = sug.add_parser("approve", parents=[common], help="approve a pending suggestion")
    approve.add_argument("number", type=_positive_int)
    approve.add_argument("--kind", help="its kind (default: the one proposed)")
    approve.add_argument("--category", help="its category (default: the one proposed)")
    reject = sug.add_parser("reject", parents=[common], help="reject a pending suggestion")
    reject.add_argument("number", type=_positive_int)
    reject.add_argument("--reason", required=True, help="why (the member is told)")
    log_ = sug.add_parser("log", parents=[common], help="the audit log: who did what, when, where")
    log_.add_argument("number", nargs="?", type=_positive_int, help="only this suggestion's entries")
    log_.add_argument("--format", choices=("json", "text"), default="text")

    stats = sub.add_parser("stats", parents=[common], help="what members looked for (never who asked)",
                           description="Top searches, searches that found nothing or little, the most shared "
                                       "resources, suggestions by state and digests sent.")
    stats.add_argument("--days", type=_positive_int, default=30, help="how many days back (default 30)")
    stats.add_argument("--format", choices=("json", "text"), default="text")

    digest = sub.add_parser("digest", parents=[common], help="the weekly digest's subscriptions",
                            description="The channels subscribed to the weekly digest, and a preview of one.")
    digest_sub = digest.add_subparsers(dest="digest_command", metavar="SUBCOMMAND", required=True)
    digest_list = digest_sub.add_parser("list", parents=[common],
                                        help="every subscription: next run (local and UTC), last post, last failure")
    digest_list.add_argument("--format", choices=("json", "text"), default="text")
    digest_list.add_argument("--all", action="store_true", help="also those unsubscribed")
    preview = digest_sub.add_parser("preview", parents=[common], help="the digest a channel would get now")
    preview.add_argument("--channel", help="a subscribed channel's id (default: a first digest)")
    preview.add_argument("--platform", choices=("slack", "discord", "console"))

    links = sub.add_parser("links", parents=[common], help="check the catalog's links",
                           description="Check every URL and link of the live catalog (the YAML and approved "
                                       "resources): HEAD, then GET; redirects followed and reported.")
    links_sub = links.add_subparsers(dest="links_command", metavar="SUBCOMMAND", required=True)
    check = links_sub.add_parser("check", parents=[common], help="check every link now; exit 1 if one is broken")
    check.add_argument("--concurrency", type=_positive, default=20, help="requests at once in all (default 20; "
                                                                        "at most 2 per host)")
    check.add_argument("--format", choices=("json", "text"), default="text")

    catalog = sub.add_parser("catalog", parents=[common], help="the catalog file",
                             description="Catalog helpers.")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)
    export = catalog_sub.add_parser("export", parents=[common], help="the catalog with approved resources merged in",
                                    description="Write the catalog file with the approved resources appended in "
                                                "its own format, every other line untouched (for a pull request).")
    export.add_argument("path", nargs="?", type=Path, help="where to write it (default: standard output)")

    db = sub.add_parser("db", parents=[common], help="the database", description="Database helpers.")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    db_sub.add_parser("upgrade", parents=[common], help="apply the schema migrations (also done at every start)")
    backup = db_sub.add_parser("backup", parents=[common], help="a consistent copy of a SQLite database, live",
                               description="Copy the SQLite database while the bot runs (SQLite's online backup). "
                                           "For PostgreSQL use pg_dump (see the README).")
    backup.add_argument("path", type=Path, help="the copy to write")

    discord = sub.add_parser("discord", parents=[common], help="Discord helpers",
                             description="Discord helpers.")
    discord_sub = discord.add_subparsers(dest="discord_command", metavar="SUBCOMMAND")
    discord_sub.add_parser("invite-url", parents=[common],
                           help="print the OAuth2 URL that adds the bot to a server",
                           description="Print the OAuth2 URL with the bot and applications.commands scopes "
                                       "and the least permissions the bot needs.")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return value


def _platforms(text: str) -> frozenset[str]:
    names = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = names - {"slack", "discord", "console"}
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected slack, discord or console, not {', '.join(sorted(unknown))}")
    return names


def _positive_int(text: str) -> int:
    from bot.core.text import ascii_int

    value = ascii_int(text.lstrip("#"))
    if value is None or value < 1:
        raise argparse.ArgumentTypeError("must be a number such as 12")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    from bot.plain_output import degrade_unencodable_output

    degrade_unencodable_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE

    from bot.errors import BotError, CatalogError

    try:
        if args.command in ("run", "discord"):
            if args.command == "run":
                _hold_early_reloads()
            settings = _settings(args)
            if args.command == "discord":
                return _discord(args, settings, parser)
            return _run(_service(settings.catalog, settings.command_name, settings), settings,
                        getattr(args, "only", None))
        # One-shot commands need only the catalog's location: they skip loading every setting
        # (pydantic-settings alone costs ~0.3 s of start-up).
        catalog = _catalog_setting(args)
        if args.command == "validate":
            return _validate(args.path or _catalog_path(catalog), sys.stdout)
        if args.command == "db":
            from bot.catalog_file import database_url_from_environment
            from bot.operator_cli import db_backup, db_upgrade

            if args.db_command == "backup":
                return db_backup(database_url_from_environment(), args.path, sys.stdout)
            return db_upgrade(database_url_from_environment(), sys.stdout)
        service = _service(catalog)
        if args.command in ("ask", "search") and _quick_overlay(service):
            # The approved resources are read; a search or a browse needs nothing more (no SQLAlchemy,
            # no migration check): the start-up a script waits for stays a tenth of a second.
            if args.command == "search":
                return _search(service, args, sys.stdin, sys.stdout)
            done = _ask_quickly(service, " ".join(args.text), sys.stdout)
            if done is not None:
                return done
        # Past the quick path, the community's rules matter (the digest's timezone and cohort, the limits).
        service.set_community(_settings(args).community())
        with _one_shot_app(service, needed=args.command in ("suggestions", "catalog", "stats", "digest",
                                                              "links")) as app:
            if args.command == "links":
                from bot.app.links_cli import run_links_check

                assert app is not None
                from bot.app.catalog_care import save_marks
                from bot.storage.links_repo import LinksRepo

                status = run_links_check(service, app.store, sys.stdout, concurrency=args.concurrency,
                                         fmt=args.format, is_tty=sys.stderr.isatty())
                save_marks(app.store, LinksRepo(app.store.engine, app.store.clock))
                return status
            if args.command == "digest":
                from bot.app.digest_cli import run_digest_list, run_digest_preview
                from bot.app.feeds import FeedReader

                assert app is not None
                if args.digest_command == "list":
                    return run_digest_list(app.store, sys.stdout, args.format, include_inactive=args.all)
                from bot.catalog_file import setting_from_environment

                fetch = (setting_from_environment("DIGEST_FEEDS") or "true").lower() not in ("0", "false", "no", "off")
                return run_digest_preview(service, app.store, sys.stdout, channel=args.channel,
                                          platform=args.platform, feeds=FeedReader() if fetch else None)
            if args.command == "stats":
                from bot.app.stats import print_stats
                from bot.storage.stats_repo import collect

                assert app is not None
                print_stats(collect(app.store.engine, service.clock(), args.days), sys.stdout, args.format)
                return EXIT_OK
            if args.command == "ask":
                return _ask(service, " ".join(args.text), sys.stdout)
            if args.command == "suggestions":
                from bot.operator_cli import suggestions_command

                assert app is not None
                return suggestions_command(args, app, sys.stdout)
            if args.command == "catalog":
                from bot.operator_cli import catalog_export

                assert app is not None
                return catalog_export(args.path, app, sys.stdout)
            return _search(service, args, sys.stdin, sys.stdout)
    except CatalogError as exc:
        print(f"Refusing to start: the catalog is invalid ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_ERROR
    except BotError as exc:
        print(_masked(f"mlops-bot: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mlops-bot ... | head`: the reader has gone; stop quietly, as other command-line tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


_EARLY_RELOADS: list[int] = []


def _hold_early_reloads() -> None:
    """SIGHUP's default action ends the process: until the event loop's handler is in place (the catalog
    loads first, seconds for a large one), a SIGHUP is noted, and served once the bot runs."""
    import signal

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: _EARLY_RELOADS.append(1))


def _masked(line: str) -> str:
    """The fatal line goes through the same masking as the logs: an error may quote a URL with a password
    in it, or an API answer that echoes the Authorization header."""
    import os

    from bot.redact import redact

    names = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DISCORD_TOKEN")
    return redact(line, [os.environ.get(name, "").strip() for name in names])


def _settings(args: argparse.Namespace) -> Settings:
    from bot.settings import load_settings

    overrides = {"catalog": args.catalog} if getattr(args, "catalog", None) else {}
    return load_settings(**overrides)


def _catalog_setting(args: argparse.Namespace) -> Path | None:
    from bot.catalog_file import catalog_from_environment

    return getattr(args, "catalog", None) or catalog_from_environment()


def _catalog_path(catalog: Path | None) -> Path:
    from bot.catalog_file import catalog_path

    return catalog_path(catalog)


def _service(catalog: Path | None, command_prefix: str = "/mlops", settings: Settings | None = None) -> BotService:
    from bot.service import BotService

    community = settings.community() if settings is not None else None
    if settings is not None:
        semantic = settings.semantic_search
    else:
        from bot.catalog_file import setting_from_environment

        semantic = (setting_from_environment("SEMANTIC_SEARCH") or "true").lower() not in ("0", "false", "no", "off")
    return BotService.from_file(_catalog_path(catalog), command_prefix=command_prefix, community=community,
                                semantic=semantic)


def _validate(path: Path, out: TextIO) -> int:
    from bot.core.catalog_loader import load_catalog
    from bot.errors import CatalogError

    try:
        catalog = load_catalog(path)
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        return EXIT_ERROR
    print(f"OK: {len(catalog)} resources, {len(catalog.categories)} categories", file=out)
    return EXIT_OK


@contextlib.contextmanager
def _one_shot_app(service: BotService, *, needed: bool) -> Iterator[App | None]:
    """The store and the features for a one-shot command, with the approved resources loaded, so that
    `ask` and `search` see what moderators approved. A database that cannot be opened fails the commands
    that need it; `ask` and `search` then answer from the catalog file alone, and say so."""
    import asyncio

    from bot.app.wiring import build_app, load_approved
    from bot.catalog_file import database_url_from_environment
    from bot.errors import BotError
    from bot.storage import open_store

    try:
        store = open_store(database_url_from_environment())
    except BotError as exc:
        if needed:
            raise
        print(_masked(f"mlops-bot: without approved resources ({exc})"), file=sys.stderr)
        yield None
        return
    try:
        app = build_app(service, store)
        asyncio.run(load_approved(app))
        yield app
    finally:
        store.close()


def _quick_overlay(service: BotService) -> bool:
    from bot.catalog_file import database_url_from_environment
    from bot.storage.quick_read import overlay

    found = overlay(database_url_from_environment())
    if found is None:
        return False
    approved, broken = found
    service.add_approved(approved)
    if broken:
        service.set_broken(broken)
    return True


def _ask_quickly(service: BotService, text: str, out: TextIO) -> int | None:
    """Answer a command the core answers alone; None when it needs the app layer (a suggestion, ...)."""
    from bot.adapters.console import render_text
    from bot.core.commands import parse
    from bot.core.reply import Reply

    outcome = service.outcome(parse(text), _operator_request(text))
    if not isinstance(outcome, Reply):
        return None
    out.write(render_text(outcome))
    return EXIT_OK


def _operator_request(text: str) -> Request:
    from bot.core.permissions import OPERATOR
    from bot.service import Request

    return Request(text, platform=OPERATOR.platform, user_id=OPERATOR.user_id, user_name=OPERATOR.name)


def _ask(service: BotService, text: str, out: TextIO) -> int:
    import asyncio

    from bot.adapters.console import render_text
    from bot.core.forms import Form

    outcome = asyncio.run(service.handle(_operator_request(text)))
    if isinstance(outcome, Form):
        fields = " ".join(f"<{f.name}>" for f in outcome.fields)
        out.write(f"{outcome.title}: give it on the command line, e.g. {text.strip()} {fields}\n")
        return EXIT_USAGE
    out.write(render_text(outcome))
    return EXIT_OK


def search_results(service: BotService, text: str, limit: int, offset: int = 0) -> list[dict]:
    """The JSON shape other tools rely on (DESIGN.md, "Interfaces")."""
    from bot.core.commands import QueryError, parse_query

    try:
        query = parse_query(text[:4000], {c.id for c in service.catalog.categories})
    except QueryError:
        return []
    if not query.text.strip() and not query.has_filters:
        return []
    page = service.search.search(query, limit=limit, offset=offset)
    return [
        {
            "id": r.id, "title": r.title, "url": r.url,
            "links": [{"label": link.label, "url": link.url} for link in r.links],
            "kind": r.kind, "category": r.category, "summary": r.summary, "tags": list(r.tags),
            "level": r.level, "cost": r.cost, "score": round(hit.score, 3),
        }
        for hit in page.hits
        for r in (hit.resource,)
    ]


def _search(service: BotService, args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    if args.stdin:
        if args.query:
            print("mlops-bot search: give a QUERY or --stdin, not both", file=sys.stderr)
            return EXIT_USAGE
        for line in stdin:
            # One line out per line in, even for a blank line, so that callers can zip them.
            print(json.dumps(search_results(service, line.strip(), args.limit, args.offset), ensure_ascii=False),
                  file=out, flush=True)
        return EXIT_OK
    text = " ".join(args.query).strip()
    if not text:
        print("mlops-bot search: give a QUERY (or --stdin)", file=sys.stderr)
        return EXIT_USAGE
    results = search_results(service, text, args.limit, args.offset)
    if args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=2), file=out)
    elif not results and args.offset and (found := len(search_results(service, text, 1000))):
        print(f"No results past --offset {args.offset}: {text!r} has {found} result{'s' if found != 1 else ''} "
              f"(try --offset {max(0, found - args.limit)}).", file=out)
    elif not results:
        print(f"No results for {text!r}.", file=out)
    else:
        for number, r in enumerate(results, args.offset + 1):
            print(f"{number:>3}. {r['title']} [{r['kind']}] {r['score']:.1f}\n     {r['url'] or '(no link)'}", file=out)
    return EXIT_OK


def _discord(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    if args.discord_command != "invite-url":
        parser.parse_args(["discord", "--help"])
        return EXIT_USAGE
    from bot.adapters.discord.invite import invite_url

    print(invite_url(settings))
    return EXIT_OK


def _run(service: BotService, settings: Settings, only: frozenset[str] | None = None) -> int:
    import asyncio
    import logging

    from bot.errors import BotError
    from bot.logging_setup import configure_logging
    from bot.runner import selected_platforms
    from bot.storage import open_store

    platforms = selected_platforms(settings, only)
    chat_only = platforms == ["console"]
    # In the console chat, routine INFO lines would interleave with the conversation.
    configure_logging(settings, quiet=chat_only)
    store = open_store(settings.database_url)
    try:
        from bot.app.feeds import FeedReader
        from bot.app.wiring import build_app, load_approved

        feeds = FeedReader() if settings.digest_feeds else None
        app = build_app(service, store, review_channels={"slack": settings.slack_review_channel or "",
                                                         "discord": settings.discord_review_channel or ""},
                        query_log_days=settings.query_log_days, digest_grace=settings.digest_grace, feeds=feeds)
        if chat_only:
            import signal

            from bot.adapters.console import run_console

            if hasattr(signal, "SIGHUP"):  # a closed terminal ends the chat, as usual
                signal.signal(signal.SIGHUP, signal.SIG_DFL)
            from bot.adapters.console_poster import ConsolePoster

            loop = asyncio.new_event_loop()
            if app.query_log is not None:
                app.query_log.autoflush = True
            app.posters.add(ConsolePoster(sys.stdout))  # `/mlops digest now` posts into the chat
            try:
                loop.run_until_complete(load_approved(app))
                return run_console(service, history=Path.home() / ".mlops_bot_history", loop=loop)
            finally:
                if app.query_log is not None:
                    app.query_log.flush_sync()
                if feeds is not None:
                    loop.run_until_complete(feeds.close())
                loop.close()

        try:
            asyncio.run(_serve_platforms(app, settings, platforms))
        except BotError:
            raise
        except Exception:
            # A bug, ours or an SDK's. Logged rather than left to Python's default hook, so that the
            # traceback goes through the formatter that masks secrets (an exception may quote a token).
            logging.getLogger("bot").exception("mlops-bot stopped on an unexpected error")
            return EXIT_ERROR
    finally:
        store.close()
    return EXIT_OK


async def _serve_platforms(app: App, settings: Settings, platforms: list[str]) -> None:
    import asyncio
    import datetime as dt

    from bot import metrics
    from bot.app.wiring import background, load_approved
    from bot.jobs import start_jobs
    from bot.runner import PlatformAdapter, configured_adapters, serve
    from bot.service import enable_metrics

    enable_metrics()
    service, store = app.service, app.store
    await load_approved(app)
    metrics.set_catalog_size(len(service.catalog))
    # The model and the vectors load beside the platforms' start: the first question does not wait for them.
    preloading = asyncio.ensure_future(asyncio.to_thread(service.preload_semantic))
    # One scheduler per process: housekeeping and the digest tick (the database says what is due).
    tick = dt.timedelta(seconds=settings.digest_tick_seconds)
    link_check = (settings.link_check_day, app.care.weekly) if settings.link_check_day and app.care else None
    jobs = start_jobs(store, digest=app.digest, tick_every=tick, first_tick_after=min(tick, dt.timedelta(seconds=15)),
                      link_check=link_check)
    if _EARLY_RELOADS:
        _EARLY_RELOADS.clear()
        asyncio.get_running_loop().create_task(service.reload_async())

    def started(adapters: list[PlatformAdapter]) -> None:
        for adapter in adapters:  # each platform's poster, for review posts, DMs and digests
            poster = getattr(adapter, "poster", None)
            if poster is not None:
                app.posters.add(poster)

    try:
        await serve(configured_adapters(service, settings, store, platforms), on_reload=service.reload_async,
                    health_address=(settings.host, settings.port), on_started=started, background=background(app))
    finally:
        await jobs.stop()  # a running job finishes before the store closes
        await preloading
        if app.digest is not None:
            await app.digest.close()
        if app.digest is not None and app.digest.feeds is not None:
            await app.digest.feeds.close()


if __name__ == "__main__":
    sys.exit(main())
