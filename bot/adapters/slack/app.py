"""The slack-bolt app: `/mlops` and the Share / More buttons, on top of BotService.

Slack wants every request acknowledged within 3 seconds. The slash command's reply is computed and
returned *in* the ack (one round trip, and an ack body is ephemeral by default). Should the service
take longer than `ack_budget`, the ack says "Working on it…" and a lazy listener, which bolt's lazy
listener runner starts after the ack has gone, replaces that placeholder through `response_url` once
the reply is ready. The lazy listener is started only on that slow path: declared with `lazy=[...]`
it would run for every command, and bolt deep-copies the whole request for each lazy run (about
1 ms of CPU, which more than halved the requests/s in bench/slack_http.py).
Button clicks are acked at once (an ack for a click carries no message) and do their work lazily.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.eager import run_eagerly
from bot.adapters.slack.render import ButtonState, decode_button, encode_message, render_message
from bot.core.reply import ButtonAction, Reply
from bot.errors import BotError, PlatformError
from bot.service import BotService, Request
from bot.storage import Store

log = logging.getLogger(__name__)

# Slack gives 3 s; keep a margin for the network and bolt's own 10 ms ack polling.
ACK_BUDGET = 2.0
WORKING = Reply(header="Working on it…", text="The answer will replace this message in a moment.")
SHARE_FAILED = Reply(header="Sorry", text="Slack did not accept the shared message. Please try again.",
                     is_error=True)


# Longest Retry-After honoured: at start-up (a wait past it fails the start, which the runner reports)
# and while running (past it the call fails at once, rather than a member's click waiting minutes).
START_RETRY_WAIT = 10.0
RETRY_WAIT = 30.0


class CappedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, which sleeps for whatever Retry-After says, refusing waits over `max_wait`."""

    def __init__(self, max_retry_count: int = 2, *, max_wait: float = RETRY_WAIT) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(self, *, state: Any, request: Any, response: Any = None,
                               error: Exception | None = None) -> bool:
        if not await super()._can_retry_async(state=state, request=request, response=response, error=error):
            return False
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        value = headers.get("retry-after")
        wait = value[0] if isinstance(value, list) and value else value
        try:
            seconds = float(wait) if wait is not None else 1.0
        except (TypeError, ValueError):
            seconds = 1.0
        if seconds > self.max_wait:
            log.warning("Slack asked to wait %.0f s before retrying %s; not waiting over %.0f s",
                        seconds, getattr(request, "url", "a call"), self.max_wait)
            return False
        return True


def retry_handlers(*, max_wait: float = RETRY_WAIT) -> list[AsyncRetryHandler]:
    """429s wait for Retry-After (up to `max_wait`), dropped connections back off; both sleep with asyncio."""
    return [AsyncConnectionErrorRetryHandler(max_retry_count=2),
            CappedRateLimitRetryHandler(max_retry_count=2, max_wait=max_wait)]


class _QuietTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment by itself and warns, at every start, that the client
    we give it wins over that token. It does, by design: the warning says nothing an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _request(body: dict[str, Any], text: str, offset: int = 0) -> Request:
    user = body.get("user_id") or (body.get("user") or {}).get("id") or ""
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or (
        body.get("container") or {}).get("channel_id")
    return Request(text=text, platform="slack", user_id=str(user), channel_id=channel, offset=offset)


def _user_name(body: dict[str, Any]) -> str | None:
    user = body.get("user") or {}
    name = user.get("name") or user.get("username")
    return str(name) if name else None


def _share_key(body: dict[str, Any], action: dict[str, Any]) -> str:
    """Same message + same button = same share, whether Slack retried or the member double-clicked."""
    container = body.get("container") or {}
    team = (body.get("team") or {}).get("id") or ""
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    message = container.get("message_ts") or f"{action.get('action_ts')}:{body.get('trigger_id')}"
    value = hashlib.sha256(str(action.get("value")).encode()).hexdigest()[:24]
    return f"slack:share:{team}:{channel}:{message}:{value}"[:300]


