"""SlackAdapter: the runner's handle on Slack, in HTTP mode or Socket Mode.

HTTP mode serves `POST /slack/events` (commands, interactivity, events), and `GET /healthz` and
`/readyz` for the whole process (see bot.health), with aiohttp. Each request's signature is checked
here, strictly, before slack-bolt dispatches it.
Socket Mode (SLACK_APP_TOKEN set) needs no public URL: bolt's aiohttp Socket Mode handler dials out.
Both start with `auth.test`, so a bad token stops `mlops-bot run` with one line naming the setting.
After start, `poster` (a SlackPoster) posts on the bot's own initiative: review posts, DMs, the digest.
An install with fewer scopes than the manifest asks for still answers every command; the start-up log
says which features lack which scope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.http_metrics import platform_trace
from bot.adapters.slack.app import ACK_BUDGET, START_RETRY_WAIT, SlackBot, retry_handlers
from bot.adapters.slack.poster import SlackPoster, granted_scopes, missing_scopes
from bot.adapters.slack.verify import is_from_slack
from bot.errors import ConfigError, PlatformError
from bot.health import HealthCheck, PlatformState
from bot.log_context import request_scope
from bot.service import BotService
from bot.settings import Settings
from bot.storage import Store
from bot.storage.database import mask_url

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
# Slack's payloads are a few KB; a larger body is not from Slack and is refused before it is read.
MAX_BODY = 256 * 1024
CONNECT_TIMEOUT = 30.0
STOP_GRACE = 5.0
# A connection that has not sent a whole request by then is closed: Slack sends each at once, and
# a client that trickles bytes (or none) would otherwise hold a connection for an hour.
IDLE_TIMEOUT = 30.0
# Longest Retry-After waited for while a member waits (a modal's trigger_id lives 3 s).
INTERACTIVE_RETRY_WAIT = 1.0
SCOPE_CHECK_TIMEOUT = 10.0
_SIGNING_SECRET = web.AppKey("signing_secret", str)


class SlackAdapter:
    name = "slack"

    def __init__(self, service: BotService, settings: Settings, store: Store, *,
                 ack_budget: float = ACK_BUDGET) -> None:
        self.service = service
        self.settings = settings
        self.store = store
        self.ack_budget = ack_budget
        self.mode = "socket" if settings.slack_socket_configured else "http"
        self.serves_http = self.mode == "http"
        self.health_check: HealthCheck | None = None  # the runner's, covering every platform; else only this one
        self.api_url = settings.slack_api_url or DEFAULT_API_URL
        self.port: int | None = None  # the bound port in HTTP mode (PORT=0 picks a free one)
        self.bot: SlackBot | None = None
        self.poster: SlackPoster | None = None  # set by start()
        self.scopes: frozenset[str] | None = None  # granted to the bot token, as auth.test said at start
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.idle_timeout = IDLE_TIMEOUT
        self._bot_name = "mlops-bot"

    # -- start / stop ---------------------------------------------------------------------------------

    async def start(self) -> None:
        token = _secret(self.settings.slack_bot_token, "SLACK_BOT_TOKEN")
        secret = ""
        if self.mode == "http":
            secret = _secret(self.settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
        # Every Web API and response_url call, counted for /metrics by method and result (429s included).
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15),
                                           trace_configs=[platform_trace("slack")])
        try:
            # Start-up waits are capped: a Retry-After of an hour on auth.test must not hold the bot (or
            # its SIGTERM) that long; the runner reports the failure instead.
            web_client = self._web_client(token, max_wait=START_RETRY_WAIT)
            auth = await self._auth_test(web_client, token)
            self.poster = SlackPoster(self._web_client(token), bot_user_id=auth.bot_user_id or "",
                                      bot_id=auth.bot_id or "", bot_name=self._bot_name, scopes=self.scopes)
            # bolt gives each request a copy of this client, with the token from `authorize`, and deep-copies
            # requests for lazy listeners: it must not hold the (uncopyable) shared session. Our listeners
            # answer through response_url and never use it.
            app_client = AsyncWebClient(base_url=self.api_url, retry_handlers=retry_handlers(),
                                        logger=logging.getLogger("bot.adapters.slack.web"))
            self.bot = SlackBot(self.service, self.store, client=app_client, auth=auth,
                                http=self._http, ack_budget=self.ack_budget, poster=self.poster,
                                web=self._web_client(token, max_wait=INTERACTIVE_RETRY_WAIT),
                                response_hosts=response_url_hosts(self.settings.slack_api_url))
            if self.mode == "socket":
                await self._start_socket(web_client)
            else:
                await self._start_http(secret)
        except BaseException:
            await self.stop()
            raise
        log.info("Slack connected as %s in workspace %s (%s mode)", auth.bot_user_id, auth.team_id, self.mode)
        await self._report_scopes()

    async def _report_scopes(self) -> None:
        """Say at start what an older install (only `commands`) cannot do yet, and whether the review
        channel works; answering commands needs none of it, so nothing here stops the bot."""
        if self.scopes is not None:
            missing = missing_scopes(self.scopes)
            if missing:
                log.warning("the Slack app lacks scope(s) %s: commands and searches work, but not %s. Reinstall "
                            "the app from deploy/slack/manifest.yaml to grant them", ", ".join(missing),
                            "; ".join(f"{why} ({scope})" for scope, why in missing.items()))
        channel = self.settings.slack_review_channel
        if channel and self.poster is not None:
            try:
                problem = await asyncio.wait_for(self.poster.can_post(channel), SCOPE_CHECK_TIMEOUT)
            except TimeoutError:
                problem = "Slack did not answer in time; the first review post will tell"
            if problem:
                log.warning("SLACK_REVIEW_CHANNEL %s may not work: %s", channel, problem)

    async def stop(self) -> None:
        if self._runner is not None:
            # Stops accepting connections, then lets in-flight requests finish.
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self.bot is not None:
            await self.bot.drain(STOP_GRACE)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _web_client(self, token: str | None, *, max_wait: float | None = None) -> AsyncWebClient:
        handlers = retry_handlers() if max_wait is None else retry_handlers(max_wait=max_wait)
        return AsyncWebClient(token=token, base_url=self.api_url, session=self._http,
                              retry_handlers=handlers, logger=logging.getLogger("bot.adapters.slack.web"))

    async def _auth_test(self, client: AsyncWebClient, token: str) -> AuthorizeResult:
        where = f"the Slack Web API at {mask_url(self.api_url)}"
        try:
            response = await client.auth_test()
        except SlackApiError as exc:
            raise PlatformError(_refusal(exc, where, "auth.test", "SLACK_BOT_TOKEN"),
                                user_message="Slack rejected SLACK_BOT_TOKEN.") from None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PlatformError(f"cannot reach {where} (check SLACK_API_URL and the network): "
                                f"{exc.__class__.__name__}") from None
        except (AttributeError, TypeError):
            # slack_sdk takes any JSON answer for an object; a list makes it fail inside the SDK.
            raise PlatformError(f"{where} answered auth.test with JSON that is not an object: is SLACK_API_URL "
                                "a Slack Web API?") from None
        if not isinstance(response.data, dict):
            raise PlatformError(f"{where} answered auth.test with something that is not a JSON object")
        if not response.get("bot_id"):
            raise PlatformError("SLACK_BOT_TOKEN is not a bot token (it should start with xoxb-)")
        self.scopes = granted_scopes(response.headers)
        self._bot_name = str(response.get("user") or "mlops-bot")
        return AuthorizeResult.from_auth_test_response(auth_test_response=response, bot_token=token)

    # -- Socket Mode ----------------------------------------------------------------------------------

    async def _start_socket(self, web_client: AsyncWebClient) -> None:
        assert self.bot is not None
        app_token = _secret(self.settings.slack_app_token, "SLACK_APP_TOKEN")
        # The SDK's connect() retries a refused app token forever; asking once here turns it into an error.
        try:
            opened = await web_client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            message = _refusal(exc, f"the Slack Web API at {mask_url(self.api_url)}", "apps.connections.open",
                               "SLACK_APP_TOKEN")
            if message.startswith("Slack rejected"):
                message += "; it needs the connections:write scope"
            raise PlatformError(message, user_message="Slack rejected SLACK_APP_TOKEN.") from None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PlatformError(f"cannot open a Socket Mode connection via {self.api_url}: "
                                f"{exc.__class__.__name__}") from None
        # Over HTTP, _events opens each request's log scope; over the socket, a middleware does.
        self.bot.app.use(_socket_request_scope)
        self._socket = AsyncSocketModeHandler(self.bot.app, app_token=app_token, web_client=web_client,
                                              logger=logging.getLogger("bot.adapters.slack.socket"))
        self._socket.client.wss_uri = opened["url"]  # the URL just issued: no second apps.connections.open
        try:
            await asyncio.wait_for(self._socket.connect_async(), timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            raise PlatformError(f"no Socket Mode connection within {CONNECT_TIMEOUT:.0f} s") from None

    # -- HTTP mode ------------------------------------------------------------------------------------

    async def _start_http(self, secret: str) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app[_SIGNING_SECRET] = secret
        app.router.add_post(EVENTS_PATH, self._events)
        (self.health_check or HealthCheck([self])).add_routes(app)
        # No access log: one line per request at 1000 req/s is noise; the service logs each command.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=STOP_GRACE,
                                     keepalive_timeout=self.idle_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on HOST={self.settings.host} PORT={self.settings.port}: "
                              f"{exc.strerror or exc}") from None
        self.port = int(self._runner.addresses[0][1])
        log.info("Slack HTTP mode listening on http://%s:%d%s", self.settings.host, self.port, EVENTS_PATH)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        assert self.bot is not None
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "request too large"}, status=413)
        if not is_from_slack(request.app[_SIGNING_SECRET], request.headers, body):
            # Forged, unsigned, stale or malformed: not from Slack, and nothing is dispatched.
            return web.json_response({"error": "invalid request"}, status=401)
        problem = body_problem(body, request.content_type)
        if problem is not None:
            # Signed, so it came with our secret, but not a payload Slack sends: bolt would raise on it.
            log.warning("refused a signed Slack request: %s", problem)
            return web.json_response({"error": "malformed request"}, status=400)
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry:
            log.info("Slack retry #%s (%s)", retry[:8], request.headers.get("X-Slack-Retry-Reason", "")[:40])
        # Headers as aiohttp parsed them, as bolt's own aiohttp adapter passes them: bolt lower-cases the names.
        bolt_request = AsyncBoltRequest(body=body.decode("utf-8", "replace"), query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        with request_scope("slack"):  # every line this request causes carries its id (bot.log_context)
            bolt_response = await self.bot.app.async_dispatch(bolt_request)
            return aiohttp_response(bolt_response) or await to_aiohttp_response(bolt_response)

    async def health(self) -> PlatformState:
        if self._runner is not None:
            return PlatformState.LISTENING
        if self._socket is not None:
            # The SDK's monitor reconnects a dropped or stale socket by itself, for as long as it runs.
            if await self._socket.client.is_connected():
                return PlatformState.CONNECTED
            return PlatformState.RECONNECTING
        return PlatformState.STOPPED


async def _socket_request_scope(next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
    with request_scope("slack"):
        return await next()


_CHARSET = re.compile(r";\s*charset=utf-8")


def aiohttp_response(bolt_response: BoltResponse) -> web.Response | None:
    """What bolt's to_aiohttp_response makes of a response without cookies (every one our listeners give:
    the bot runs no OAuth flow), with the body handed to aiohttp as bytes: given bolt's str, aiohttp looks up
    and builds a payload object for it, which cost more than the rest of the conversion. None when there
    are cookies to set: bolt's own conversion does that."""
    headers = bolt_response.headers
    if "set-cookie" in headers:
        return None
    body = bolt_response.body
    fields = {name: next(iter(values)) for name, values in headers.items() if name != "content-type"}
    content_type = headers["content-type"][0] if headers.get("content-type") else (
        "application/json" if body.startswith("{") else "text/plain")
    return web.Response(status=bolt_response.status, body=body.encode(), headers=fields,
                        content_type=_CHARSET.sub("", content_type))


