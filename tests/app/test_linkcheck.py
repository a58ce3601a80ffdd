"""The link checker against real HTTP on 127.0.0.1: every answer a link may give, retries, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from bot.app.linkcheck import BROKEN, OK, REDIRECTED, UNREACHABLE, LinkChecker, LinkTarget, Use, targets
from bot.core.catalog import Catalog, Category, Link, Resource
from tests.app.link_server import LinkServer, local_session, serving

NOW = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)


class Sleeps:
    """The checker's sleep: records what it was asked to wait, and waits no time at all."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[LinkServer]:
    async with serving() as state:
        yield state


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def checker(sleeps: Sleeps) -> AsyncIterator[LinkChecker]:
    async with local_session() as session:
        yield LinkChecker(session, timeout=0.5, clock=lambda: NOW, sleep=sleeps)


async def one(checker: LinkChecker, url: str):  # type: ignore[no-untyped-def]
    [result] = await checker.check([url])
    return result


async def test_a_page_that_answers_200_is_ok_after_one_head(server, checker):
    result = await one(checker, server.url("/ok"))
    assert (result.outcome, result.http_status, result.final_url, result.error) == (OK, 200, None, None)
    assert server.methods == [("HEAD", "/ok")]
    assert result.checked_at == NOW


@pytest.mark.parametrize("path", ["/moved", "/moved-308"])
async def test_a_permanent_redirect_gives_the_new_address_to_use(server, checker, path):
    result = await one(checker, server.url(path))
    assert result.outcome == REDIRECTED
    assert result.final_url == server.url("/ok") and result.permanent
    assert [h.status for h in result.hops] == [301 if path == "/moved" else 308]


async def test_a_temporary_redirect_anywhere_in_the_chain_is_not_permanent(server, checker):
    found = await one(checker, server.url("/found"))
    mixed = await one(checker, server.url("/moved-then-found"))
    assert (found.outcome, found.permanent) == (REDIRECTED, False)
    assert (mixed.outcome, mixed.permanent, mixed.final_url) == (REDIRECTED, False, server.url("/ok"))
    assert [h.status for h in mixed.hops] == [301, 302]


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/gone", 410), ("/teapot", 418)])
async def test_a_client_error_is_broken(server, checker, path, status):
    result = await one(checker, server.url(path))
    assert (result.outcome, result.http_status) == (BROKEN, status)


async def test_a_client_error_on_head_is_asked_again_with_get_before_it_counts(server, checker):
    await one(checker, server.url("/missing"))
    assert server.methods == [("HEAD", "/missing"), ("GET", "/missing")]


async def test_a_redirect_to_a_page_that_is_gone_is_broken_and_says_where_it_ended(server, checker):
    result = await one(checker, server.url("/moved-to-missing"))
    assert (result.outcome, result.http_status, result.final_url) == (BROKEN, 404, server.url("/missing"))


async def test_head_refused_with_405_is_checked_with_get_and_the_host_is_asked_with_get_from_then_on(
        server, checker):
    first = await one(checker, server.url("/no-head"))
    assert (first.outcome, first.http_status) == (OK, 200)
    assert server.methods == [("HEAD", "/no-head"), ("GET", "/no-head")]
    checker_results = await checker.check([server.url("/ok")])
    assert checker_results[0].outcome == OK
    # A new check() starts afresh (the catalog may have changed hosts); within one run GET is remembered.
    server.methods.clear()
    results = await checker.check([server.url("/no-head"), server.url("/ok")])
    assert [r.outcome for r in results] == [OK, OK]


async def test_a_get_reads_only_the_start_of_a_body(server, checker):
    result = await one(checker, server.url("/big"))
    assert result.outcome == OK
    await asyncio.sleep(0.2)  # the server notices the hang-up
    assert server.streamed < 16 * 2**20  # socket buffers' worth, not the 128 MB on offer


async def test_429_is_retried_after_the_retry_after_seconds(server, checker, sleeps):
    result = await one(checker, server.url("/busy?after=7"))
    assert (result.outcome, result.http_status) == (OK, 200)
    assert server.hits["/busy"] == 3
    assert sleeps.asked == [7.0, 7.0]