def _pending_key(body: dict[str, Any]) -> str:
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return trigger
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class SlackBot:
    """Owns the AsyncApp and its listeners; HTTP and Socket Mode both dispatch into `app`."""

    def __init__(self, service: BotService, store: Store, *, client: AsyncWebClient, auth: AuthorizeResult,
                 http: aiohttp.ClientSession, ack_budget: float = ACK_BUDGET,
                 response_hosts: frozenset[tuple[str, str]] = frozenset({("https", "hooks.slack.com")})) -> None:
        self.service = service
        self.response_hosts = response_hosts
        self.store = store
        self.http = http
        self.ack_budget = ack_budget
        self._pending: dict[str, asyncio.Future[Reply]] = {}  # slow answers, by trigger_id
        self._lazy: set[asyncio.Task[Any]] = set()

        async def authorize() -> AuthorizeResult:
            # A closure, not a method: bolt fills every parameter it finds by name, `self` included.
            return auth

        bolt_logger = logging.getLogger("bot.adapters.slack.bolt")
        if not any(isinstance(f, _QuietTokenWarning) for f in bolt_logger.filters):
            bolt_logger.addFilter(_QuietTokenWarning())
        self.app = AsyncApp(
            name="mlops-bot",
            logger=bolt_logger,
            client=client,
            # auth.test ran once at start-up; reusing its result spares every request a Web API call.
            authorize=authorize,
            # The HTTP adapter checks every signature, more strictly than bolt, before dispatching (see
            # verify.py), and Socket Mode requests carry none: bolt's check would only repeat ours. Given as ""
            # so that bolt never reads SLACK_SIGNING_SECRET from the environment by itself.
            signing_secret="",
            request_verification_enabled=False,
            # Run the listener inline and answer as soon as it acks. bolt's default runs it as a separate
            # task and polls for the ack every 10 ms, which adds up to 10 ms to every reply. Nothing is lost:
            # the slash command computes its reply within the ack anyway (or acks a placeholder in time, see
            # _command), and button work runs in lazy listeners, which still start after the ack.
            process_before_response=True,
        )
        self.app.command(re.compile(r"^/"))(self._command)
        self.app.action(re.compile(r"^mlops_share"))(ack=self._ack_click, lazy=[self._share])
        self.app.action(re.compile(r"^mlops_more"))(ack=self._ack_click, lazy=[self._more])

    # -- slash command ----------------------------------------------------------------------------------

    async def _command(self, ack: AsyncAck, body: dict[str, Any], request: AsyncBoltRequest,
                       listener_runner: AsyncioListenerRunner) -> BoltResponse | None:
        task = run_eagerly(self.service.handle(_request(body, body.get("text") or "")))
        if not task.done():  # waiting on I/O: give it what is left of the ack budget
            await asyncio.wait({task}, timeout=self.ack_budget)
        if task.done():
            # The reply is the ack's body. Returned as a response (bolt sends what an inline listener
            # returns) so that it is encoded by encode_message, which reuses each item's JSON.
            return BoltResponse(status=200, body=encode_message(_result_or_error(task), response_type="ephemeral"))
        log.warning("answer not ready within %.1f s; acking a placeholder", self.ack_budget)
        await ack({**render_message(WORKING), "response_type": "ephemeral"})
        self._pending[_pending_key(body)] = task
        # What bolt does for a `lazy=[...]` function, done here only when it is needed.
        lazy_request = request.to_copyable()
        lazy_request.lazy_only = True
        lazy_request.lazy_function_name = self._command_late.__name__
        listener_runner.lazy_listener_runner.start(function=self._command_late, request=lazy_request)
        return None

    async def _command_late(self, body: dict[str, Any]) -> None:
        async with self._tracked():
            task = self._pending.pop(_pending_key(body), None)
            if task is None:
                return
            await asyncio.wait({task})
            message = {**render_message(_result_or_error(task)), "response_type": "ephemeral",
                       "replace_original": True}
            try:
                await self.post(body.get("response_url"), message)
            except BotError as exc:
                log.error("could not deliver a late reply: %s", exc)

    # -- buttons ------------------------------------------------------------------------------------------

    async def _ack_click(self, ack: AsyncAck) -> None:
        await ack()

    async def _share(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self._tracked():
            state = decode_button(str(action.get("action_id")), action.get("value"))
            if state is None or state.action is not ButtonAction.SHARE:
                log.warning("ignoring a Share click with an unreadable value")
                return
            key = _share_key(body, action)
            try:
                if not await self.store.claim(key):
                    log.info("share already posted or being posted; ignoring the retry or double click")
                    return
            except BotError as exc:
                await self._apologise(body, exc, "Share click")
                return
            try:
                reply = await self._answer(body, state)
                if reply.is_error:
                    await self.store.release(key)
                    await self.post(body.get("response_url"), _ephemeral(reply))
                    return
                message = {**render_message(reply.public(), shared_by=_user_name(body)),
                           "response_type": "in_channel", "replace_original": False}
                try:
                    await self.post(body.get("response_url"), message)
                except PlatformError as exc:
                    # Let the member try again: nothing was posted under this key.
                    log.error("share failed: %s", exc)
                    await self.store.release(key)
                    await self.post(body.get("response_url"), _ephemeral(SHARE_FAILED))
                    return
                # Done only now that Slack took the post: a crash before this line leaves a lease that
                # runs out, and the member's next click shares it then.
                await self.store.complete(key)
                # The private copy has done its job; like /giphy's "Send", sharing moves it to the channel.
                await self.post(body.get("response_url"), {"delete_original": True})
            except BotError as exc:
                await self._apologise(body, exc, "Share click")

    async def _more(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        async with self._tracked():
            state = decode_button(str(action.get("action_id")), action.get("value"))
            if state is None or state.action is not ButtonAction.MORE:
                log.warning("ignoring a More click with an unreadable value")
                return
            try:
                reply = await self._answer(body, state)
                message = _ephemeral(reply)
                # On the member's private reply, page in place. On a shared message, paging in place
                # would change what everyone sees: the next page goes privately to whoever clicked.
                message["replace_original"] = bool((body.get("container") or {}).get("is_ephemeral"))
                await self.post(body.get("response_url"), message)
            except BotError as exc:
                await self._apologise(body, exc, "More click")

    async def _apologise(self, body: dict[str, Any], exc: BotError, what: str) -> None:
        """A click that did nothing says so to the clicker alone (else it looks ignored), where it still can."""
        log.error("%s not completed: %s", what, exc)
        if isinstance(exc, PlatformError):  # Slack refused the response_url: a second post would fail alike
            return
        with contextlib.suppress(BotError):
            await self.post(body.get("response_url"),
                            _ephemeral(Reply(header="Sorry", text=exc.user_message, is_error=True)))

    async def _answer(self, body: dict[str, Any], state: ButtonState) -> Reply:
        return await self.service.handle(_request(body, state.command, state.offset))

    # -- plumbing -----------------------------------------------------------------------------------------

    async def post(self, response_url: object, message: dict[str, Any]) -> None:
        """POST to a response_url (retrying 429s and dropped connections); PlatformError if refused."""
        if not isinstance(response_url, str) or not self._may_post_to(response_url):
            raise PlatformError("the payload has no usable response_url")
        client = AsyncWebhookClient(url=response_url, session=self.http, retry_handlers=retry_handlers(),
                                    logger=logging.getLogger("bot.adapters.slack.webhook"))
        try:
            response = await client.send_dict(message)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformError(f"response_url unreachable: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise PlatformError(f"response_url answered {response.status_code}: {response.body[:200]}")

    def _may_post_to(self, url: str) -> bool:
        """Only where Slack's response URLs live (a signed payload is still only as safe as its secret):
        never elsewhere, never with user info that would send credentials along."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return False
        return (parts.scheme.lower(), parts.netloc.lower()) in self.response_hosts

    @contextlib.asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        """Lazy listeners are bolt's fire-and-forget tasks; tracking them lets stop() let them finish."""
        task = asyncio.current_task()
        if task is not None:
            self._lazy.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._lazy.discard(task)

    async def drain(self, timeout: float) -> None:
        """Wait (up to `timeout`) for in-flight lazy work, e.g. a share being posted during shutdown."""
        tasks = [t for t in self._lazy if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


def _ephemeral(reply: Reply) -> dict[str, Any]:
    return {**render_message(reply), "response_type": "ephemeral", "replace_original": False}


def _result_or_error(task: asyncio.Future[Reply]) -> Reply:
    try:
        return task.result()
    except Exception as exc:  # the service already turns errors into replies; this is the last net
        log.exception("the service failed", exc_info=exc)
        user_message = exc.user_message if isinstance(exc, BotError) else BotError.user_message
        return Reply(header="Sorry", text=user_message, is_error=True)