def response_url_hosts(api_url: str | None) -> frozenset[tuple[str, str]]:
    """Where a response_url may point: Slack's hooks host over https, or, with SLACK_API_URL set (a proxy,
    the tests' fake), that URL's own scheme and host."""
    if not api_url:
        return frozenset({("https", "hooks.slack.com")})
    parts = urlsplit(api_url)
    return frozenset({(parts.scheme.lower(), parts.netloc.lower().rsplit("@", 1)[-1])})


def body_problem(body: bytes, content_type: str) -> str | None:
    """Why bolt could not read this body as a Slack payload, or None. Mirrors bolt's parse_body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return None
    try:
        if content_type == "application/json" or text.startswith("{"):
            data = json.loads(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            data = json.loads(payload) if payload is not None else {}
        else:
            return None  # form fields (a slash command): any text is a valid form
    except ValueError:
        return "the payload is not JSON"
    if not isinstance(data, dict):
        return f"the payload is JSON {type(data).__name__}, not an object"
    return None


def _refusal(exc: SlackApiError, where: str, method: str, setting: str) -> str:
    """What answered what: Slack's own refusal names the token; anything else names SLACK_API_URL."""
    response = exc.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error") and status == 200:
        return f"Slack rejected {setting} ({str(data['error'])[:60]})"
    if status == 429:
        return f"{where} rate-limited {method} for longer than the bot waits at start-up; try again later"
    if isinstance(data, dict) and not data:
        what = "a body that is not JSON"
    elif data is None:
        what = "JSON null"
    else:
        what = "an answer without Slack's ok/error fields"
    return f"{where} answered {method} with HTTP {status} and {what}: is SLACK_API_URL right?"


def _secret(value: Any, setting: str) -> str:
    if value is None or not value.get_secret_value().strip():
        raise ConfigError(f"{setting} is not set", user_message=f"{setting} is not set.")
    return value.get_secret_value().strip()