async def test_a_retry_after_date_is_waited_until_and_a_long_one_is_capped(server, checker, sleeps):
    soon = quote(email.utils.format_datetime(NOW + dt.timedelta(seconds=30), usegmt=True))
    assert (await one(checker, server.url(f"/busy?after={soon}"))).outcome == OK
    assert sleeps.asked == [30.0, 30.0]
    server.hits.clear()
    sleeps.asked.clear()
    assert (await one(checker, server.url("/busy?after=86400"))).outcome == OK
    assert sleeps.asked == [checker.max_retry_after] * 2


async def test_429_every_time_is_unreachable_not_broken(server, checker, sleeps):
    result = await one(checker, server.url("/always-429"))
    assert (result.outcome, result.http_status) == (UNREACHABLE, 429)
    assert server.hits["/always-429"] == 1 + checker.retries
    assert "rate limited" in result.error


async def test_a_500_then_200_is_ok(server, checker):
    result = await one(checker, server.url("/flaky"))
    assert (result.outcome, result.http_status) == (OK, 200)


async def test_5xx_is_retried_with_doubling_backoff(server, checker, sleeps):
    result = await one(checker, server.url("/fails-twice"))
    assert result.outcome == OK
    # HEAD 503 is a GET at once (servers that fail HEAD); then GET 503 twice, each after a longer wait.
    assert server.methods == [("HEAD", "/fails-twice"), ("GET", "/fails-twice"), ("GET", "/fails-twice")]
    assert sleeps.asked == [1.0]


async def test_5xx_after_every_retry_is_broken(server, checker, sleeps):
    result = await one(checker, server.url("/down"))
    assert (result.outcome, result.http_status) == (BROKEN, 500)
    assert sleeps.asked == [1.0, 2.0, 4.0]
    assert result.requests == 1 + 1 + checker.retries  # HEAD, then GET and its retries
    assert "4 attempts" in result.error


async def test_an_answer_slower_than_the_timeout_is_unreachable(server, checker):
    checker.timeout = 0.2
    started = asyncio.get_running_loop().time()
    result = await one(checker, server.url("/slow"))
    assert (result.outcome, result.http_status) == (UNREACHABLE, None)
    assert "0.2 s" in result.error
    assert asyncio.get_running_loop().time() - started < 1.5  # not retried: one timeout, not four


async def test_a_reset_connection_is_unreachable(server, checker):
    result = await one(checker, server.url("/reset"))
    assert result.outcome == UNREACHABLE
    assert result.error


async def test_a_refused_connection_and_an_unknown_host_are_unreachable(server, checker):
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        refused = await one(checker, f"http://127.0.0.1:{port}/")
    unknown = await one(checker, server.url("/ok", host="nowhere.invalid"))
    assert refused.outcome == unknown.outcome == UNREACHABLE
    assert "refused" in refused.error
    assert "DNS" in unknown.error


async def test_a_redirect_loop_is_broken(server, checker):
    result = await one(checker, server.url("/loop/a"))
    assert result.outcome == BROKEN
    assert "loop" in result.error
    assert server.hits["/loop/a"] + server.hits["/loop/b"] == 2


async def test_more_than_five_redirects_is_broken_and_five_are_followed(server, checker):
    five = await one(checker, server.url("/hop/5"))
    six = await one(checker, server.url("/hop/6"))
    assert (five.outcome, len(five.hops)) == (REDIRECTED, 5)
    assert six.outcome == BROKEN and "more than 5 redirects" in six.error


@pytest.mark.parametrize("path", ["/to-ftp", "/to-js"])
async def test_a_redirect_to_a_url_that_is_not_http_is_broken_and_never_followed(server, checker, path):
    result = await one(checker, server.url(path))
    assert result.outcome == BROKEN
    assert "not an http(s) URL" in result.error
    assert sum(server.hits.values()) == 1


async def test_a_redirect_without_location_is_broken(server, checker):
    result = await one(checker, server.url("/no-location"))
    assert (result.outcome, result.http_status) == (BROKEN, 302)


