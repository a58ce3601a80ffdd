"""The digest's rotation: every candidate once per cycle, in a per-channel order that survives catalog edits."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.core.catalog import Catalog, Resource
from bot.core.digest.rotation import next_pick, next_picks


def podcast(rid: str) -> Resource:
    return Resource(id=rid, title=rid.title(), kind="podcast", category="podcasts", summary="talk")


def week_by_week(candidates: list[Resource], weeks: int, seed: str = "slack:C1", state=None) -> tuple[list[str], list]:
    picks = []
    for _ in range(weeks):
        pick, state = next_pick(candidates, state, seed)
        picks.append(pick.id if pick else None)
        state = json.loads(json.dumps(state))  # what the lead stores and reads back
    return picks, state


TEN = [podcast(f"show-{n}") for n in range(10)]


def test_ten_weeks_show_ten_different_picks_then_the_cycle_starts_again():
    picks, _ = week_by_week(TEN, 20)
    assert sorted(picks[:10]) == sorted(r.id for r in TEN)
    assert picks[10:] == picks[:10]


def test_the_order_is_the_same_for_a_channel_and_differs_between_channels():
    assert week_by_week(TEN, 10, "slack:C1")[0] == week_by_week(TEN, 10, "slack:C1")[0]
    firsts = {week_by_week(TEN, 1, f"discord:{n}")[0][0] for n in range(20)}
    assert len(firsts) > 3


def test_the_order_does_not_follow_the_catalog_order():
    assert week_by_week(TEN, 10)[0] != [r.id for r in TEN]


def test_a_resource_added_mid_cycle_joins_the_current_cycle():
    picks, state = week_by_week(TEN, 4)
    grown = [*TEN, podcast("new-show")]
    rest, _ = week_by_week(grown, 7, state=state)
    assert "new-show" in rest
    assert sorted(picks + rest) == sorted(r.id for r in grown)


def test_a_removed_resource_leaves_the_rotation_and_the_state():
    picks, state = week_by_week(TEN, 3)
    gone, never_shown = picks[0], next(r.id for r in TEN if r.id not in picks)
    remaining = [r for r in TEN if r.id not in (gone, never_shown)]
    rest, state = week_by_week(remaining, 20, state=state)
    assert gone not in rest and never_shown not in rest
    assert gone not in state
    assert sorted(picks[1:] + rest[:6]) == sorted(r.id for r in remaining)  # the cycle ends without them


def test_an_empty_kind_picks_nothing():
    assert next_pick([], ["show-1"], "slack:C1") == (None, [])


def test_one_candidate_is_picked_every_week():
    assert week_by_week(TEN[:1], 3)[0] == ["show-0"] * 3


def test_junk_in_the_stored_state_is_ignored():
    pick, state = next_pick(TEN, ["show-3", 7, None, "show-3", {"x": 1}, "gone"], "slack:C1")
    assert pick is not None and pick.id != "show-3"
    assert state == ["show-3", pick.id]


@given(st.lists(st.sampled_from([f"r{n}" for n in range(12)]), min_size=1, unique=True),
       st.text(max_size=20), st.integers(1, 4))
def test_within_a_cycle_nothing_repeats_and_every_candidate_comes_once(ids, seed, cycles):
    candidates = [podcast(rid) for rid in ids]
    picks, _ = week_by_week(candidates, len(ids) * cycles, seed)
    for start in range(0, len(picks), len(ids)):
        assert sorted(picks[start:start + len(ids)]) == sorted(ids)


@given(st.lists(st.tuples(st.sets(st.sampled_from([f"r{n}" for n in range(8)]), min_size=2)), min_size=2,
                max_size=30), st.text(max_size=10))
def test_no_pick_is_shown_two_weeks_running_even_as_the_catalog_changes(weeks, seed):
    state, previous = None, None
    for (ids,) in weeks:
        pick, state = next_pick([podcast(rid) for rid in sorted(ids)], state, seed)
        assert pick is not None and pick.id in ids
        assert pick.id != previous
        previous = pick.id


def test_a_digest_picks_one_newsletter_and_one_podcast_from_the_catalog(catalog: Catalog):
    newsletters = {r.id for r in catalog if r.kind == "newsletter"}
    podcasts = {r.id for r in catalog if r.kind == "podcast"}
    assert newsletters and podcasts
    state, seen = None, {"newsletter": [], "podcast": []}
    for _ in range(len(newsletters) * len(podcasts)):
        picks, state = next_picks(catalog, state, "slack:T1:C1")
        state = json.loads(json.dumps(state))
        for kind, pick in picks.items():
            seen[kind].append(pick.id)
    assert sorted(seen["newsletter"][: len(newsletters)]) == sorted(newsletters)
    assert sorted(seen["podcast"][: len(podcasts)]) == sorted(podcasts)


def test_a_catalog_without_podcasts_gives_no_podcast_pick(catalog: Catalog):
    picks, state = next_picks([r for r in catalog if r.kind != "podcast"], {"podcast": ["practical-ai"]}, "C1")
    assert picks["podcast"] is None and state["podcast"] == []
    assert picks["newsletter"] is not None


def test_a_new_cycle_does_not_open_with_the_pick_that_closed_the_last_one():
    order, _ = week_by_week(TEN, 10)
    # The channel's first-ranked resource was shown last (it joined the catalog late, say).
    pick, state = next_pick(TEN, [*order[1:], order[0]], "slack:C1")
    assert pick is not None and pick.id == order[1]
    assert state == [order[1]]
