"""The numbers curators look at: what members searched for (and did not find), what they shared, how
suggestions and digests are going. Read-only queries over the query log, suggestions and digest posts."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.stats_commands import Stats
from bot.errors import StorageError
from bot.storage.schema import digest_posts, query_log, suggestions

TOP = 10
WEAK = 2  # a search that found this many or fewer was not much help


def collect(engine: Engine, now: dt.datetime, days: int) -> Stats:
    since = now - dt.timedelta(days=days)
    recent = query_log.c.at >= since
    searched = (query_log.c.command == "resource") & (query_log.c.query != "")
    try:
        with engine.connect() as conn:
            commands = dict(conn.execute(select(query_log.c.command, func.count()).where(recent)
                                         .group_by(query_log.c.command)).all())
            top = [(q, n, float(avg or 0)) for q, n, avg in conn.execute(
                select(query_log.c.query, func.count(), func.avg(query_log.c.results)).where(recent, searched)
                .group_by(query_log.c.query).order_by(func.count().desc(), query_log.c.query).limit(TOP))]

            def failing(condition: object) -> list[tuple[str, int]]:
                return [(q, n) for q, n in conn.execute(
                    select(query_log.c.query, func.count()).where(recent, searched, condition)
                    .group_by(query_log.c.query).order_by(func.count().desc(), query_log.c.query).limit(TOP))]

            none = failing(query_log.c.results == 0)
            weak = failing((query_log.c.results > 0) & (query_log.c.results <= WEAK))
            shared: Counter[str] = Counter()
            for (ids,) in conn.execute(select(query_log.c.resource_ids).where(recent, query_log.c.command == "share")):
                shared.update(i for i in (ids or "").split(",") if i)
            states = dict(conn.execute(select(suggestions.c.state, func.count()).group_by(suggestions.c.state)).all())
            digests = conn.execute(select(func.count()).select_from(digest_posts).where(
                digest_posts.c.state == "posted", digest_posts.c.posted_at >= since)).scalar_one()
    except SQLAlchemyError as exc:
        raise StorageError(f"reading the stats failed: {exc.__class__.__name__}") from exc
    return Stats(days=days, searches=commands.get("resource", 0), commands=commands, top_queries=top,
                 no_results=none, weak_results=weak, most_shared=shared.most_common(TOP),
                 suggestions=states, digests_sent=int(digests))
