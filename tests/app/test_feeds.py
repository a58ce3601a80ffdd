"""The feed reader against real HTTP on 127.0.0.1: feeds, slow and huge answers, redirects, errors, quiet logs."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from bot.app.feeds import FeedReader, newest_entry
from bot.core.digest.feed_item import FeedItem

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Practical AI</title><link>https://changelog.com/practicalai</link>
<description>x</description>
<item><title>Episode 299</title><link>https://changelog.com/practicalai/299</link>
  <pubDate>Thu, 26 Nov 2026 17:00:00 +0000</pubDate></item>
<item><title>Episode 300: caf\xc3\xa9 &amp; models</title><link>https://changelog.com/practicalai/300</link>
  <pubDate>Thu, 03 Dec 2026 12:00:00 -0500</pubDate></item>
<item><title>Episode 298</title><link>https://changelog.com/practicalai/298</link>
  <pubDate>Thu, 19 Nov 2026 17:00:00 +0000</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>MLOps weekly</title><id>urn:x</id>
<updated>2026-12-01T08:00:00Z</updated>
<entry><title>Issue 41</title><id>urn:41</id><link href="https://news.example.org/41"/>
  <updated>2026-11-24T08:00:00Z</updated></entry>
<entry><title>Issue 42</title><id>urn:42</id><link href="/42"/><updated>2026-12-01T08:00:00Z</updated></entry>
</feed>"""

UNDATED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://u.example.org/</link>
<description>d</description><item><title>First</title><link>https://u.example.org/1</link></item>
<item><title>Second</title><link>https://u.example.org/2</link></item></channel></rss>"""

HTML = b"<!doctype html><html><head><title>Not a feed</title></head><body><p>Hello</p></body></html>"
CAP = 10_000


@dataclass
class FeedServer:
    base: str
    hits: Counter[str] = field(default_factory=Counter)
    flaky: str = "500"  # what /flaky answers: "500", "html" or "ok"
    streamed: int = 0  # bytes the endless answer wrote before the reader hung up

    def url(self, path: str) -> str:
        return self.base + path


