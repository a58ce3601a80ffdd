"""The application service: `handle(Request) -> Reply` for every adapter.

It owns the current catalog and its search index, and swaps both atomically on reload, keeping the
last good catalog when a new one is invalid. Adapters never touch the catalog directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.catalog import Catalog, Resource
from bot.core.catalog_loader import load_catalog
from bot.core.commands import Command, parse
from bot.core.context import Call, Community, Context
from bot.core.effects import Effect
from bot.core.forms import Form, FormErrors, FormSubmission
from bot.core.handlers import handle
from bot.core.permissions import CONSOLE, Actor
from bot.core.reply import ButtonAction, Reply
from bot.core.search_api import SearchEngine, build_search
from bot.core.suggestions import CatalogIndex
from bot.core.urls import normalize_url
from bot.errors import BotError, CatalogError

log = logging.getLogger(__name__)

Executor = Callable[[Any, "Request"], Awaitable["Reply | Form"]]
FormHandler = Callable[[FormSubmission, "Request"], Awaitable["Reply | FormErrors"]]
ClickHandler = Callable[[str, "Request"], Awaitable["Reply | Form"]]


@dataclass(frozen=True)
class Request:
    """One member's command, platform-neutral. `text` is everything after `/mlops`."""

    text: str
    platform: str = "console"
    user_id: str = ""
    channel_id: str | None = None
    offset: int = 0
    user_name: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def actor(self) -> Actor:
        if self.platform == "console" and not self.user_id:
            return CONSOLE
        return Actor(self.platform, self.user_id, self.user_name, self.roles)


