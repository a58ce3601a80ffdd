"""This week's digest: what it says, and that it fits Slack and Discord whatever the feeds and members send."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.render import limit_problems
from bot.adapters.discord.render import render as render_discord
from bot.adapters.slack.render import render_message, units
from bot.core.catalog import Catalog, Category, Link, Resource, ScheduleBlock, Step
from bot.core.digest.compose import compose_digest, study_week
from bot.core.digest.feed_item import FeedItem
from bot.core.reply import Reply, Visibility
from bot.core.urls import url_problem

MONDAY = date(2026, 12, 7)
COHORT = date(2026, 11, 23)  # so MONDAY is the start of week 3
PRACTICAL_AI_FEED = "https://changelog.com/practicalai/feed"


@pytest.fixture(scope="module")
def picks(catalog: Catalog) -> dict[str, Resource]:
    return {"newsletter": catalog.get("the-batch"), "podcast": catalog.get("practical-ai")}


def digest(catalog: Catalog, picks: dict[str, Resource], **kwargs: Any) -> Reply:
    return compose_digest(catalog, kwargs.pop("today", MONDAY), newsletter=picks["newsletter"],
                          podcast=picks["podcast"], **kwargs)


def texts(reply: Reply) -> str:
    return "\n".join([reply.header, reply.text, reply.footer,
                      *(part for i in reply.items for part in (i.title, i.summary, *i.meta))])


# -- what it says -----------------------------------------------------------------------------------

def test_the_digest_is_a_public_post_headed_with_the_local_date_and_no_buttons(catalog, picks):
    reply = digest(catalog, picks)
    assert reply.header == "This week in MLOps · Monday 7 December 2026"
    assert reply.visibility is Visibility.PUBLIC
    assert reply.buttons == () and not reply.is_error


def test_the_footer_says_how_to_suggest_a_resource_with_this_deployments_command(catalog, picks):
    assert digest(catalog, picks).footer.endswith("/mlops suggest <url>")
    assert "/learn suggest <url>" in digest(catalog, picks, command_prefix="/learn").footer


def test_the_newsletter_and_podcast_picks_come_first_and_say_what_they_are(catalog, picks):
    reply = digest(catalog, picks)
    assert [i.title for i in reply.items[:2]] == ["The Batch by DeepLearning.AI", "Practical AI"]
    assert reply.items[0].meta[0] == "Newsletter of the week"
    assert reply.items[1].meta[0] == "Podcast of the week"
    assert "Newsletter of the week: The Batch by DeepLearning.AI. Podcast of the week: Practical AI." in reply.text


def test_a_pick_reuses_the_items_every_reply_shows(catalog, picks):
    from bot.core.handlers import resource_item

    plain = resource_item(picks["newsletter"])
    item = digest(catalog, picks).items[0]
    assert (item.title, item.url, item.summary, item.links, item.meta[1:]) == (
        plain.title, plain.url, plain.summary, plain.links, plain.meta)


def test_a_known_latest_episode_is_named_and_linked(catalog, picks):
    latest = FeedItem("Episode 300: shipping models", "https://changelog.com/practicalai/300",
                      datetime(2026, 12, 3, 17, tzinfo=UTC))
    item = digest(catalog, picks, feed_items={PRACTICAL_AI_FEED: latest}).items[1]
    assert item.summary == "Applied ML topics · Latest: Episode 300: shipping models (3 Dec 2026)"
    assert item.links[0] == Link("Latest episode", "https://changelog.com/practicalai/300")


@pytest.mark.parametrize("link", ["javascript:alert(1)", "file:///etc/passwd", "/relative/300", "https://x y.com/",
                                  "https://example.com/<!channel>", None])
def test_a_feed_link_that_may_not_be_shown_is_dropped_and_the_title_kept(catalog, picks, link):
    item = digest(catalog, picks, feed_items={PRACTICAL_AI_FEED: FeedItem("Episode 301", link)}).items[1]
    assert item.summary.endswith("Latest: Episode 301")
    assert item.links == picks["podcast"].extra_links


def test_a_feed_title_is_cleaned_and_cut(catalog, picks):
    latest = FeedItem("\u202eEpisode\n\n 302\x00 " + "long " * 500, "https://changelog.com/practicalai/302")
    summary = digest(catalog, picks, feed_items={PRACTICAL_AI_FEED: latest}).items[1].summary
    line = summary.split(" · ")[-1]
    assert line.startswith("Latest: Episode 302 long")
    assert len(line) <= len("Latest: ") + 200 and line.endswith("…")


@pytest.mark.parametrize("feeds", [None, {}, {PRACTICAL_AI_FEED: None}, {"https://other.example/feed": None},
                                   {PRACTICAL_AI_FEED: FeedItem("", None)}])
def test_without_a_usable_latest_entry_the_pick_shows_as_usual(catalog, picks, feeds):
    assert "Latest" not in digest(catalog, picks, feed_items=feeds).items[1].summary


def test_new_resources_are_shown_up_to_three_and_the_rest_counted(catalog, picks):
    fresh = [r for r in catalog if r.kind == "tool"][:5]
    reply = digest(catalog, picks, new_resources=fresh)
    assert [i.title for i in reply.items[2:]] == [r.title for r in fresh[:3]]
    assert all(i.meta[0] == "New this week" for i in reply.items[2:])
    assert f"New in the catalog since the last digest: {fresh[0].title}, {fresh[1].title}, {fresh[2].title} " \
           "and 2 more." in reply.text


def test_a_new_resource_that_is_also_a_pick_is_shown_once(catalog, picks):
    reply = digest(catalog, picks, new_resources=[picks["podcast"], picks["podcast"]])
    assert [i.title for i in reply.items] == ["The Batch by DeepLearning.AI", "Practical AI"]
    assert "New in the catalog" not in reply.text


def test_the_study_step_of_the_cohorts_current_week_is_shown_with_its_resources(catalog, picks):
    reply = digest(catalog, picks, cohort_start=COHORT)
    assert "Study schedule, week 3 of 10: Feature Engineering\n• Feast tutorials\n• Feature store implementation" \
        in reply.text
    studied = [i.title for i in reply.items if i.meta[0] == "Week 3 study"]
    assert studied == ["Feast", "Feast Tutorials", "Machine Learning Design Patterns"]


def test_before_the_cohort_starts_the_digest_says_when_it_will(catalog, picks):
    reply = digest(catalog, picks, cohort_start=date(2027, 1, 4))
    assert "The study cohort starts on Monday 4 January 2027" in reply.text
    assert not any(i.meta[0].startswith("Week") for i in reply.items)


def test_after_the_last_week_the_digest_says_the_schedule_is_over(catalog, picks):
    reply = digest(catalog, picks, cohort_start=MONDAY - timedelta(weeks=10))
    assert "The 10-week study schedule is over" in reply.text
    assert not any(i.meta[0].startswith("Week") for i in reply.items)


def test_without_a_cohort_there_is_no_study_step(catalog, picks):
    assert "study" not in digest(catalog, picks).text.lower()


def test_a_week_without_picks_or_news_still_says_something(catalog):
    reply = compose_digest(catalog, MONDAY, newsletter=None, podcast=None)
    assert reply.items == () and reply.text.startswith("A quiet week")


@pytest.mark.parametrize(("today", "week", "title"), [
    (COHORT, 1, "Foundations"),
    (COHORT + timedelta(days=6), 1, "Foundations"),
    (COHORT + timedelta(days=7), 2, "Foundations"),
    (COHORT + timedelta(days=14), 3, "Feature Engineering"),
    (COHORT + timedelta(days=69), 10, "Best Practices"),
    (COHORT + timedelta(days=70), None, None),
    (COHORT - timedelta(days=1), None, None),
])
def test_the_study_week_counts_seven_days_a_week_from_the_cohort_start(catalog, today, week, title):
    found = study_week(COHORT, today, catalog)
    assert (found[0], found[1].title) == (week, title) if week else found is None


def test_a_week_the_schedule_leaves_free_has_no_study_step():
    sparse = Catalog(resources=(), categories=(Category("c", "C", "s"),), schedule=(
        ScheduleBlock((1, 2), "Start", (Step("read"),)), ScheduleBlock((4,), "End", (Step("write"),))))
    assert study_week(COHORT, COHORT + timedelta(weeks=2), sparse) is None
    reply = compose_digest(sparse, COHORT + timedelta(weeks=2), newsletter=None, podcast=None, cohort_start=COHORT)
    assert "study" not in reply.text.lower()
    assert "week 4 of 4: End" in compose_digest(sparse, COHORT + timedelta(weeks=3), newsletter=None, podcast=None,
                                                 cohort_start=COHORT).text


# -- it fits ----------------------------------------------------------------------------------------

def slack_problems(message: dict[str, Any]) -> list[str]:
    """Slack's Block Kit limits the digest could meet (UTF-16 units, as Slack counts), and any ping."""
    problems = []
    blocks = message["blocks"]
    if not 1 <= len(blocks) <= 50:
        problems.append(f"{len(blocks)} blocks")
    if "link_names" in message:
        problems.append("link_names set")
    texts = [message["text"]]
    for block in blocks:
        if block["type"] == "header":
            texts.append(block["text"]["text"])
            if units(block["text"]["text"]) > 150:
                problems.append("header over 150")
        elif block["type"] == "section":
            texts.append(block["text"]["text"])
            if units(block["text"]["text"]) > 3000:
                problems.append("section over 3000")
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
            if len(block["elements"]) > 10 or any(units(e["text"]) > 3000 for e in block["elements"]):
                problems.append("context over its limits")
        else:
            problems.append(f"a {block['type']} block in a digest")
    for text in texts:
        rest = re.sub(r"<https?://[^|<>\s]+\|[^<>]*>", "", text)  # our own links
        if "<" in rest or re.search(r"@(here|channel|everyone)\b", text, re.IGNORECASE):
            problems.append(f"could ping: {text[:60]!r}")
    return problems


