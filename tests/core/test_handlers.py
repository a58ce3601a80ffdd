"""Handlers over the bundled catalog: each command's reply, and robustness for any input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.reply import ButtonAction, Reply, Visibility
from bot.service import BotService, Request


def ask(service: BotService, text: str, offset: int = 0) -> Reply:
    return service.answer(Request(text, offset=offset))


def titles(reply: Reply) -> list[str]:
    return [item.title for item in reply.items]


def test_feature_store_finds_the_three_feature_stores(service):
    reply = ask(service, "/mlops resource feature-store")
    top = titles(reply)[:4]
    for name in ("Feast", "Tecton", "Hopsworks"):
        assert name in top
    feast = next(i for i in reply.items if i.title == "Feast")
    assert feast.url == "https://docs.feast.dev/"
    assert feast.summary and "tool" in feast.meta
    assert any(link.label == "GitHub" for link in feast.links)
    assert reply.visibility is Visibility.PRIVATE
    assert not reply.is_error


def test_results_have_share_and_paging(service):
    first = ask(service, "resource mlops")
    actions = {b.action: b for b in first.buttons}
    assert actions[ButtonAction.SHARE].command == "resource mlops"
    more = actions[ButtonAction.MORE]
    assert more.offset == len(first.items) == 5
    second = ask(service, more.command, offset=more.offset)
    assert not set(first.items) & set(second.items)
    assert second.footer.startswith("Showing 6–")


def test_filters_compose_with_search(service, catalog):
    reply = ask(service, "resource kind:paper debt")
    assert reply.items and all("paper" in i.meta for i in reply.items)
    assert "Hidden Technical Debt in Machine Learning Systems" in titles(reply)[:2]
    free = ask(service, "resource free course")
    free_ids = {r.title for r in catalog.resources if r.cost == "free"}
    assert free.items and all(i.title in free_ids for i in free.items)
    beginners = ask(service, "resource level:beginner")
    assert beginners.items and all("beginner" in i.meta for i in beginners.items)


def test_empty_query_asks_for_one(service):
    reply = ask(service, "resource")
    assert reply.is_error and reply.header == "What are you looking for?"
    assert "resource feature-store" in reply.fields[0].value


def test_unknown_filter_is_explained(service):
    reply = ask(service, "resource kind:spaceship")
    assert reply.is_error and "spaceship" in reply.text


def test_long_query_is_cut_with_a_notice(service):
    reply = ask(service, "resource " + "feast " * 2000)
    assert any("first 200" in n for n in reply.notices)


def test_no_results_suggests_categories(service):
    reply = ask(service, "resource qqqqxxxzzzz")
    assert reply.header.startswith("No resources match")
    assert "Close categories" in reply.text or "Did you mean" in reply.text
    assert not reply.items


def test_unknown_subcommand_answers_with_help_and_did_you_mean(service):
    reply = ask(service, "/mlops resorce feast")
    assert reply.is_error
    assert "Did you mean `/mlops resource`?" in reply.text
    assert any("resource" in f.name for f in reply.fields)


def test_help_lists_every_command(service):
    reply = ask(service, "help")
    names = " ".join(f.name for f in reply.fields)
    for command in ("resource", "list", "compare", "path", "week"):
        assert f"/mlops {command}" in names
    assert not reply.is_error


def test_list_categories_and_one_category(service, catalog):
    overview = ask(service, "list")
    text = " ".join(f.value for f in overview.fields)
    for category in catalog.categories:
        assert f"({category.id})" in text
    podcasts = ask(service, "list podcasts")
    assert podcasts.header == "Podcasts"
    assert len(podcasts.items) == 3
    assert ask(service, "list podcast").header == "Podcasts"  # singular works too
    assert ask(service, "list papers").header == ask(service, "list research-papers").header


def test_list_unknown_category(service):
    reply = ask(service, "list podcsts-and-stuff")
    assert reply.is_error and "Did you mean" in reply.text


def test_compare_feature_stores(service):
    reply = ask(service, "compare feature-stores")
    assert reply.header == "Feature Store Comparison"
    assert [f.name for f in reply.fields] == ["Feast", "Tecton", "Hopsworks", "AWS Feature Store"]
    assert "Type: Open-source" in reply.fields[0].value
    assert "Best For: Getting started" in reply.fields[0].value
    assert ask(service, "compare experiment tracking").header == "Experiment Tracking Comparison"


def test_compare_without_topic_and_unknown_topic(service):
    assert "feature-stores" in ask(service, "compare").text
    assert ask(service, "compare kubernetes distributions").is_error


def test_learning_paths(service):
    overview = ask(service, "path")
    assert len(overview.fields) == 3
    beginner = ask(service, "path beginner")
    assert beginner.header == "Beginner Path (1-2 months)"
    assert beginner.text.startswith("1. Start with MLflow tutorials")
    assert "MLflow" in titles(beginner)
    assert ask(service, "path advansed").header.startswith("Advanced Path")
    assert ask(service, "path wizard").is_error


def test_study_schedule(service):
    week3 = ask(service, "week 3")
    assert week3.header == "Week 3 (Weeks 3–4): Feature Engineering"
    assert "Feast tutorials" in week3.text
    assert len(ask(service, "week").fields) == 5
    for bad in ("11", "0", "-1", "three", "99999999999999999999"):
        reply = ask(service, f"week {bad}")
        assert reply.is_error and "1 to 10" in reply.text


def test_share_button_re_runs_the_same_command(service):
    reply = ask(service, "week 3")
    share = next(b for b in reply.buttons if b.action is ButtonAction.SHARE)
    again = ask(service, share.command, share.offset)
    assert again.header == reply.header and again.items == reply.items
    assert not any(b.action is ButtonAction.SHARE for b in again.public().buttons)


def test_offset_past_the_end_says_so(service):
    reply = ask(service, "resource feature-store", offset=500)
    assert "No more results" in reply.header or reply.header.startswith("No resources")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.one_of(
    st.text(max_size=300),
    st.builds(lambda c, t: f"{c} {t}", st.sampled_from(["resource", "list", "compare", "path", "week", "help",
                                                          "/mlops resource", "r"]), st.text(max_size=300)),
    st.just("resource " + "x" * 10_000),
), st.integers(min_value=-5, max_value=10**9))
def test_any_text_yields_a_reply(service, text, offset):
    reply = service.answer(Request(text, offset=offset))
    assert isinstance(reply, Reply)
    assert reply.header
    assert len(reply.items) <= 10



def test_words_nothing_matches_are_named_and_the_rest_still_answers(service):
    reply = ask(service, "resource feature store zzyzxq")
    assert not reply.is_error and "Feast" in titles(reply)
    assert reply.notices == ("Nothing in the catalog matches “zzyzxq”; these match the rest of your words.",)