class BotService:
    def __init__(self, catalog: Catalog, *, path: Path | None = None, command_prefix: str = "/mlops",
                 community: Community | None = None, semantic: bool = False,
                 semantic_cache: Path | None = Path("var")) -> None:
        """`semantic`: rank by meaning beside the words when the semantic extra is installed (its model
        loads on the first question, or at `preload_semantic`); `semantic_cache`: where resource vectors
        are kept between runs."""
        self.path = path
        self.command_prefix = command_prefix
        self.community = community or Community()
        self.semantic = semantic
        self.semantic_cache = semantic_cache
        self._broken: dict[str, dt.date] = {}
        self._index: tuple[Catalog, CatalogIndex] | None = None
        self._base_catalog = catalog
        self._ctx = Context(catalog, self._engine(catalog), command_prefix, self.community)
        _catalog_size(len(catalog))
        self._approved: list[Resource] = []
        self._reload_lock: asyncio.Lock | None = None
        self._executors: dict[type[Effect], Executor] = {}
        self._forms: dict[str, FormHandler] = {}
        self._clicks: dict[ButtonAction, ClickHandler] = {}
        # Called with (platform, command, outcome) after every first-page answer: the query log, the metrics.
        # Each must be cheap and never raise: it runs on the answer's path.
        self.observers: list[Callable[[str, Command, object], None]] = []
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        self._reload_wanted = False
        settle_heap()

    @classmethod
    def from_file(cls, path: Path, *, command_prefix: str = "/mlops", community: Community | None = None,
                  semantic: bool = False) -> BotService:
        """Load the catalog or raise CatalogError: the bot refuses to start on an invalid one."""
        return cls(load_catalog(path), path=path, command_prefix=command_prefix, community=community,
                   semantic=semantic)

    def _engine(self, catalog: Catalog) -> SearchEngine:
        if not self.semantic:
            return build_search(catalog)
        from bot.semantic import load_semantic

        return build_search(catalog, semantic=load_semantic(catalog, self.semantic_cache))

    def preload_semantic(self) -> None:
        """Load the semantic model and the catalog's vectors now (a worker thread, at start and after a
        reload), so that no member's first question waits for them."""
        ranker = getattr(self._ctx.search, "semantic", None)
        if ranker is not None and hasattr(ranker, "preload"):
            ranker.preload()

    @property
    def catalog(self) -> Catalog:
        return self._ctx.catalog

    @property
    def search(self) -> SearchEngine:
        return self._ctx.search

    def answer(self, request: Request) -> Reply:
        """Compute the reply; CPU only, fast enough to run inside a platform's 3-second ack."""
        started = time.perf_counter()
        command = parse(request.text)
        try:
            reply = handle(command, self._ctx, request.offset, call=self.call(request))
            if not isinstance(reply, Reply):
                # A form or an effect needs the app layer: only `handle` (async) can carry it out.
                reply = Reply(header="Not available here", text="This command needs the running bot.",
                              is_error=True)
        except BotError as exc:
            log.error("command failed: %s", exc)
            reply = Reply(header="Sorry", text=exc.user_message, is_error=True)
        except Exception:
            log.exception("unexpected error handling %s", command.name)
            reply = Reply(header="Sorry", text=BotError.user_message, is_error=True)
        if request.offset == 0:
            for observe in self.observers:
                observe(request.platform, command, reply)
        _measure(request.platform, command, reply, time.perf_counter() - started)
        if log.isEnabledFor(logging.DEBUG):  # per command: formatting it at INFO cost ~7% of a Slack request's CPU
            log.debug("%s %s offset=%d -> %d items in %.1f ms", request.platform, command.name, request.offset,
                      len(reply.items), (time.perf_counter() - started) * 1000)
        return reply

    async def handle(self, request: Request) -> Reply | Form:
        """Any command: pure ones are answered at once, effects are carried out by their executor."""
        started = time.perf_counter()
        command = parse(request.text)
        outcome = self.outcome(command, request)
        if isinstance(outcome, Effect):
            outcome = await self._execute(outcome, request, command.name)
        if request.offset == 0:  # a page past the first is the same question asked again
            for observe in self.observers:
                observe(request.platform, command, outcome)
        took = time.perf_counter() - started
        _measure(request.platform, command, outcome, took)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.1f ms", request.platform, command.name, type(outcome).__name__, took * 1000)
        return outcome

    async def submit(self, request: Request, submission: FormSubmission) -> Reply | FormErrors:
        """A filled-in form (Slack view_submission, Discord modal submit, console prompts)."""
        handler = self._forms.get(submission.kind)
        if handler is None:
            return Reply(header="Sorry", text="That form is not one I know any more. Please start again.",
                         is_error=True)
        return await self._guarded(handler(submission, request), f"form {submission.kind}")

    async def click(self, request: Request, action: ButtonAction, ref: str) -> Reply | Form:
        """A button that carries a reference (approve suggestion 42): whoever clicked is checked again."""
        handler = self._clicks.get(action)
        if handler is None:
            return Reply(header="Sorry", text="That button is not one I know any more.", is_error=True)
        return await self._guarded(handler(ref, request), f"click {action.value}")

    # -- executors: the app layer's services register what they carry out -----------------------------

    def register(self, effect: type[Effect], executor: Executor) -> None:
        self._executors[effect] = executor

    def register_form(self, kind: str, handler: FormHandler) -> None:
        self._forms[kind] = handler

    def register_click(self, action: ButtonAction, handler: ClickHandler) -> None:
        self._clicks[action] = handler

    def outcome(self, command: Command, request: Request) -> object:
        """The core's answer: a Reply, a Form, or an Effect the app layer must carry out."""
        try:
            return handle(command, self._ctx, request.offset, call=self.call(request))
        except BotError as exc:
            log.error("command failed: %s", exc)
            return Reply(header="Sorry", text=exc.user_message, is_error=True)
        except Exception:
            log.exception("unexpected error handling %s", command.name)
            return Reply(header="Sorry", text=BotError.user_message, is_error=True)

    def call(self, request: Request) -> Call:
        return Call(actor=request.actor, offset=request.offset, channel_id=request.channel_id, now=self.clock())

    async def _execute(self, effect: Effect, request: Request, what: str) -> Reply | Form:
        executor = self._executors.get(type(effect))
        if executor is None:
            log.error("no executor for %s: the feature is not set up in this process", type(effect).__name__)
            return Reply(header="Not available here", text="This command needs the bot's database, which this "
                         "process was started without.", is_error=True)
        return await self._guarded(executor(effect, request), what)

    async def _guarded(self, work: Awaitable[Any], what: str) -> Any:
        try:
            return await work
        except BotError as exc:
            log.error("%s failed: %s", what, exc)
            return Reply(header="Sorry", text=exc.user_message, is_error=True)
        except Exception:
            log.exception("unexpected error in %s", what)
            return Reply(header="Sorry", text=BotError.user_message, is_error=True)

    @property
    def context(self) -> Context:
        return self._ctx

    # -- approved resources: the live catalog is the YAML plus these ----------------------------------

    def add_approved(self, resources: Sequence[Resource]) -> int:
        """Make approved resources part of the live catalog and searchable, now, without a rebuild: the
        index gets an overlay (O(added)); the old catalog keeps serving until the one reference swap.
        Resources whose id or main URL the catalog has already (it was exported and merged) are skipped."""
        ctx = self._ctx
        index = self.catalog_index()
        fresh = [r for r in resources if ctx.catalog.get(r.id) is None
                 and not (r.url and normalize_url(r.url) in index.urls)]
        if fresh:
            self._approved.extend(fresh)
            for resource in fresh:
                index.add(resource)
            catalog = dataclasses.replace(ctx.catalog, resources=ctx.catalog.resources + tuple(fresh))
            self._ctx = self._marked(Context(catalog, ctx.search.with_added(fresh), self.command_prefix,
                                             self.community))
            _catalog_size(len(catalog))
        return len(fresh)

    def set_community(self, community: Community) -> None:
        """The community's rules (moderators, limits, the digest's timezone and cohort), read late by one-shot
        commands that turned out to need them."""
        self.community = community
        ctx = self._ctx
        self._ctx = self._marked(Context(ctx.catalog, ctx.search, self.command_prefix, community))

    def set_broken(self, broken: dict[str, dt.date]) -> None:
        """Mark the resources whose main link looked broken in two link checks in a row: their answers say
        so, and they rank lower. Kept across reloads and approvals."""
        self._broken = dict(broken)
        ctx = self._ctx
        self._ctx = self._marked(Context(ctx.catalog, ctx.search, self.command_prefix, self.community))

    def _marked(self, ctx: Context) -> Context:
        if not self._broken and not ctx.broken:
            return ctx
        ids = frozenset(self._broken)
        return Context(ctx.catalog, ctx.search.with_demoted(ids), self.command_prefix, self.community,
                       broken=dict(self._broken))

    @property
    def approved(self) -> tuple[Resource, ...]:
        return tuple(self._approved)

    def catalog_index(self) -> CatalogIndex:
        """The live catalog's URLs and titles for duplicate checks: built once per loaded catalog
        (O(catalog)), then grown with each approval (O(1))."""
        if self._index is None or self._index[0] is not self._base_catalog:
            self._index = (self._base_catalog, CatalogIndex(self._ctx.catalog.resources))
        return self._index[1]

    def reload(self) -> bool:
        """Re-read the catalog file; on any problem keep serving the last good catalog."""
        ctx = self._load()
        if ctx is None:
            return False
        self._ctx = self._marked(ctx)
        self._reapply_approved()
        gc.freeze()
        log.info("catalog reloaded: %d resources", len(ctx.catalog))
        return True

    async def reload_async(self) -> bool:
        """`reload`, with the load and the index build in a worker thread so that the event loop keeps
        answering probes and commands meanwhile (a 100,000-resource catalog takes seconds). Reloads
        asked for while one runs are folded into one more, which then sees the newest file."""
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        self._reload_wanted = True
        if self._reload_lock.locked():
            return False
        async with self._reload_lock:
            done = False
            while self._reload_wanted:
                self._reload_wanted = False
                ctx = await asyncio.to_thread(self._load)
                if ctx is not None:
                    self._ctx = self._marked(ctx)  # one swap: an answer sees the old catalog or the new, whole
                    self._reapply_approved()
                    # No gc.collect() here, unlike at start: a full collection holds the interpreter lock
                    # for as long as it takes over the new catalog, which is the stall this avoids.
                    gc.freeze()
                    log.info("catalog reloaded: %d resources", len(ctx.catalog))
                    _reloaded("ok")
                    _catalog_size(len(self._ctx.catalog))
                    done = True
                else:
                    _reloaded("invalid")
            return done

    def _reapply_approved(self) -> None:
        """After a reload the approved resources stay live (those the new YAML has are not added twice)."""
        self._base_catalog = self._ctx.catalog  # the URL index is rebuilt for the new file
        approved, self._approved = self._approved, []
        self.add_approved(approved)

    def _load(self) -> Context | None:
        if self.path is None:
            return None
        try:
            catalog = load_catalog(self.path)
        except CatalogError as exc:
            log.error("catalog reload failed, keeping the last good one:\n%s", exc)
            return None
        ctx = Context(catalog, self._engine(catalog), self.command_prefix, self.community)
        ranker = getattr(ctx.search, "semantic", None)
        if ranker is not None and hasattr(ranker, "preload"):
            ranker.preload()  # here, off the loop, before the swap: the new catalog answers questions at once
        return ctx