def feed(body: bytes, kind: str = "application/rss+xml") -> web.Response:
    return web.Response(body=body, headers={"Content-Type": kind})


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    state = FeedServer("")

    def answer(make: Callable[[], web.StreamResponse]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            state.hits[request.path] += 1
            return make()
        return handler

    def redirect(location: Callable[[], str | None], status: int = 302) -> Callable[
            [web.Request], Awaitable[web.StreamResponse]]:
        def make() -> web.Response:
            target = location()
            return web.Response(status=status, headers={"Location": target} if target is not None else {})
        return answer(make)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return feed(RSS)

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for byte in RSS:  # headers at once, then a byte every 50 ms: each read is quick, the whole is not
            await response.write(bytes([byte]))
            await asyncio.sleep(0.05)
        return response

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<item>" + b"x" * 16_000 + b"</item>"
        try:
            while state.streamed < 200_000_000:  # a bound, so a reader that never stops fails instead of hanging
                await response.write(chunk)
                state.streamed += len(chunk)
        except ConnectionError:  # the reader hung up, as it should
            pass
        return response

    def flaky() -> web.Response:
        if state.flaky == "ok":
            return feed(RSS)
        return feed(HTML, "text/html") if state.flaky == "html" else web.Response(status=500)

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return feed(RSS)
        raise web.HTTPFound(f"/hop/{left - 1}")

    app = web.Application()
    for path, make in {
        "/rss": lambda: feed(RSS),
        "/atom": lambda: feed(ATOM, "application/atom+xml"),
        "/undated": lambda: feed(UNDATED),
        "/html": lambda: feed(HTML, "text/html"),
        "/empty": lambda: feed(b""),
        "/big": lambda: feed(RSS + b"<!--" + b"x" * (CAP * 5) + b"-->"),
        "/500": lambda: web.Response(status=500),
        "/404": lambda: web.Response(status=404),
        "/flaky": flaky,
    }.items():
        app.router.add_get(path, answer(make))
    for path, target in {
        "/to-relative": "/atom",
        "/to-ftp": "ftp://files.example.org/feed.xml",
        "/to-file": "file:///etc/passwd",
        "/to-javascript": "javascript:alert(1)",
        "/to-nonsense": "http://",
        "/to-nowhere": None,
    }.items():
        app.router.add_get(path, redirect(lambda target=target: target))
    app.router.add_get("/to-absolute", redirect(lambda: state.url("/rss"), 301))
    app.router.add_get("/slow", slow)
    app.router.add_get("/trickle", trickle)
    app.router.add_get("/endless", endless)
    app.router.add_get("/hop/{left}", hop)
    runner = web.AppRunner(app, shutdown_timeout=0.1)  # the slow handler is not waited for
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.base = f"http://{host}:{port}"
    yield state
    await runner.cleanup()


@pytest.fixture
async def reader() -> AsyncIterator[FeedReader]:
    async with FeedReader(timeout=0.5, max_bytes=CAP) as reader:
        yield reader


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


EPISODE_300 = FeedItem("Episode 300: café & models", "https://changelog.com/practicalai/300",
                       datetime(2026, 12, 3, 17, tzinfo=UTC))


async def test_an_rss_feed_gives_its_newest_item_by_date_not_by_position(server, reader):
    assert await reader.latest([server.url("/rss")]) == {server.url("/rss"): EPISODE_300}


async def test_an_atom_feed_gives_its_newest_entry_with_relative_links_made_absolute(server, reader):
    item = (await reader.latest([server.url("/atom")]))[server.url("/atom")]
    assert item == FeedItem("Issue 42", server.url("/42"), datetime(2026, 12, 1, 8, tzinfo=UTC))


async def test_a_feed_without_dates_gives_its_first_entry(server, reader):
    item = (await reader.latest([server.url("/undated")]))[server.url("/undated")]
    assert item == FeedItem("First", "https://u.example.org/1", None)


async def test_each_distinct_feed_is_fetched_once_and_all_are_answered(server, reader):
    urls = [server.url("/rss"), server.url("/atom"), server.url("/rss"), server.url("/500"), server.url("/rss")]
    found = await reader.latest(urls)
    assert set(found) == {server.url("/rss"), server.url("/atom"), server.url("/500")}
    assert found[server.url("/500")] is None and found[server.url("/rss")] == EPISODE_300
    assert server.hits == Counter({"/rss": 1, "/atom": 1, "/500": 1})


@pytest.mark.parametrize("path", ["/html", "/empty", "/500", "/404", "/big", "/slow", "/trickle", "/to-ftp",
                                  "/to-file", "/to-javascript", "/to-nonsense", "/to-nowhere", "/hop/6"])
async def test_a_feed_that_fails_in_any_way_gives_none(server, reader, path):
    assert await reader.latest([server.url(path)]) == {server.url(path): None}


@pytest.mark.parametrize(("path", "reason"), [
    ("/html", "not a feed"), ("/500", "HTTP 500"), ("/big", "too big"), ("/slow", "timed out"),
    ("/trickle", "timed out"), ("/to-javascript", "bad redirect"), ("/to-file", "bad redirect"),
    ("/to-nowhere", "bad redirect"), ("/hop/6", "too many redirects"),
])
async def test_the_log_says_why_a_feed_failed(server, reader, caplog, path, reason):
    with caplog.at_level(logging.WARNING, "bot.app.feeds"):
        await reader.latest([server.url(path)])
    assert [r.getMessage() for r in caplog.records if reason in r.getMessage() and path in r.getMessage()]


async def test_a_slow_feed_costs_the_timeout_not_its_whole_answer(server, reader):
    loop = asyncio.get_running_loop()
    started = loop.time()
    found = await reader.latest([server.url("/slow"), server.url("/trickle"), server.url("/rss")])
    assert loop.time() - started < 2
    assert found[server.url("/rss")] == EPISODE_300


async def test_an_endless_body_is_read_only_up_to_the_cap(server, reader):
    assert await reader.latest([server.url("/endless")]) == {server.url("/endless"): None}
    # The server can write a few MB into loopback's socket buffers before it notices; a reader that kept
    # reading would take all 200 MB.
    assert server.streamed < 32_000_000


async def test_redirects_are_followed_to_http_urls_relative_or_absolute(server, reader):
    found = await reader.latest([server.url("/to-relative"), server.url("/to-absolute")])
    assert found[server.url("/to-absolute")] == EPISODE_300
    assert found[server.url("/to-relative")].title == "Issue 42"


async def test_five_redirects_are_followed_and_a_sixth_is_refused(server, reader):
    found = await reader.latest([server.url("/hop/5"), server.url("/hop/6")])
    assert found == {server.url("/hop/5"): EPISODE_300, server.url("/hop/6"): None}


async def test_a_refused_connection_or_a_url_that_is_not_http_gives_none(reader, caplog):
    refused = f"http://127.0.0.1:{closed_port()}/feed"
    with caplog.at_level(logging.WARNING, "bot.app.feeds"):
        found = await reader.latest([refused, "file:///etc/passwd", "javascript:alert(1)"])
    assert found == {refused: None, "file:///etc/passwd": None, "javascript:alert(1)": None}
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "could not connect" in messages and "not an http(s) URL" in messages


async def test_a_failing_feed_is_logged_once_per_reason_until_it_works_again(server, reader, caplog):
    flaky = server.url("/flaky")
    with caplog.at_level(logging.INFO, "bot.app.feeds"):
        for _ in range(3):  # three ticks, one failure
            assert await reader.latest([flaky]) == {flaky: None}
        assert [r.levelno for r in caplog.records] == [logging.WARNING]
        server.flaky = "ok"
        assert (await reader.latest([flaky]))[flaky] == EPISODE_300
        assert "works again" in caplog.records[-1].getMessage()
        server.flaky = "500"
        await reader.latest([flaky])
        await reader.latest([flaky])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("HTTP 500" in r.getMessage() for r in warnings)


async def test_a_new_reason_for_the_same_feed_is_logged_too(server, reader, caplog):
    flaky = server.url("/flaky")
    with caplog.at_level(logging.WARNING, "bot.app.feeds"):
        for mode in ("500", "html", "500", "html"):
            server.flaky = mode
            assert await reader.latest([flaky]) == {flaky: None}
    assert [("HTTP 500" in r.getMessage(), "not a feed" in r.getMessage()) for r in caplog.records] == [
        (True, False), (False, True)]


async def test_a_session_passed_in_is_used_and_left_open(server):
    async with aiohttp.ClientSession() as session:
        reader = FeedReader(session, timeout=1)
        assert (await reader.latest([server.url("/rss")]))[server.url("/rss")] == EPISODE_300
        await reader.close()
        assert not session.closed


def test_bytes_that_look_like_a_path_or_url_are_parsed_never_opened_or_fetched(tmp_path):
    secret = tmp_path / "feed.xml"
    secret.write_bytes(RSS)
    for body in (str(secret).encode(), b"https://changelog.com/practicalai/feed"):
        with pytest.raises(Exception, match=r"not a feed|no entries"):
            newest_entry(body, "https://example.org/feed", {})


@pytest.fixture
async def https_feed(tmp_path) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """An RSS feed over TLS on 127.0.0.1, with a throwaway certificate, and a client context trusting it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the TLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    async def rss(request: web.Request) -> web.Response:
        return feed(RSS)

    app = web.Application()
    app.router.add_get("/rss", rss)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_side)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"https://{host}:{port}/rss", ssl.create_default_context(cafile=str(cert))
    await runner.cleanup()


async def test_a_redirect_from_http_to_https_is_followed(https_feed):
    target, trust = https_feed

    async def to_https(request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": target})

    app = web.Application()
    app.router.add_get("/feed", to_https)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as session:
            found = await FeedReader(session, timeout=2).latest([f"http://{host}:{port}/feed"])
    finally:
        await runner.cleanup()
    assert found == {f"http://{host}:{port}/feed": EPISODE_300}
