"""The Prometheus metrics: the helpers move them, every label value comes from a fixed set whatever a
caller passes, and the exposition is one Prometheus parses."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.core.registry import specs
from bot.metrics import OTHER, REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def families() -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(metrics.exposition().decode())}


ALLOWED = {
    "command": {s.name for s in specs()},
    "platform": set(metrics.PLATFORMS),
    "outcome": set(metrics.COMMAND_OUTCOMES) | set(metrics.DECISION_OUTCOMES),
    "state": set(metrics.SUGGESTION_STATES),
    "result": set(metrics.DIGEST_RESULTS) | set(metrics.CALL_RESULTS) | set(metrics.RELOAD_RESULTS),
    "method": set(metrics.PLATFORM_METHODS),
}


def test_counting_a_command_moves_its_counter_by_one() -> None:
    before = value("mlops_commands_total", command="resource", platform="slack", outcome="ok")
    metrics.count_command("resource", "slack", "ok")
    assert value("mlops_commands_total", command="resource", platform="slack", outcome="ok") == before + 1


def test_an_alias_counts_under_its_commands_name() -> None:
    alias = next(a for s in specs() for a in s.aliases)
    name = next(s.name for s in specs() if alias in s.aliases)
    before = value("mlops_commands_total", command=name, platform="discord", outcome="ok")
    metrics.count_command(alias.upper(), "Discord", "OK")
    assert value("mlops_commands_total", command=name, platform="discord", outcome="ok") == before + 1


@pytest.mark.parametrize(("name", "platform", "outcome", "expected"), [
    ("resorce", "slack", "ok", (OTHER, "slack", "ok")),  # a typo of a command
    ("resource feature-store", "slack", "ok", (OTHER, "slack", "ok")),  # query text
    ("week", "telegram", "ok", ("week", OTHER, "ok")),
    ("week", "console", "exploded", ("week", "console", OTHER)),
    ("U024BE7LH", "C0123", "<@U024BE7LH>", (OTHER, OTHER, OTHER)),  # ids
])
def test_a_value_outside_its_set_becomes_other(name: str, platform: str, outcome: str,
                                               expected: tuple[str, str, str]) -> None:
    command, platform_label, outcome_label = expected
    labels = {"command": command, "platform": platform_label, "outcome": outcome_label}
    before = value("mlops_commands_total", **labels)
    metrics.count_command(name, platform, outcome)
    assert value("mlops_commands_total", **labels) == before + 1


def test_the_same_command_counted_again_and_again_adds_up_under_each_spelling() -> None:
    """Each caller's values are mapped to their series once and kept: counting again must still count."""
    labels = {"command": "resource", "platform": "slack", "outcome": "empty"}
    before = value("mlops_commands_total", **labels)
    replies = value("mlops_reply_seconds_count", platform="slack")
    empty = value("mlops_searches_empty_total", platform="slack")
    for spelling in ("resource", "Resource", "search", " r "):
        for _ in range(3):
            metrics.count_command(spelling, "slack", "empty")
            metrics.observe_reply("slack", 0.01)
            metrics.count_empty_search("slack")
    assert value("mlops_commands_total", **labels) == before + 12
    assert value("mlops_reply_seconds_count", platform="slack") == replies + 12
    assert value("mlops_searches_empty_total", platform="slack") == empty + 12


def test_values_past_what_is_kept_or_that_cannot_be_kept_still_count() -> None:
    before = value("mlops_commands_total", command=OTHER, platform="cli", outcome="ok")
    for number in range(metrics._SERIES_KEPT + 50):  # every one a different value, all of them "other"
        metrics.count_command(f"typo{number}", "cli", "ok")
    assert len(metrics._commands_series) <= metrics._SERIES_KEPT
    metrics.count_command(["resource"], "cli", "ok")  # type: ignore[arg-type]  # not a str, nor hashable
    assert value("mlops_commands_total", command=OTHER, platform="cli", outcome="ok") == (
        before + metrics._SERIES_KEPT + 51)
    replies = value("mlops_reply_seconds_count", platform=OTHER)
    metrics.observe_reply({"slack"}, 0.01)  # type: ignore[arg-type]
    assert value("mlops_reply_seconds_count", platform=OTHER) == replies + 1


