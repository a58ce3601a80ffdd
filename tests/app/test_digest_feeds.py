"""The digest with real feeds over HTTP on 127.0.0.1: the latest episode shown, fetched once per tick for
every channel, and a failing feed costing only its line (the static pick stays)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from aiohttp import web

from bot.app.feeds import FeedReader
from bot.core.catalog_loader import load_catalog
from tests.app.digest_fixtures import (  # noqa: F401 (fixtures)
    MONDAY,
    bot_service,
    clock_fixture,
    digest_service,
    poster_fixture,
    slack,
    store_fixture,
)

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Cast</title><link>https://cast.example.org/</link><description>x</description>
<item><title>Episode 300: feature stores</title><link>https://cast.example.org/300</link>
  <pubDate>Thu, 26 Feb 2026 12:00:00 +0000</pubDate></item>
</channel></rss>"""

CATALOG = """
version: 1
sections:
  - {{id: s, title: S}}
categories:
  - {{id: podcasts, title: Podcasts, section: s}}
resources:
  - id: the-cast
    title: The Cast
    kind: podcast
    category: podcasts
    url: https://cast.example.org/
    summary: Weekly MLOps talk
    feed: {feed}
"""


@pytest.fixture
async def feed_server():
    hits: Counter[str] = Counter()

    async def good(request):
        hits["good"] += 1
        return web.Response(body=RSS, content_type="application/rss+xml")

    async def broken(request):
        hits["broken"] += 1
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/good.xml", good)
    app.router.add_get("/broken.xml", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", hits
    await runner.cleanup()


async def post_to_channels(write_catalog, store, poster, clock, feed_url, channels=("C1",)):
    catalog = load_catalog(write_catalog(CATALOG.format(feed=feed_url)))
    bot = bot_service(catalog, clock)
    async with FeedReader() as reader:
        digest = digest_service(bot, store, poster, clock, feeds=reader)
        for channel in channels:
            await bot.handle(slack("digest subscribe", channel=channel))
        clock.set(MONDAY + dt.timedelta(seconds=2))
        result = await digest.run_due()
    assert result.posted == len(channels)
    return [sent.reply.items[0] for sent in poster.sent]


async def test_the_podcast_of_the_week_shows_its_latest_episode(write_catalog, store, poster, clock, feed_server):
    base, _ = feed_server
    [item] = await post_to_channels(write_catalog, store, poster, clock, f"{base}/good.xml")
    assert "Latest: Episode 300: feature stores (26 Feb 2026)" in item.summary
    assert item.links[0].url == "https://cast.example.org/300"


async def test_the_feeds_are_fetched_once_per_tick_for_every_channel(write_catalog, store, poster, clock,
                                                                      feed_server):
    base, hits = feed_server
    items = await post_to_channels(write_catalog, store, poster, clock, f"{base}/good.xml",
                                   channels=tuple(f"C{n}" for n in range(8)))
    assert len(items) == 8 and all("Episode 300" in i.summary for i in items)
    assert hits["good"] == 1


async def test_a_failing_feed_leaves_the_static_pick(write_catalog, store, poster, clock, feed_server):
    base, hits = feed_server
    [item] = await post_to_channels(write_catalog, store, poster, clock, f"{base}/broken.xml")
    assert item.title == "The Cast" and item.summary == "Weekly MLOps talk"
    assert hits["broken"] == 1
