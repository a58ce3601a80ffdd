"""Which newsletter and which podcast a channel's digest features this week.

Each channel walks through every candidate before any repeats (a cycle). The state is just the ids shown
in the current cycle, oldest first: a JSON list the caller persists per channel and kind.

Order within a cycle: each candidate ranks by a hash of (channel seed, resource id), lowest first. That is
a different order for every channel, so two channels rarely feature the same thing the same week, and it
is stable when the catalog changes: a resource added mid-cycle takes its place in the current cycle (it is
not shown yet), one removed simply drops out, and the others keep their order. Every cycle repeats the same
order, so the gap between two showings of one resource is a whole cycle; the one exception (a new cycle
would open with what just closed the old one) is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from bot.core.catalog import Resource

DIGEST_KINDS: tuple[str, ...] = ("newsletter", "podcast")

RotationState = list[str]  # ids shown in the current cycle, oldest first


def rank(seed: str, resource_id: str) -> bytes:
    """Where `resource_id` comes in `seed`'s cycle (lower first); the same on every replica and release."""
    return hashlib.sha256(f"{seed}\x00{resource_id}".encode("utf-8", "surrogatepass")).digest()


def next_pick(candidates: Sequence[Resource], state: Iterable[object] | None,
              seed: str) -> tuple[Resource | None, RotationState]:
    """This week's pick among `candidates` and the state to store for next week.

    `state` is what the previous call returned (None or [] at first); anything in it that is not a
    candidate's id (a removed resource, or junk) is ignored and dropped.
    """
    by_id: dict[str, Resource] = {}
    for resource in candidates:
        by_id.setdefault(resource.id, resource)
    if not by_id:
        return None, []
    shown = _known(state, by_id)
    unseen = [rid for rid in by_id if rid not in shown]
    if not unseen:
        # A new cycle. Its first pick may not be the last one shown, which would show it two weeks running.
        last = shown[-1] if shown else None
        shown = []
        unseen = [rid for rid in by_id if rid != last] or list(by_id)
    pick = min(unseen, key=lambda rid: rank(seed, rid))
    return by_id[pick], [*shown, pick]


def _known(state: Iterable[object] | None, by_id: Mapping[str, Resource]) -> RotationState:
    shown: RotationState = []
    for rid in state or ():
        if isinstance(rid, str) and rid in by_id and rid not in shown:
            shown.append(rid)
    return shown


def next_picks(resources: Iterable[Resource], state: Mapping[str, object] | None,
               seed: str) -> tuple[dict[str, Resource | None], dict[str, RotationState]]:
    """One pick per digest kind (newsletter, podcast) from the catalog, and the whole state to store.

    `state` is the JSON object the previous call returned, e.g. {"newsletter": [...], "podcast": [...]}.
    """
    everything = list(resources)
    stored = state if isinstance(state, Mapping) else {}
    picks: dict[str, Resource | None] = {}
    new_state: dict[str, RotationState] = {}
    for kind in DIGEST_KINDS:
        kept = stored.get(kind)
        previous = kept if isinstance(kept, list) else None
        picks[kind], new_state[kind] = next_pick([r for r in everything if r.kind == kind], previous, f"{seed}:{kind}")
    return picks, new_state
