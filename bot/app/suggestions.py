"""Suggestions, the application side: store, count, post for review, decide once, tell the member,
and bring approved resources into the live catalog of every replica.

Order of things, so that a kill -9 at any line loses nothing acknowledged and does nothing twice:
  1. a suggestion is committed, then acknowledged; its review posts follow (claimed per platform, and
     `maintain` posts any that a crash left out);
  2. a decision is one conditional update (with its overlay row and audit line in the same transaction),
     then this replica's catalog takes the resource at once; other replicas poll the overlay (`sync`);
  3. the review posts are updated and the member is told, each under a claim with a lease, done only
     once the platform accepted; `maintain` finishes what a crash interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from bot import metrics
from bot.app.posting import PostError, Posters
from bot.core.catalog import KINDS, Catalog
from bot.core.effects import Decide, ListPending, SubmitSuggestion
from bot.core.forms import Form, FormErrors, FormSubmission
from bot.core.permissions import Actor, Permission, can, refusal_text
from bot.core.reply import ButtonAction, Reply
from bot.core.search_api import SearchQuery
from bot.core.suggestion_views import (
    REVIEW_PAGE,
    SuggestionView,
    acknowledged,
    already_decided,
    anyway_form,
    approve_form,
    decided,
    decided_post,
    decision_message,
    duplicate_of_resource,
    duplicate_of_suggestion,
    edit_form,
    limit_reached,
    not_found,
    pending_page,
    reject_form,
    review_post,
    suggest_form,
)
from bot.core.suggestions import (
    APPROVED,
    MAX_REASON,
    PENDING,
    Draft,
    approved_resource,
    catalog_duplicate,
    check,
    guess_category,
    guess_kind,
    slug_for,
)
from bot.core.text import ascii_int, clean
from bot.errors import BotError, StorageError
from bot.service import BotService, Request
from bot.storage import Store
from bot.storage.schema import utc
from bot.storage.suggestions_repo import SuggestionsRepo

log = logging.getLogger(__name__)

DAY = dt.timedelta(hours=24)
# How often each replica looks for resources approved elsewhere (the promise is "within 10 s").
SYNC_EVERY = 2.0
# Work a crash may have left half-done (a review post, a DM) is retried by `maintain` once it is this old,
# so that it never races the request that is still doing it.
REPAIR_AFTER = dt.timedelta(minutes=2)
POST_LEASE = dt.timedelta(seconds=90)
DRAFT_TTL = dt.timedelta(days=2)


class SuggestionService:
    def __init__(self, service: BotService, store: Store, posters: Posters, *,
                 review_channels: dict[str, str] | None = None) -> None:
        self.service = service
        self.store = store
        self.posters = posters
        self.review_channels = {k: v for k, v in (review_channels or {}).items() if v}
        self.repo = SuggestionsRepo(store.engine, self.now)
        self._seen_seq = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def now(self) -> dt.datetime:
        return self.service.clock()

    def install(self) -> SuggestionService:
        s = self.service
        # The gauge of suggestions by state is read from the database only when Prometheus scrapes.
        self._unscrape = metrics.on_scrape(self._scrape)
        s.register(SubmitSuggestion, self._on_submit)
        s.register(ListPending, self._on_list)
        s.register(Decide, self._on_decide)
        for kind, handler in (("suggest", self._form_suggest), ("anyway", self._form_anyway),
                              ("approve", self._form_approve), ("reject", self._form_reject),
                              ("edit", self._form_edit)):
            s.register_form(kind, handler)
        for action, click in ((ButtonAction.APPROVE, self._click_approve), (ButtonAction.REJECT, self._click_reject),
                              (ButtonAction.EDIT, self._click_edit), (ButtonAction.ANYWAY, self._click_anyway),
                              (ButtonAction.RETRY, self._click_retry)):
            s.register_click(action, click)
        return self

    # -- intake -------------------------------------------------------------------------------------------

    async def _on_submit(self, effect: SubmitSuggestion, request: Request) -> Reply:
        draft = Draft(effect.url, effect.title, effect.why, effect.note)
        return await self.submit(draft, request, anyway=effect.anyway)

    async def submit(self, draft: Draft, request: Request, *, anyway: bool = False) -> Reply:
        actor = request.actor
        prefix = self.service.command_prefix
        existing = await self._db(self.repo.find_by_member, actor.platform, actor.user_id, draft.url_key)
        if existing is not None:
            return acknowledged(self._view(existing), again=True)
        moderator = can(actor, Permission.MODERATOR, self.service.community.moderators)
        limit = self.service.community.suggestions_per_day
        if not moderator:
            count, oldest = await self._db(self.repo.count_since, actor.platform, actor.user_id, self.now() - DAY)
            if count >= limit:
                return limit_reached(limit, (oldest or self.now()) + DAY)
        duplicate_text = None
        # In a worker thread: the index is built on first use (a second at 100,000 resources), and a fuzzy
        # title check over every name is tens of milliseconds there; neither may stall other answers.
        duplicate = await asyncio.to_thread(lambda: catalog_duplicate(draft, self.service.catalog_index()))
        if duplicate is not None:
            duplicate_text = f"{duplicate.resource.title} <{duplicate.resource.url or 'no link'}> (in the catalog)"
            if not anyway:
                token = await self._keep_draft(draft, duplicate.resource.title)
                return duplicate_of_resource(duplicate, token, prefix)
        else:
            other = await self._db(self.repo.find_by_url, draft.url_key, (PENDING, APPROVED))
            if other is not None:
                duplicate_text = f"suggestion #{other['id']}"
                if not anyway:
                    token = await self._keep_draft(draft, f"suggestion #{other['id']}")
                    return duplicate_of_suggestion(self._view(other), token)
        kind = guess_kind(draft.url, draft.title)
        found = [hit.resource for hit in self.service.search.search(SearchQuery(text=draft.title), limit=3).hits]
        values = {
            "platform": actor.platform, "user_id": actor.user_id, "user_name": actor.name[:200],
            "channel_id": request.channel_id, "url": draft.url, "url_key": draft.url_key, "title": draft.title,
            "why": draft.why, "note": draft.note, "duplicate_of": duplicate_text, "state": PENDING,
            "kind": kind, "category": guess_category(kind, draft.title, self.service.catalog, found),
        }
        row, created = await self._db(self.repo.insert, values, actor=actor.label,
                                      action="submitted anyway" if anyway and duplicate_text else "suggested",
                                      place=_place(request))
        view = self._view(row)
        if created:
            log.info("suggestion #%d from %s", view.number, actor.platform)
            self._background(self.post_reviews(view.number))
        return acknowledged(view, again=not created)

    async def _form_suggest(self, submission: FormSubmission, request: Request) -> Reply | FormErrors:
        draft = check(submission.get("url"), submission.get("title"), submission.get("why"))
        if not draft.ok:
            return FormErrors(suggest_form().with_values(submission.values), dict(draft.problems))
        return await self.submit(draft, request)

    async def _form_anyway(self, submission: FormSubmission, request: Request) -> Reply | FormErrors:
        draft = check(submission.get("url"), submission.get("title"), submission.get("why"), submission.get("note"))
        problems = dict(draft.problems)
        if not draft.note:
            problems["note"] = "Say how it differs, so that the moderators see it is not a duplicate."
        if problems:
            form = anyway_form(draft.url, draft.title, draft.why, "the one it looked like")
            return FormErrors(form.with_values(submission.values), problems)
        return await self.submit(draft, request, anyway=True)

    async def _keep_draft(self, draft: Draft, duplicate: str) -> str:
        """What the member typed, kept for a Submit anyway or a Fix button: buttons carry only this token."""
        token = secrets.token_urlsafe(9)
        await self.store.set(f"draft:{token}", json.dumps({
            "url": draft.url, "title": draft.title, "why": draft.why, "duplicate": duplicate,
            "at": self.now().isoformat()}))
        return token

    async def _draft(self, token: str) -> dict[str, str] | None:
        if not token or len(token) > 40:
            return None
        raw = await self.store.get(f"draft:{token}")
        if raw is None:
            return None
        data = json.loads(raw)
        if self.now() - dt.datetime.fromisoformat(data["at"]) > DRAFT_TTL:
            return None
        return data

    async def _click_anyway(self, ref: str, request: Request) -> Reply | Form:
        data = await self._draft(ref)
        if data is None:
            return _expired()
        return anyway_form(data["url"], data["title"], data["why"], data["duplicate"])

    async def _click_retry(self, ref: str, request: Request) -> Reply | Form:
        data = await self._draft(ref)
        if data is None:
            return _expired()
        return suggest_form(data["url"], data["title"], data["why"])

    # -- review -------------------------------------------------------------------------------------------

    async def _scrape(self) -> None:
        metrics.set_suggestions(await self._db(self.repo.counts_by_state))

    async def _on_list(self, effect: ListPending, request: Request) -> Reply:
        rows, total = await self._db(self.repo.pending, effect.offset, REVIEW_PAGE)
        page = pending_page([self._view(r) for r in rows], total, effect.offset, self.service.command_prefix)
        failures = []
        for platform, channel in self.review_channels.items():
            failure = await self.store.get(f"review:failure:{platform}")
            if failure:
                failures.append(f"Review posts to {platform} channel {channel} fail: {failure}")
        return dataclasses.replace(page, notices=page.notices + tuple(failures)) if failures else page

    async def _refused(self, request: Request, what: str, number: int | None) -> Reply | None:
        """None when the actor is a moderator; else the refusal, recorded in the audit log."""
        actor = request.actor
        moderators = self.service.community.moderators
        if can(actor, Permission.MODERATOR, moderators):
            return None
        if what in ("approve", "reject"):
            metrics.count_decision("refused")
        await self._db(self.repo.audit, actor=actor.label, action="refused", suggestion_id=number,
                       place=_place(request), detail=what)
        log.info("refused %s of #%s to %s", what, number, actor.platform)
        return Reply(header="Moderators only", text=refusal_text(actor, moderators), is_error=True)

    async def _pending_view(self, ref: str, request: Request, what: str) -> SuggestionView | Reply:
        number = ascii_int(ref)
        refusal = await self._refused(request, what, number)
        if refusal is not None:
            return refusal
        row = await self._db(self.repo.get, number) if number is not None else None
        if row is None:
            return not_found(number or 0)
        view = self._view(row)
        return already_decided(view) if view.state != PENDING else view

    async def _click_approve(self, ref: str, request: Request) -> Reply | Form:
        view = await self._pending_view(ref, request, "approve")
        if isinstance(view, Reply):
            return view
        kind = view.kind or guess_kind(view.url, view.title)
        return approve_form(view, kind, view.category or guess_category(kind, view.title, self.service.catalog, []),
                            self.service.catalog)

    async def _click_reject(self, ref: str, request: Request) -> Reply | Form:
        view = await self._pending_view(ref, request, "reject")
        return view if isinstance(view, Reply) else reject_form(view)

    async def _click_edit(self, ref: str, request: Request) -> Reply | Form:
        view = await self._pending_view(ref, request, "edit")
        return view if isinstance(view, Reply) else edit_form(view)

    async def _form_approve(self, submission: FormSubmission, request: Request) -> Reply | FormErrors:
        view = await self._pending_view(submission.ref, request, "approve")
        if isinstance(view, Reply):
            return view
        kind, category = submission.get("kind").lower(), submission.get("category").lower()
        title = clean(submission.get("title")) or view.title
        problems: dict[str, str] = {}
        if kind not in KINDS:
            problems["kind"] = f"One of: {', '.join(KINDS)}"
        if self.service.catalog.category(category) is None:
            problems["category"] = "Not a category; /mlops list shows them"
        if len(title) > 200:
            problems["title"] = "At most 200 characters"
        if problems:
            form = approve_form(view, kind, category, self.service.catalog)
            return FormErrors(form.with_values(submission.values), problems)
        return await self.decide(view.number, request, approve=True, kind=kind, category=category, title=title,
                                 summary=submission.get("summary"))

    async def _form_reject(self, submission: FormSubmission, request: Request) -> Reply | FormErrors:
        view = await self._pending_view(submission.ref, request, "reject")
        if isinstance(view, Reply):
            return view
        reason = submission.get("reason")
        if not reason:
            return FormErrors(reject_form(view).with_values(submission.values),
                              {"reason": "Give a reason: the member will read it."})
        return await self.decide(view.number, request, approve=False, reason=reason[:MAX_REASON])

    async def _form_edit(self, submission: FormSubmission, request: Request) -> Reply | FormErrors:
        view = await self._pending_view(submission.ref, request, "edit")
        if isinstance(view, Reply):
            return view
        draft = check(submission.get("url") or view.url, submission.get("title") or view.title)
        if not draft.ok:
            return FormErrors(edit_form(view).with_values(submission.values), dict(draft.problems))
        changes = {"title": draft.title, "url": draft.url, "url_key": draft.url_key,
                   "summary": clean(submission.get("summary")) or None}
        if not await self._db(self.repo.edit, view.number, changes, actor=request.actor.label, place=_place(request)):
            row = await self._db(self.repo.get, view.number)
            return already_decided(self._view(row))
        row = await self._db(self.repo.get, view.number)
        self._background(self._refresh_review_posts(self._view(row), decided_now=False))
        return Reply(header=f"Suggestion #{view.number} saved", text=f"Now: {draft.title} <{draft.url}>")

    async def _on_decide(self, effect: Decide, request: Request) -> Reply:
        view = await self._pending_view(str(effect.number), request, "approve" if effect.approve else "reject")
        if isinstance(view, Reply):
            return view
        kind = effect.kind or view.kind or guess_kind(view.url, view.title)
        category = effect.category or view.category or guess_category(kind, view.title, self.service.catalog, [])
        return await self.decide(view.number, request, approve=effect.approve, kind=kind, category=category,
                                 reason=effect.reason)

    async def decide(self, number: int, request: Request, *, approve: bool, kind: str | None = None,
                     category: str | None = None, reason: str = "", title: str | None = None,
                     summary: str | None = None) -> Reply:
        """One decision, recorded by the database: of two moderators at once, one wins; the other is told."""
        row = await self._db(self.repo.get, number)
        if row is None:
            return not_found(number)
        view = self._view(row)
        resource = None
        if approve:
            taken = _Taken(self.service.catalog)
            resource = approved_resource(resource_id=slug_for(title or view.title, taken), title=title or view.title,
                                         url=view.url, kind=kind or "website", category=category or "",
                                         summary=summary or view.summary or "", why=view.why)
        won = await self._db(self.repo.decide, number, approve=approve, actor=request.actor.label,
                             place=_place(request), kind=kind, category=category, reason=reason or None,
                             resource=resource, title=title, summary=summary)
        row = await self._db(self.repo.get, number)
        view = self._view(row)
        if not won:
            metrics.count_decision("conflict")
            return already_decided(view)
        metrics.count_decision(view.state)
        if resource is not None:
            await asyncio.to_thread(self.service.catalog_index)  # built off the loop when not yet
            self.service.add_approved([resource])  # searchable here at once; elsewhere by `sync`
        log.info("suggestion #%d %s", number, view.state)
        self._background(self.after_decision(number))
        return decided(view)

    # -- posting ------------------------------------------------------------------------------------------

    async def post_reviews(self, number: int) -> None:
        row = await self._db(self.repo.get, number)
        if row is None or row["state"] != PENDING:
            return
        view = self._view(row)
        for platform, channel in self.review_channels.items():
            poster = self.posters.get(platform)
            if poster is None:
                continue
            key = f"review:{number}:{platform}"
            if not await self.store.claim(key, POST_LEASE):
                continue
            try:
                ref = await poster.post(channel, review_post(view), key=key, metadata={"suggestion": number})
            except PostError as exc:
                await self.store.release(key)
                log.error("could not post suggestion #%d to the %s review channel: %s%s", number, platform, exc,
                          f" ({exc.hint})" if exc.hint else "")
                # Shown to the moderators by /mlops review until a post works again (an install without
                # the scope or the permission keeps answering searches; this says what is missing).
                await self.store.set(f"review:failure:{platform}", exc.hint or str(exc))
                continue
            await self._db(self.repo.add_review_post, number, platform, channel, ref)
            await self.store.complete(key)
            if await self.store.get(f"review:failure:{platform}"):
                await self.store.set(f"review:failure:{platform}", "")

    async def after_decision(self, number: int) -> None:
        row = await self._db(self.repo.get, number)
        if row is None:
            return
        view = self._view(row)
        await self._refresh_review_posts(view, decided_now=True)
        await self._notify(row, view)

    async def _refresh_review_posts(self, view: SuggestionView, *, decided_now: bool) -> None:
        reply = decided_post(view) if view.state != PENDING else review_post(view)
        for post in await self._db(self.repo.review_posts, view.number):
            poster = self.posters.get(post["platform"])
            if poster is None:
                continue
            try:
                await poster.update(post["channel_id"], post["message_ref"], reply)
            except PostError as exc:
                log.error("could not update the review post of #%d on %s: %s", view.number, post["platform"], exc)
                continue
            if decided_now:
                await self._db(self.repo.mark_review_updated, view.number, post["platform"])

    async def _notify(self, row: Any, view: SuggestionView) -> None:
        """Tell the member by DM, once: a claim with a lease, done after the platform took the message."""
        poster = self.posters.get(row["platform"])
        if poster is None or row["notified_at"] is not None:
            if poster is None:  # suggested at a console or by the operator: nobody to message
                await self._db(self.repo.mark_notified, view.number)
            return
        key = f"notify:{view.number}"
        if not await self.store.claim(key, POST_LEASE):
            return
        try:
            await poster.dm(row["user_id"], decision_message(view, self.service.command_prefix))
        except PostError as exc:
            if not exc.permanent:
                await self.store.release(key)  # `maintain` tries again
                log.warning("could not tell the member of #%d yet: %s", view.number, exc)
                return
            log.info("could not tell the member of #%d (%s): they accept no direct messages", view.number, exc.code)
        await self._db(self.repo.mark_notified, view.number)
        await self.store.complete(key)

    # -- keeping replicas and crashes in step -------------------------------------------------------------

    async def sync(self) -> int:
        """Bring in resources approved by any replica since the last look."""
        new = await self._db(self.repo.approved_after, self._seen_seq)
        if not new:
            return 0
        self._seen_seq = new[-1][0]
        await asyncio.to_thread(self.service.catalog_index)
        return self.service.add_approved([resource for _, resource in new])

    async def maintain(self) -> None:
        """Finish what a crash interrupted: review posts never made, decisions not shown, members not told."""
        before = self.now() - REPAIR_AFTER
        for platform in self.review_channels:
            for row in await self._db(self.repo.unposted, platform, before):
                await self.post_reviews(row["id"])
        for post in await self._db(self.repo.stale_review_posts, before):
            row = await self._db(self.repo.get, post["suggestion_id"])
            await self._refresh_review_posts(self._view(row), decided_now=True)
        for row in await self._db(self.repo.awaiting_notice, before):
            await self._notify(row, self._view(row))

    async def run(self, stop: asyncio.Event, *, every: float = SYNC_EVERY) -> None:
        """Poll the overlay every few seconds and repair now and then, until `stop`."""
        rounds = 0
        while not stop.is_set():
            try:
                await self.sync()
                if rounds % 30 == 0:
                    await self.maintain()
            except BotError as exc:
                log.warning("suggestions upkeep failed (will retry): %s", exc)
            rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        await self.drain(5)

    def _background(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except BotError as exc:
                log.error("suggestions: %s (will be retried)", exc)
            except Exception:
                log.exception("suggestions: unexpected error")

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # -- plumbing -----------------------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except StorageError:
            raise
        except Exception as exc:  # a driver error the repository did not wrap
            raise StorageError(f"database call failed: {exc.__class__.__name__}") from exc

    @staticmethod
    def _view(row: Any) -> SuggestionView:
        name = row["user_name"] or row["user_id"]
        return SuggestionView(
            number=row["id"], url=row["url"], title=row["title"], why=row["why"] or "", note=row["note"] or "",
            state=row["state"], suggested_by=f"{name} ({row['platform']})", created_at=utc(row["created_at"]),
            duplicate_of=row["duplicate_of"], kind=row["kind"], category=row["category"], reason=row["reason"],
            decided_by=row["decided_by"], decided_at=utc(row["decided_at"]), resource_id=row["resource_id"],
            summary=row["summary"])


class _Taken:
    """The catalog's ids as a container, looked up one by one (a set of 100,000 ids per approval would not)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __contains__(self, resource_id: object) -> bool:
        return isinstance(resource_id, str) and self.catalog.get(resource_id) is not None


def _place(request: Request) -> str:
    return f"{request.platform}:{request.channel_id}" if request.channel_id else request.platform


def _expired() -> Reply:
    return Reply(header="That has expired", text="Please start again with /mlops suggest.", is_error=True)


__all__ = ["Actor", "SuggestionService"]