def fits_everywhere(reply: Reply) -> None:
    assert slack_problems(render_message(reply)) == []
    assert limit_problems(render_discord(reply)) == []


def test_the_seed_catalogs_digest_fits_slack_and_discord(catalog, picks):
    latest = FeedItem("Episode 300", "https://changelog.com/practicalai/300", datetime(2026, 12, 3, tzinfo=UTC))
    reply = digest(catalog, picks, feed_items={PRACTICAL_AI_FEED: latest}, cohort_start=COHORT,
                   new_resources=[r for r in catalog if r.kind == "paper"])
    assert len(reply.items) == 8
    fits_everywhere(reply)
    assert len(render_discord(reply).embeds) == 9  # every item its own embed: none folded into "more"


HOSTILE = ["@channel", "@here", "<!here>", "<!channel>", "<@U123>", "*bold*", "_it_", "`code`", "[x](javascript:1)",
           "# head", "> quote", "\u202e", "\x00", "😀", "&amp;", "|", "\n"]
fragment = st.sampled_from(HOSTILE) | st.text(max_size=6)
hostile = st.one_of(
    st.lists(fragment, max_size=10).map("".join),
    st.tuples(st.lists(fragment, min_size=1, max_size=3).map("".join), st.integers(100, 10_000))
      .map(lambda t: (t[0] * t[1])[:10_000]),
)
feed_links = st.one_of(st.none(), st.sampled_from([
    "javascript:alert(1)", "https://ok.example/ep", "data:text/html,<b>", "https://e.example/<!here>",
    "https://e.example/" + "x" * 3000, "ftp://files.example/x", "//no-scheme.example/x"]), hostile)


