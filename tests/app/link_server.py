"""A local web server for the link checker: every answer a catalog link may give, on 127.0.0.1.

Several hosts are simulated by names that `LocalResolver` resolves to 127.0.0.1 (`a.test`, `b.test`, ...):
the server tells them apart by the Host header, and counts the requests in flight per host and in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

SLOW_S = 2.0  # what /slow takes: longer than any test's checker timeout


class LocalResolver(AbstractResolver):
    """Every name is 127.0.0.1, so that `http://a.test:PORT/` and `http://b.test:PORT/` are two hosts."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        if host.endswith(".invalid"):  # RFC 6761: a name that never resolves
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


def local_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=LocalResolver()),
                                 cookie_jar=aiohttp.DummyCookieJar())


@dataclass
class LinkServer:
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)  # path -> requests
    methods: list[tuple[str, str]] = field(default_factory=list)  # (method, path) in order
    order: list[str] = field(default_factory=list)  # host names asked, in order
    in_flight: Counter[str] = field(default_factory=Counter)  # host:port -> requests being answered
    peak: Counter[str] = field(default_factory=Counter)  # host:port -> most at once
    total_in_flight: int = 0
    total_peak: int = 0
    streamed: int = 0  # bytes /big wrote before the client hung up

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def make_app(state: LinkServer) -> web.Application:
    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        host = request.host
        state.hits[request.path] += 1
        state.methods.append((request.method, request.path))
        state.order.append(request.host.split(":")[0])
        state.in_flight[host] += 1
        state.total_in_flight += 1
        state.peak[host] = max(state.peak[host], state.in_flight[host])
        state.total_peak = max(state.total_peak, state.total_in_flight)
        try:
            return await handler(request)
        finally:
            state.in_flight[host] -= 1
            state.total_in_flight -= 1

    def status(code: int, **headers: str):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=code, headers=headers)
        return handler

    def redirect(code: int, to: str):  # type: ignore[no-untyped-def]
        return status(code, Location=to)

    async def flaky(request: web.Request) -> web.Response:
        return web.Response(status=500 if state.hits[request.path] == 1 else 200)

    async def fails_twice(request: web.Request) -> web.Response:
        return web.Response(status=503 if state.hits[request.path] <= 2 else 200)

    async def busy(request: web.Request) -> web.Response:
        if state.hits[request.path] <= 2:
            return web.Response(status=429, headers={"Retry-After": request.query.get("after", "7")})
        return web.Response(status=200)

    async def no_head(request: web.Request) -> web.Response:
        return web.Response(status=405 if request.method == "HEAD" else 200, text="hello")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_S)
        return web.Response(status=200)

    async def wait(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "0.05")))
        return web.Response(status=200)

    async def reset(request: web.Request) -> web.Response:
        # SO_LINGER 0 then close: the peer gets a TCP reset instead of an answer.
        sock = request.transport.get_extra_info("socket")  # type: ignore[union-attr]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.transport.abort()  # type: ignore[union-attr]
        raise asyncio.CancelledError

    async def big(request: web.Request) -> web.StreamResponse:
        if request.method == "HEAD":
            return web.Response(status=405)
        response = web.StreamResponse()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(2000):  # 128 MB if anyone read it all
                await response.write(b"x" * 65536)
                state.streamed += 65536
        return response

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return web.Response(status=200)
        return web.Response(status=302, headers={"Location": f"/hop/{left - 1}"})

    app = web.Application(middlewares=[count])
    routes = {
        "/ok": status(200), "/missing": status(404), "/gone": status(410), "/teapot": status(418),
        "/down": status(500), "/moved": redirect(301, "/ok"), "/moved-308": redirect(308, "/ok"),
        "/found": redirect(302, "/ok"), "/moved-then-found": redirect(301, "/found"),
        "/moved-to-missing": redirect(301, "/missing"), "/to-ftp": redirect(301, "ftp://files.example.org/x"),
        "/to-js": redirect(302, "javascript:alert(1)"), "/loop/a": redirect(302, "/loop/b"),
        "/loop/b": redirect(302, "/loop/a"), "/no-location": status(302), "/always-429": status(429),
        "/flaky": flaky, "/fails-twice": fails_twice, "/busy": busy, "/no-head": no_head, "/slow": slow,
        "/wait": wait, "/reset": reset, "/big": big, "/hop/{left}": hop,
    }
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    return app


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[LinkServer]:
    state = LinkServer()
    # Handlers are cancelled when the client hangs up, so a timed-out /slow does not hold the shutdown.
    runner = web.AppRunner(make_app(state), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serving_in_thread() -> Iterator[LinkServer]:
    """The same server on its own event loop, for code that runs `asyncio.run` itself (the CLI)."""
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    holder: list[LinkServer] = []

    async def main() -> None:
        nonlocal stop, loop
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        async with serving() as state:
            holder.append(state)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the link server did not start"
    try:
        yield holder[0]
    finally:
        assert loop is not None and stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
