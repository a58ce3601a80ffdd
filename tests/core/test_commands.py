"""The command grammar: the same on every platform, never raising on anything typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import MAX_QUERY, QueryError, parse, parse_query, suggest_command


@pytest.mark.parametrize(("text", "name", "args"), [
    ("/mlops resource feature-store", "resource", "feature-store"),
    ("resource   feature   store ", "resource", "feature store"),
    ("/MLOPS Resource Feast", "resource", "Feast"),
    ("search mlflow", "resource", "mlflow"),
    ("list", "list", ""),
    ("list podcasts", "list", "podcasts"),
    ("compare feature-stores", "compare", "feature-stores"),
    ("path beginner", "path", "beginner"),
    ("week 3", "week", "3"),
    ("help", "help", ""),
    ("", "help", ""),
    ("/mlops", "help", ""),
    ("   ", "help", ""),
    ("frobnicate now", "unknown", "frobnicate"),
    ("/mlopsresource x", "unknown", "/mlopsresource"),
])
def test_parse(text, name, args):
    command = parse(text)
    assert (command.name, command.args) == (name, args)


def test_long_query_is_cut_with_a_notice():
    command = parse("resource " + "a" * 10_000)
    assert len(command.args) == MAX_QUERY
    assert command.notices and "first 200" in command.notices[0]


def test_control_characters_are_dropped():
    assert parse("resource fea\x00st\u202e\x1b[31m").args == "feast[31m"


@pytest.mark.parametrize(("typo", "meant"), [("resorce", "resource"), ("lst", "list"), ("compar", "compare"),
                                              ("hlep", "help"), ("wek", "week")])
def test_did_you_mean(typo, meant):
    assert suggest_command(typo) == meant


def test_did_you_mean_gives_up_on_nonsense():
    assert suggest_command("zzzzzzzzzz") is None


def test_filters_are_split_from_text():
    query = parse_query("kind:paper level:beginner free technical debt")
    assert query.text == "technical debt"
    assert query.kinds == {"paper"} and query.levels == {"beginner"} and query.costs == {"free"}


def test_filter_words_are_forgiving():
    assert parse_query("kind:papers").kinds == {"paper"}
    assert parse_query("KIND:Podcasts").kinds == {"podcast"}
    assert parse_query("category:podcasts", {"podcasts"}).categories == {"podcasts"}


@pytest.mark.parametrize("text", ["kind:spaceship", "level:expert", "category:nowhere", "cost:cheap"])
def test_unknown_filter_values_are_refused_with_a_message(text):
    with pytest.raises(QueryError) as info:
        parse_query(text, {"podcasts"})
    assert "Try one of" in str(info.value) or "/mlops list" in str(info.value)


@given(st.text(max_size=5000))
def test_parse_never_raises(text):
    command = parse(text)
    assert len(command.args) <= MAX_QUERY


def test_the_truncation_notice_states_the_length_the_member_sent():
    command = parse("resource " + "a" * 10_000)
    assert "10,000 characters" in command.notices[0]