async def test_never_more_than_two_requests_at_once_to_one_host(server, sleeps):
    urls = [server.url(f"/wait?s=0.05&n={i}", host=f"{h}.test") for h in "abc" for i in range(8)]
    async with local_session() as session:
        results = await LinkChecker(session, concurrency=20, per_host=2, sleep=sleeps).check(urls)
    assert all(r.outcome == OK for r in results)
    assert set(server.peak) == {f"{h}.test:{server.port}" for h in "abc"}
    assert max(server.peak.values()) == 2  # the limit, and reached: the hosts were checked in parallel
    assert server.total_peak == 6


async def test_never_more_than_the_global_concurrency_at_once(server, sleeps):
    urls = [server.url(f"/wait?s=0.05&n={i}", host=f"h{h}.test") for h in range(6) for i in range(4)]
    async with local_session() as session:
        await LinkChecker(session, concurrency=3, per_host=2, sleep=sleeps).check(urls)
    assert server.total_peak == 3
    assert max(server.peak.values()) <= 2


async def test_a_429_pauses_the_hosts_other_links_too(server, checker, sleeps):
    checker.per_host = 1
    await checker.check([server.url("/busy?after=9"), server.url("/ok")])
    # /ok waited behind /busy's pause: a server that said "slow down" is not asked about its next page.
    assert sleeps.asked.count(9.0) >= 2


async def test_results_come_in_the_order_of_the_targets_with_progress_for_each(server, checker):
    seen = []
    urls = [server.url(p) for p in ("/missing", "/ok", "/moved", "/slow")]
    results = await checker.check(urls, progress=lambda r, done, total: seen.append((r.url, done, total)))
    assert [r.url for r in results] == urls
    assert sorted(done for _, done, _ in seen) == [1, 2, 3, 4]
    assert {total for _, _, total in seen} == {4}


async def test_one_url_used_by_two_resources_is_asked_once_and_reported_for_each(server, checker):
    a = LinkTarget(server.url("/ok"), "a", True)
    b = LinkTarget(server.url("/ok/"), "b", False)
    results = await checker.check([a, b])
    assert server.hits["/ok"] + server.hits["/ok/"] == 1
    assert [(r.target.resource_id, r.outcome) for r in results] == [("a", OK), ("b", OK)]


def resource(rid: str, url: str | None, *links: str) -> Resource:
    return Resource(rid, rid.title(), "tool", "tools", "x", url=url,
                    links=tuple(Link(f"l{i}", u) for i, u in enumerate(links)))


def test_targets_are_every_url_and_link_once_with_every_resource_that_uses_it():
    catalog = Catalog((
        resource("mlflow", "https://mlflow.org/", "https://github.com/mlflow/mlflow"),
        resource("mlflow-examples", "https://github.com/mlflow/mlflow/?utm_source=x", "https://mlflow.org"),
        resource("self", "https://self.example.org/", "https://self.example.org"),
        resource("no-main", None, "https://only-links.example.org/"),
    ), (Category("tools", "Tools", "s"),))
    found = {t.url: t.uses for t in targets(catalog)}
    assert found == {
        "https://mlflow.org/": (Use("mlflow", True), Use("mlflow-examples", False)),
        "https://github.com/mlflow/mlflow": (Use("mlflow-examples", True), Use("mlflow", False)),
        "https://self.example.org/": (Use("self", True),),
        "https://only-links.example.org/": (Use("no-main", False),),
    }


def test_the_bundled_catalog_gives_one_target_per_distinct_url(catalog):
    from bot.core.urls import normalize_url

    found = targets(catalog)
    keys = {normalize_url(u) for r in catalog for u in r.all_urls}
    assert len(found) == len(keys)
    assert {t.key for t in found} == keys
    mains = {u.resource_id for t in found for u in t.uses if u.main}
    assert mains == {r.id for r in catalog if r.url}


async def test_a_freed_slot_goes_to_the_host_with_the_most_links_left(server, sleeps):
    many = [server.url(f"/ok?n={i}", host="big.test") for i in range(6)]
    one_link = server.url("/ok?n=small", host="small.test")
    async with local_session() as session:
        await LinkChecker(session, concurrency=1, per_host=2, sleep=sleeps).check([*many, one_link])
    # First come, first served would ask small.test second; it waits while big.test has more left than it.
    assert server.order.index("small.test") >= 5
    assert server.total_peak == 1