def _outcome_label(command: Command, outcome: object) -> str:
    """A command's outcome as one of the metrics' fixed values."""
    if not isinstance(outcome, Reply):
        return "ok"  # a form to fill in
    if not outcome.is_error:
        return "empty" if outcome.results == 0 else "ok"
    if command.name == "unknown":
        return "invalid"
    if outcome.header == "Moderators only":
        return "refused"
    if outcome.header == "That's enough for today":
        return "limited"
    return "error" if outcome.text == BotError.user_message else "invalid"


_metrics: Any = None  # bot.metrics once `enable_metrics()` ran: one-shot commands never import prometheus_client


def enable_metrics() -> None:
    """Count commands, replies and catalog changes for GET /metrics (`mlops-bot run` does)."""
    global _metrics
    from bot import metrics

    _metrics = metrics


def _measure(platform: str, command: Command, outcome: object, seconds: float) -> None:
    metrics = _metrics
    if metrics is None:
        return
    label = _outcome_label(command, outcome)
    metrics.count_command(command.name, platform, label)
    metrics.observe_reply(platform, seconds)
    if label == "empty" and command.name == "resource":
        metrics.count_empty_search(platform)


def _catalog_size(n: int) -> None:
    if _metrics is not None:
        _metrics.set_catalog_size(n)


def _reloaded(result: str) -> None:
    if _metrics is not None:
        _metrics.count_catalog_reload(result)


def settle_heap() -> None:
    """Exempt the catalog and its index, built once and kept for hours, from the cyclic collector.

    A large catalog is millions of long-lived objects; every full collection would walk them all,
    which showed up as 5-10 ms stalls in the p99 of a search at 100,000 resources. Frozen objects are
    still freed by reference counting when a reload drops them (they hold no cycles).
    """
    gc.collect()
    gc.freeze()
