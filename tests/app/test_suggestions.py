"""Suggestions through the service on a real database: intake, duplicates, limits, one decision, the overlay."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot.app.wiring import App
from bot.core.forms import Form, FormErrors, FormSubmission
from bot.core.reply import ButtonAction, Reply
from bot.core.search_api import SearchQuery
from tests.app.conftest import MODERATOR, Clock, RecordingPoster, make_app, member

URL = "https://example.com/blog/feature-stores-explained"


async def say(app: App, text: str, **kw: str) -> Reply | Form:
    outcome = await app.service.handle(member(text, **kw))
    if app.suggestions is not None:
        await app.suggestions.drain(5)
    return outcome


def ids(app: App, query: str) -> list[str]:
    return [h.resource.id for h in app.service.search.search(SearchQuery(text=query), limit=5).hits]


def poster(app: App) -> RecordingPoster:
    found = app.posters.get("slack")
    assert isinstance(found, RecordingPoster)
    return found


async def test_a_suggestion_is_stored_before_it_is_acknowledged_with_its_number(app: App):
    reply = await say(app, f"suggest {URL} Feature stores explained | a clear intro")
    assert isinstance(reply, Reply) and not reply.is_error
    assert reply.header == "Suggestion #1 received"
    row = app.suggestions.repo.get(1)
    assert row["state"] == "pending" and row["title"] == "Feature stores explained" and row["why"] == "a clear intro"
    # And its review post went to the review channel, with one-click buttons.
    ((channel, post, key),) = poster(app).posts
    assert channel == "C0REVIEW" and key == "review:1:slack"
    assert [b.action for b in post.buttons] == [ButtonAction.APPROVE, ButtonAction.REJECT, ButtonAction.EDIT]
    assert {b.ref for b in post.buttons} == {"1"}


async def test_the_same_member_sending_the_same_url_again_gets_the_same_number(app: App):
    await say(app, f"suggest {URL}")
    again = await say(app, f"suggest {URL}/?utm_source=slack#top")  # a retry, a double click, a copy
    assert again.header == "Suggestion #1" and "already" in again.text
    assert len(app.suggestions.repo.listing()) == 1
    assert len(poster(app).posts) == 1


async def test_suggest_alone_opens_a_form_and_the_form_makes_the_suggestion(app: App):
    form = await say(app, "suggest")
    assert isinstance(form, Form) and [f.name for f in form.fields] == ["url", "title", "why"]
    reply = await app.service.submit(member(""), FormSubmission("suggest", "", {"url": URL, "title": "", "why": "x"}))
    assert isinstance(reply, Reply) and reply.header == "Suggestion #1 received"
    assert app.suggestions.repo.get(1)["title"] == "Feature stores explained"  # from the link's path


@pytest.mark.parametrize(("url", "field"), [
    ("javascript:alert(1)", "url"), ("https://user:hunter2@example.com/x", "url"), ("https://localhost/x", "url"),
    ("https://example.com/" + "a" * 2000, "url"), ("ftp://example.com/x", "url"), ("", "url"),
])
async def test_a_mistake_says_what_to_fix_keeps_the_text_and_stores_nothing(app: App, url: str, field: str):
    values = {"url": url, "title": "Mine", "why": "because"}
    outcome = await app.service.submit(member(""), FormSubmission("suggest", "", values))
    assert isinstance(outcome, FormErrors) and field in outcome.errors
    assert {f.name: f.value for f in outcome.form.fields} == values
    assert "hunter2" not in outcome.message
    typed = await say(app, f"suggest {url} Mine | because")
    assert isinstance(typed, Reply) and typed.is_error
    assert app.suggestions.repo.listing() == []


async def test_a_title_or_why_too_long_is_refused(app: App):
    for values in ({"url": URL, "title": "t" * 201}, {"url": URL, "why": "w" * 1001}):
        outcome = await app.service.submit(member(""), FormSubmission("suggest", "", values))
        assert isinstance(outcome, FormErrors)
    assert app.suggestions.repo.listing() == []


@pytest.mark.parametrize("url", [
    "https://docs.feast.dev/", "http://www.docs.feast.dev?utm_source=newsletter&fbclid=1",
    "https://DOCS.FEAST.DEV/#intro", "https://github.com/feast-dev/feast/",
])
async def test_a_link_the_catalog_has_is_a_duplicate_naming_the_resource(app: App, url: str):
    reply = await say(app, f"suggest {url}")
    assert reply.header == "Already in the catalog" and "Feast" in reply.text
    assert reply.items[0].url == "https://docs.feast.dev/"
    (anyway,) = reply.buttons
    assert anyway.action is ButtonAction.ANYWAY and anyway.ref
    assert app.suggestions.repo.listing() == []


async def test_submit_anyway_asks_how_it_differs_and_records_the_duplicate(app: App):
    reply = await say(app, "suggest https://docs.feast.dev/blog Feast")
    form = await app.service.click(member(""), ButtonAction.ANYWAY, reply.buttons[0].ref)
    assert isinstance(form, Form) and form.kind == "anyway"
    values = {f.name: f.value for f in form.fields}
    missing = await app.service.submit(member(""), FormSubmission("anyway", "", values))
    assert isinstance(missing, FormErrors) and "note" in missing.errors
    values["note"] = "the blog, not the docs"
    done = await app.service.submit(member(""), FormSubmission("anyway", "", values))
    assert done.header == "Suggestion #1 received"
    row = app.suggestions.repo.get(1)
    assert "Feast" in row["duplicate_of"] and row["note"] == "the blog, not the docs"
    assert [e.action for e in app.suggestions.repo.audit_log(1)] == ["submitted anyway"]


async def test_a_url_another_member_suggested_is_a_duplicate_naming_its_number(app: App):
    await say(app, f"suggest {URL}", user="U0OTHER")
    reply = await say(app, f"suggest {URL}?ref=twitter")
    assert reply.header == "Already suggested as #1"


async def test_a_title_like_a_catalog_title_is_flagged(app: App):
    reply = await say(app, "suggest https://example.org/mlflow-page MLflow")
    assert reply.header == "Already in the catalog" and "similar title" in reply.text


async def test_at_most_the_daily_limit_in_any_24_hours_and_moderators_are_exempt(app: App, clock: Clock):
    for n in range(5):
        clock.now += dt.timedelta(minutes=10)
        assert (await say(app, f"suggest https://example.com/page-{n}")).header.endswith("received")
    refused = await say(app, "suggest https://example.com/page-5")
    # The first of the five was at 12:10: a day later the member may suggest again.
    assert refused.header == "That's enough for today" and "2 Dec 2026 12:10 UTC" in refused.text
    assert len(app.suggestions.repo.listing()) == 5
    for n in range(6):
        assert (await say(app, f"suggest https://example.com/mod-{n}", user=MODERATOR)).header.endswith("received")
    clock.now += dt.timedelta(hours=24)
    assert (await say(app, "suggest https://example.com/page-5")).header.endswith("received")


async def test_an_approval_is_searchable_at_once_and_tells_the_member(app: App):
    await say(app, f"suggest {URL} Feature stores explained | a clear intro")
    assert "feature-stores-explained" not in ids(app, "feature stores explained")
    reply = await say(app, "approve 1 kind:blog category:feature-stores", user=MODERATOR)
    assert reply.header == "Suggestion #1 approved"
    assert ids(app, "feature stores explained")[0] == "feature-stores-explained"
    assert app.service.catalog.get("feature-stores-explained").category == "feature-stores"
    ((user, dm),) = poster(app).dms
    assert user == "U0MEMBER" and "approved" in dm.header
    ((channel, ref, updated),) = poster(app).updates
    assert (channel, ref) == ("C0REVIEW", "ts1") and not updated.buttons and MODERATOR in updated.text
    assert app.suggestions.repo.get(1)["notified_at"] is not None


async def test_another_replica_sees_the_approval_within_its_next_sync(app: App, database_url: str, clock: Clock):
    other = make_app(database_url, clock)
    try:
        await other.suggestions.sync()
        await say(app, f"suggest {URL} Feature stores explained")
        await say(app, "approve 1", user=MODERATOR)
        assert "feature-stores-explained" not in ids(other, "feature stores explained")
        assert await other.suggestions.sync() == 1
        assert ids(other, "feature stores explained")[0] == "feature-stores-explained"
    finally:
        other.store.close()


async def test_an_approved_resource_survives_a_reload_and_a_restart(app: App, database_url: str, clock: Clock):
    await say(app, f"suggest {URL} Feature stores explained")
    await say(app, "approve 1", user=MODERATOR)
    assert app.service.reload()
    assert ids(app, "feature stores explained")[0] == "feature-stores-explained"
    restarted = make_app(database_url, clock)
    try:
        await restarted.suggestions.sync()
        assert ids(restarted, "feature stores explained")[0] == "feature-stores-explained"
    finally:
        restarted.store.close()


async def test_a_rejection_needs_a_reason_and_the_member_reads_it(app: App):
    await say(app, f"suggest {URL}")
    assert (await say(app, "reject 1", user=MODERATOR)).header == "Why reject it?"
    reply = await say(app, "reject 1 covered by the Feast docs", user=MODERATOR)
    assert reply.header == "Suggestion #1 rejected"
    ((_, dm),) = poster(app).dms
    assert "covered by the Feast docs" in dm.text


async def test_anyone_else_is_refused_naming_their_id_and_nothing_changes(app: App):
    await say(app, f"suggest {URL}")
    for text in ("approve 1", "reject 1 no", "review"):
        reply = await say(app, text, user="U0NOBODY")
        assert reply.header == "Moderators only" and "U0NOBODY" in reply.text and "SLACK_MODERATORS" in reply.text
    for action in (ButtonAction.APPROVE, ButtonAction.REJECT, ButtonAction.EDIT):
        clicked = await app.service.click(member("", user="U0NOBODY"), action, "1")
        assert isinstance(clicked, Reply) and clicked.header == "Moderators only"
    forged = await app.service.submit(member("", user="U0NOBODY"),
                                      FormSubmission("approve", "1", {"kind": "blog", "category": "feature-stores"}))
    assert forged.header == "Moderators only"
    assert app.suggestions.repo.get(1)["state"] == "pending"
    assert [e.action for e in app.suggestions.repo.audit_log(1)].count("refused") == 4


async def test_two_moderators_at_once_record_one_decision(app: App, clock: Clock):
    await say(app, f"suggest {URL}")
    first, second = await asyncio.gather(
        app.suggestions.decide(1, member("", user=MODERATOR, name="mia"), approve=True, kind="blog",
                               category="feature-stores"),
        app.suggestions.decide(1, member("", user=MODERATOR, name="max"), approve=False, reason="no"))
    headers = [first.header, second.header]
    assert sum("decided already" in h for h in headers) == 1, headers
    assert {"Suggestion #1 approved", "Suggestion #1 rejected"} & set(headers), headers
    loser = first if "decided already" in first.header else second
    assert app.suggestions.repo.get(1)["decided_by"].split(" ")[0] in loser.text
    decisions = [e.action for e in app.suggestions.repo.audit_log(1) if e.action in ("approved", "rejected")]
    assert len(decisions) == 1
    again = await say(app, "approve 1", user=MODERATOR)
    assert "decided already" in again.header


async def test_the_approve_button_proposes_kind_and_category_the_moderator_can_change(app: App):
    await say(app, "suggest https://arxiv.org/abs/2209.09125 Operationalizing Machine Learning: An Interview Study")
    form = await app.service.click(member("", user=MODERATOR), ButtonAction.APPROVE, "1")
    assert isinstance(form, Form) and form.kind == "approve"
    proposed = {f.name: f.value for f in form.fields}
    assert proposed["kind"] == "paper"
    assert app.service.catalog.category(proposed["category"]) is not None
    bad = await app.service.submit(member("", user=MODERATOR),
                                   FormSubmission("approve", "1", {**proposed, "kind": "podcats"}))
    assert isinstance(bad, FormErrors) and "kind" in bad.errors
    good = await app.service.submit(member("", user=MODERATOR), FormSubmission("approve", "1", proposed))
    assert good.header == "Suggestion #1 approved"


async def test_edit_changes_a_pending_suggestion_with_before_and_after_in_the_audit(app: App):
    await say(app, f"suggest {URL}")
    form = await app.service.click(member("", user=MODERATOR), ButtonAction.EDIT, "1")
    values = {f.name: f.value for f in form.fields} | {"title": "Feature Stores, Explained"}
    saved = await app.service.submit(member("", user=MODERATOR), FormSubmission("edit", "1", values))
    assert saved.header == "Suggestion #1 saved"
    (entry,) = [e for e in app.suggestions.repo.audit_log(1) if e.action == "edited"]
    assert entry.before["title"] == "Feature stores explained" and entry.after["title"] == "Feature Stores, Explained"


async def test_a_member_with_closed_dms_is_logged_once_and_nothing_else(app: App, caplog):
    caplog.set_level(logging.INFO)
    poster(app).refuse_dms = True
    await say(app, f"suggest {URL}")
    await say(app, "approve 1", user=MODERATOR)
    assert app.suggestions.repo.get(1)["notified_at"] is not None
    assert len([r for r in caplog.records if "accept no direct messages" in r.getMessage()]) == 1


async def test_review_lists_the_pending_oldest_first_with_buttons(app: App, clock: Clock):
    for n in range(7):
        clock.now += dt.timedelta(minutes=1)
        await say(app, f"suggest https://example.com/page-{n}", user=MODERATOR)
    page = await say(app, "review", user=MODERATOR)
    assert page.header == "Waiting for review: 7"
    assert [f.name.split()[0] for f in page.fields] == ["#1", "#2", "#3", "#4", "#5"]
    assert {b.ref for b in page.buttons if b.action is ButtonAction.APPROVE} == {"1", "2", "3", "4", "5"}
    more = next(b for b in page.buttons if b.action is ButtonAction.MORE)
    second = await app.service.handle(member(more.command, user=MODERATOR).__class__(
        more.command, platform="slack", user_id=MODERATOR, offset=more.offset))
    assert [f.name.split()[0] for f in second.fields] == ["#6", "#7"]


async def test_a_crash_before_the_review_post_is_repaired_later(app: App, clock: Clock):
    app.suggestions.review_channels = {}  # as if the process died before posting
    await say(app, f"suggest {URL}")
    app.suggestions.review_channels = {"slack": "C0REVIEW"}
    clock.now += dt.timedelta(minutes=5)
    await app.suggestions.maintain()
    assert [key for _, _, key in poster(app).posts] == ["review:1:slack"]
    await app.suggestions.maintain()
    assert len(poster(app).posts) == 1


async def test_a_review_post_the_platform_refuses_is_shown_to_moderators_with_what_is_missing(app: App):
    from bot.app.posting import PostError

    async def refuse(*_: object, **__: object) -> str:
        raise PostError("missing_scope", code="missing_scope", permanent=True,
                        hint="The app lacks the chat:write scope: reinstall it from the manifest")

    poster(app).post = refuse  # type: ignore[method-assign]
    await say(app, f"suggest {URL}")
    page = await say(app, "review", user=MODERATOR)
    assert page.notices == ("Review posts to slack channel C0REVIEW fail: The app lacks the chat:write scope: "
                            "reinstall it from the manifest",)
    assert page.header == "Waiting for review: 1"  # the suggestion itself is safe