def hostile_resource(kind: str) -> st.SearchStrategy[Resource]:
    return st.builds(
        Resource, id=st.uuids().map(str), title=hostile, kind=st.just(kind), category=st.just("podcasts"),
        summary=hostile, url=st.sampled_from([None, "https://ok.example/r"]),
        links=st.lists(st.builds(Link, label=hostile, url=st.just("https://ok.example/l")), max_size=3).map(tuple),
        authors=st.lists(hostile, max_size=3).map(tuple), feed=st.just(f"https://feeds.example/{kind}"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_resource("newsletter"), hostile_resource("podcast"),
       st.lists(st.one_of(st.none(), st.builds(FeedItem, title=hostile, link=feed_links)), min_size=2, max_size=2),
       st.lists(hostile_resource("tool"), max_size=8), st.booleans())
def test_any_digest_fits_slack_and_discord_and_shows_only_safe_links(catalog, newsletter, podcast, latest, fresh,
                                                                     studying):
    feeds = {"https://feeds.example/newsletter": latest[0], "https://feeds.example/podcast": latest[1]}
    reply = compose_digest(catalog, MONDAY, newsletter=newsletter, podcast=podcast, feed_items=feeds,
                           new_resources=fresh, cohort_start=COHORT if studying else None)
    fits_everywhere(reply)
    for item in reply.items:
        assert all(url_problem(link.url) is None for link in item.links)
