"""The slack-bolt app: `/mlops` and the Share / More buttons, on top of BotService.

Slack wants every request acknowledged within 3 seconds. The slash command's reply is computed and
returned *in* the ack (one round trip, and an ack body is ephemeral by default). Should the service
take longer than `ack_budget`, the ack says "Working on it…" and a lazy listener, which bolt's lazy
listener runner starts after the ack has gone, replaces that placeholder through `response_url` once
the reply is ready. The lazy listener is started only on that slow path: declared with `lazy=[...]`
it would run for every command, and bolt deep-copies the whole request for each lazy run (about
1 ms of CPU, which more than halved the requests/s in bench/slack_http.py).
Share and More clicks are acked at once (an ack for a click carries no message) and do their work lazily.

Forms (bot.core.forms) open as modals (modal.py). A modal needs the `trigger_id` of the command or click
that asked for it, which expires 3 seconds after Slack sent it: the form is computed, and views.open
called, within the ack's budget. A reference button (Approve #42, Submit anyway) does the same: the
service's click answers a Form (opened at once) or a Reply (sent privately through response_url). A
submitted modal is answered in its ack: mistakes keep it open with a message under each field; a Reply
closes it and goes privately to the member (chat.postEphemeral where they submitted it, else a DM).
Whatever is not ready within the budget is finished after the ack, like a slow command.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import re
from collections.abc import AsyncIterator, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.eager import run_eagerly
from bot.adapters.slack.modal import (
    CALLBACK_ID,
    decode_metadata,
    error_response,
    notice_modal,
    render_modal,
    submitted_values,
    view_title,
)
from bot.adapters.slack.render import ButtonState, decode_button, decode_ref, encode_message, render_message
from bot.app.posting import Poster, PostError
from bot.core.forms import Form, FormErrors, FormSubmission
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
FORM_EXPIRED = Reply(header="Sorry, that took too long",
                     text="Slack allows only a few seconds to open a form. Please try again.", is_error=True)
FORM_FAILED = Reply(header="Sorry", text="Slack did not open the form. Please try again.", is_error=True)
FORM_OUTDATED = Reply(header="This form is out of date",
                      text="The bot no longer knows this form (it was updated since). Please start again.",
                      is_error=True)
SUBMIT_WORKING = Reply(header="Working on it…", text="This takes a moment longer than usual.")
SUBMIT_DONE = Reply(header="Done", text="The answer is in a message from the bot.")
# Slack's trigger_id errors: the form can no longer be opened with it, however it is retried.
_TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})
# The buttons that name what they act on (approve suggestion 42): their clicks go to service.click.
_REF_ACTIONS = "|".join(a.value for a in ButtonAction if not a.carries_command)


# Longest Retry-After honoured: at start-up (a wait past it fails the start, which the runner reports)
# and while running (past it the call fails at once, rather than a member's click waiting minutes).
START_RETRY_WAIT = 10.0
RETRY_WAIT = 30.0


# slack_sdk adds up to a second of random jitter to every Retry-After; a tenth is enough to spread this
# bot's own retries, and the rest is a second lost at the tail of every rate-limited fan-out (a digest).
RETRY_JITTER = 0.1


def _retry_after(response: Any) -> float:
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    wait = value[0] if isinstance(value, list) and value else value
    try:
        return max(0.0, float(wait)) if wait is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


class CappedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, sleeping for what Retry-After says (with little jitter), and refusing waits
    over `max_wait`."""

    def __init__(self, max_retry_count: int = 2, *, max_wait: float = RETRY_WAIT) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def prepare_for_next_attempt_async(self, *, state: Any, request: Any, response: Any = None,
                                             error: Exception | None = None) -> None:
        if response is None:
            await super().prepare_for_next_attempt_async(state=state, request=request, response=response,
                                                         error=error)
            return
        state.next_attempt_requested = True
        await asyncio.sleep(_retry_after(response) + random.uniform(0, RETRY_JITTER))
        state.increment_current_attempt()

    async def _can_retry_async(self, *, state: Any, request: Any, response: Any = None,
                               error: Exception | None = None) -> bool:
        if not await super()._can_retry_async(state=state, request=request, response=response, error=error):
            return False
        seconds = _retry_after(response)
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
    # The name the member showed is kept with their id where it is recorded (audit, "Approved by …").
    name = body.get("user_name") or _user_name(body) or ""
    return Request(text=text, platform="slack", user_id=str(user), channel_id=channel, offset=offset,
                   user_name=str(name))


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
                 http: aiohttp.ClientSession, web: AsyncWebClient, poster: Poster, ack_budget: float = ACK_BUDGET,
                 response_hosts: frozenset[tuple[str, str]] = frozenset({("https", "hooks.slack.com")})) -> None:
        self.service = service
        # `web` (the bot token, the shared session, short rate-limit waits) opens modals and sends ephemerals
        # while a member waits; `poster` sends the DM when an ephemeral cannot reach them.
        self.web = web
        self.poster = poster
        self.response_hosts = response_hosts
        self.store = store
        self.http = http
        self.ack_budget = ack_budget
        self._pending: dict[str, asyncio.Future[Reply | Form]] = {}  # slow answers, by trigger_id
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
        self.app.action(re.compile(rf"^mlops_(?:{_REF_ACTIONS})_"))(self._ref_click)
        self.app.view(CALLBACK_ID)(self._view_submission)

    # -- slash command ----------------------------------------------------------------------------------

    async def _command(self, ack: AsyncAck, body: dict[str, Any], request: AsyncBoltRequest,
                       listener_runner: AsyncioListenerRunner) -> BoltResponse | None:
        task = run_eagerly(self.service.handle(_request(body, body.get("text") or "")))
        if not task.done():  # waiting on I/O: give it what is left of the ack budget
            await asyncio.wait({task}, timeout=self.ack_budget)
        if task.done():
            outcome = _result_or_error(task)
            if isinstance(outcome, Form):
                return await self._command_form(body, outcome)
            # The reply is the ack's body. Returned as a response (bolt sends what an inline listener
            # returns) so that it is encoded by encode_message, which reuses each item's JSON.
            return BoltResponse(status=200, body=encode_message(outcome, response_type="ephemeral"))
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
            outcome = _result_or_error(task)
            if isinstance(outcome, Form):
                # Likely too late for the trigger_id; if it still opens, the placeholder has done its job.
                problem = await self.open_form(body.get("trigger_id"), outcome, body.get("channel_id"))
                message = {"delete_original": True} if problem is None else {
                    **render_message(problem), "response_type": "ephemeral", "replace_original": True}
            else:
                message = {**render_message(outcome), "response_type": "ephemeral", "replace_original": True}
            try:
                await self.post(body.get("response_url"), message)
            except BotError as exc:
                log.error("could not deliver a late reply: %s", exc)

    async def _command_form(self, body: dict[str, Any], form: Form) -> BoltResponse:
        problem = await self.open_form(body.get("trigger_id"), form, body.get("channel_id"))
        if problem is not None:
            return BoltResponse(status=200, body=encode_message(problem, response_type="ephemeral"))
        # An empty ack: the modal is the answer, and nothing shows in the channel.
        return BoltResponse(status=200, body="")

    # -- forms ----------------------------------------------------------------------------------------------

    async def open_form(self, trigger_id: object, form: Form, channel_id: object) -> Reply | None:
        """views.open; None when the modal is open, else what to tell the member instead."""
        if not isinstance(trigger_id, str) or not trigger_id:
            log.error("cannot open form %s: the payload has no trigger_id", form.kind)
            return FORM_FAILED
        view = render_modal(form, channel_id if isinstance(channel_id, str) and channel_id else None)
        try:
            await self.web.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = str((exc.response.data if isinstance(exc.response.data, dict) else {}).get("error"))
            log.error("views.open for form %s refused: %s", form.kind, error)
            return FORM_EXPIRED if error in _TRIGGER_ERRORS else FORM_FAILED
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.error("views.open for form %s failed: %s", form.kind, exc.__class__.__name__)
            return FORM_FAILED
        return None

    async def _view_submission(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        state = decode_metadata(view.get("private_metadata"))
        if state is None:
            log.warning("a submitted modal has unreadable private_metadata; telling the member to start again")
            await ack(response_action="update", view=notice_modal(view_title(view), FORM_OUTDATED))
            return
        user = body.get("user") or {}
        request = Request(text="", platform="slack", user_id=str(user.get("id") or ""), channel_id=state.channel_id,
                          user_name=_user_name(body) or "")
        submission = FormSubmission(state.kind, state.ref, submitted_values(view))
        task = run_eagerly(self.service.submit(request, submission))
        if not task.done():
            await asyncio.wait({task}, timeout=self.ack_budget)
        if task.done():
            outcome = _result_or_error(task)
            if isinstance(outcome, FormErrors):
                await ack(**error_response(outcome, view))
                return
            await ack()  # closes the modal
            self._spawn(self.deliver(request, outcome))
            return
        log.warning("form %s not handled within %.1f s; showing that it is in progress", state.kind,
                    self.ack_budget)
        await ack(response_action="update", view=notice_modal(view_title(view), SUBMIT_WORKING))
        self._spawn(self._submission_late(task, request, view))

    async def _submission_late(self, task: asyncio.Future[Reply | FormErrors], request: Request,
                               view: dict[str, Any]) -> None:
        await asyncio.wait({task})
        outcome = _result_or_error(task)
        if isinstance(outcome, FormErrors):
            # The modal shows "working" by now: give the form back, with the member's text and the errors.
            shown = render_modal(outcome.form, request.channel_id, errors=outcome.errors)
        else:
            shown = notice_modal(view_title(view), SUBMIT_DONE)
            await self.deliver(request, outcome)
        try:
            await self.web.views_update(view_id=str(view.get("id") or ""), view=shown)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("could not update the submitted modal (closed meanwhile?): %s", exc.__class__.__name__)

    async def deliver(self, request: Request, reply: Reply) -> None:
        """A reply to the member alone, outside any response_url: ephemeral where they are, else a DM."""
        if request.channel_id:
            message = render_message(reply)
            try:
                await self.web.chat_postEphemeral(channel=request.channel_id, user=request.user_id,
                                                  text=message["text"], blocks=message["blocks"])
                return
            except SlackApiError as exc:
                # Not in that channel, or it is gone, or the scope is missing: a DM may still reach them.
                error = (exc.response.data if isinstance(exc.response.data, dict) else {}).get("error")
                log.info("ephemeral in %s refused (%s); sending a DM instead", request.channel_id, error)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("ephemeral failed (%s); sending a DM instead", exc.__class__.__name__)
        try:
            await self.poster.dm(request.user_id, reply)
        except PostError as exc:
            log.error("could not send slack:%s the answer to their form: %s. %s", request.user_id, exc.code,
                      exc.hint)

    # -- buttons that carry a reference -------------------------------------------------------------------

    async def _ref_click(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        click = decode_ref(str(action.get("action_id")), action.get("value"))
        if click is None:
            await ack()
            log.warning("ignoring a click with an unreadable value (%s)", str(action.get("action_id"))[:40])
            return
        request = _request(body, "")
        # The clicker is the actor; the service checks again what they may do, whatever the button says.
        task = run_eagerly(self.service.click(request, click.action, click.ref))
        if not task.done():
            await asyncio.wait({task}, timeout=self.ack_budget)
        if task.done():
            outcome = _result_or_error(task)
            if isinstance(outcome, Form):
                # Before the ack, while the trigger_id is fresh.
                problem = await self.open_form(body.get("trigger_id"), outcome, request.channel_id)
                await ack()
                if problem is not None:
                    self._spawn(self._tell(body, request, problem))
                return
            await ack()
            self._spawn(self._tell(body, request, outcome))
            return
        log.warning("%s click not answered within %.1f s; acking and finishing it after", click.action.value,
                    self.ack_budget)
        await ack()
        self._spawn(self._click_late(task, body, request))

    async def _click_late(self, task: asyncio.Future[Reply | Form], body: dict[str, Any], request: Request) -> None:
        await asyncio.wait({task})
        outcome = _result_or_error(task)
        if isinstance(outcome, Form):
            problem = await self.open_form(body.get("trigger_id"), outcome, request.channel_id)
            if problem is None:
                return
            outcome = problem
        await self._tell(body, request, outcome)

    async def _tell(self, body: dict[str, Any], request: Request, reply: Reply) -> None:
        """Privately to the clicker: through the click's response_url, or (a click in a modal has none)
        as an ephemeral or a DM."""
        if not body.get("response_url"):
            await self.deliver(request, reply)
            return
        try:
            await self.post(body.get("response_url"), _ephemeral(reply))
        except BotError as exc:
            log.error("could not answer slack:%s's click: %s", request.user_id, exc)

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

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Work after the ack, tracked like bolt's lazy listeners (stop() lets it finish); its inputs are
        parsed already, so bolt's deep copy of the request would only cost time."""
        task = asyncio.ensure_future(self._run_tracked(work))
        self._lazy.add(task)
        task.add_done_callback(self._lazy.discard)

    async def _run_tracked(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            log.exception("work after a Slack ack failed")

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


def _result_or_error(task: asyncio.Future[Any]) -> Any:
    """The service's answer (a Reply, a Form, FormErrors), or an apology if it raised after all."""
    try:
        return task.result()
    except Exception as exc:  # the service already turns errors into replies; this is the last net
        log.exception("the service failed", exc_info=exc)
        user_message = exc.user_message if isinstance(exc, BotError) else BotError.user_message
        return Reply(header="Sorry", text=user_message, is_error=True)