def test_every_helper_moves_its_own_metric() -> None:
    cases = [
        (lambda: metrics.count_empty_search("console"), "mlops_searches_empty_total", {"platform": "console"}, 1),
        (lambda: metrics.count_decision("approved"), "mlops_suggestion_decisions_total", {"outcome": "approved"}, 1),
        (lambda: metrics.count_digest("late"), "mlops_digests_total", {"result": "late"}, 1),
        (lambda: metrics.count_platform_call("slack", "chat.postMessage", "rate_limited"),
         "mlops_platform_calls_total", {"platform": "slack", "method": "chat.postMessage", "result": "ratelimited"},
         1),
        (lambda: metrics.count_platform_call("discord", "/channels/123/messages", "ok"),
         "mlops_platform_calls_total", {"platform": "discord", "method": OTHER, "result": "ok"}, 1),
        (lambda: metrics.count_catalog_reload("invalid"), "mlops_catalog_reloads_total", {"result": "invalid"}, 1),
        (lambda: metrics.observe_tick(0.2), "mlops_scheduler_ticks_total", {}, 1),
        (lambda: metrics.observe_tick(0.2), "mlops_scheduler_tick_seconds_count", {}, 1),
        (lambda: metrics.observe_reply("slack", 0.03), "mlops_reply_seconds_count", {"platform": "slack"}, 1),
        (lambda: metrics.observe_reply("slack", 0.03), "mlops_reply_seconds_bucket", {"platform": "slack",
                                                                                      "le": "0.05"}, 1),
    ]
    for call, name, labels, step in cases:
        before = value(name, **labels)
        call()
        assert value(name, **labels) == before + step, name


def test_a_timed_reply_is_observed_even_when_it_raises() -> None:
    before = value("mlops_reply_seconds_count", platform="discord")
    with pytest.raises(RuntimeError), metrics.time_reply("discord"):
        raise RuntimeError("the handler failed")
    assert value("mlops_reply_seconds_count", platform="discord") == before + 1


def test_the_catalog_size_gauge_holds_the_last_size_set() -> None:
    metrics.set_catalog_size(68)
    metrics.set_catalog_size(70)
    assert value("mlops_catalog_resources") == 70


def test_suggestions_by_state_are_set_from_counts_and_a_state_left_out_is_zero() -> None:
    metrics.set_suggestions({"pending": 3, "approved": 10, "rejected": 2})
    metrics.set_suggestions({"pending": 1, "approved": 11})
    assert [value("mlops_suggestions", state=s) for s in ("pending", "approved", "rejected")] == [1, 11, 0]
    metrics.set_suggestions({"pending": 1, "withdrawn": 4, "spam": 1})
    assert value("mlops_suggestions", state=OTHER) == 5
    metrics.set_suggestions({"pending": 1})
    assert REGISTRY.get_sample_value("mlops_suggestions", {"state": OTHER}) is None  # gone, not a stale 5


def test_the_small_label_sets_are_exported_at_zero_before_anything_happens() -> None:
    samples = {(s.name, tuple(sorted(s.labels.items()))) for f in families().values() for s in f.samples}
    for result in metrics.DIGEST_RESULTS:
        assert ("mlops_digests_total", (("result", result),)) in samples


def test_the_exposition_parses_and_names_every_metric_with_its_type() -> None:
    metrics.count_command("help", "cli", "ok")
    found = {name: family.type for name, family in families().items()}
    assert {
        "mlops_commands": "counter", "mlops_reply_seconds": "histogram", "mlops_searches_empty": "counter",
        "mlops_suggestions": "gauge", "mlops_suggestion_decisions": "counter", "mlops_digests": "counter",
        "mlops_platform_calls": "counter", "mlops_catalog_resources": "gauge", "mlops_catalog_reloads": "counter",
        "mlops_scheduler_ticks": "counter", "mlops_scheduler_tick_seconds": "histogram",
    }.items() <= found.items()
    assert not any(name.endswith("_created") for name in found)  # one series per label set, not two


def test_the_registry_is_the_bots_own_not_the_global_default() -> None:
    from prometheus_client import REGISTRY as DEFAULT

    assert DEFAULT.get_sample_value("mlops_catalog_resources") is None


hostile = st.one_of(st.text(), st.sampled_from(["resource", "slack", "ok", "pending", "posted", "chat.update",
                                                "\"}\n# TYPE x counter", "other\\", "Slack ", "ratelimited"]))


@settings(max_examples=200, deadline=None)
@given(name=hostile, platform=hostile, outcome=hostile, method=hostile, number=st.integers(0, 10**6))
def test_no_label_value_outside_its_set_reaches_the_output_whatever_the_callers_pass(
        name: str, platform: str, outcome: str, method: str, number: int) -> None:
    metrics.count_command(name, platform, outcome)
    metrics.observe_reply(platform, number / 1000)
    metrics.count_empty_search(platform)
    metrics.set_suggestions({outcome: number, name: 1})
    metrics.count_decision(outcome)
    metrics.count_digest(outcome)
    metrics.count_platform_call(platform, method, outcome)
    metrics.count_catalog_reload(outcome)
    for family in families().values():
        if not family.name.startswith("mlops_"):
            continue
        for sample in family.samples:
            for label, label_value in sample.labels.items():
                if label == "le":  # a histogram's bucket bound, fixed by the code
                    continue
                assert label_value == OTHER or label_value in ALLOWED[label], (family.name, label, label_value)


def test_the_readme_lists_every_metric_the_bot_exports() -> None:
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Metrics", 1)[1].split("\n### ", 1)[0]
    listed = set(re.findall(r"`(mlops_[a-z_]+)`", section))
    exported = {f"{f.name}_total" if f.type == "counter" else f.name
                for f in families().values() if f.name.startswith("mlops_")}
    assert listed == exported
