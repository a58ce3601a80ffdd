"""What every handler is given: the community's catalog and rules (`Context`, one per loaded catalog) and
the request at hand (`Call`: who asks, where, when)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from bot.core.catalog import Catalog, Resource
from bot.core.permissions import CONSOLE, Actor, Moderators
from bot.core.reply import Item
from bot.core.search_api import SearchEngine

ITEM_MEMO = 20_000  # resources whose Item is kept; more would only cost memory on a huge catalog


@dataclass(frozen=True)
class Community:
    """The deployment's rules, from settings: who moderates, how much members may suggest, the digest."""

    moderators: Moderators = field(default_factory=Moderators)
    suggestions_per_day: int = 5
    digest_timezone: str = "UTC"
    cohort_start: dt.date | None = None


@dataclass(frozen=True)
class Call:
    actor: Actor = CONSOLE
    offset: int = 0
    channel_id: str | None = None
    now: dt.datetime | None = None  # given by the app layer: the core reads no clock


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    search: SearchEngine
    command_prefix: str = "/mlops"  # how members invoke us here, for examples in replies
    community: Community = field(default_factory=Community)
    # Resources whose main link looked broken in the last two link checks, with the day it first did.
    broken: Mapping[str, dt.date] = field(default_factory=dict)
    # A resource's Item never changes while its catalog is loaded (a reload makes a new Context), and the
    # same resources are shown again and again: each is derived once.
    _items: dict[str, Item] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def category_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.catalog.categories)

    def item(self, resource: Resource) -> Item:
        found = self._items.get(resource.id)
        if found is None:
            from bot.core.items import resource_item

            found = resource_item(resource, broken_on=self.broken.get(resource.id))
            if len(self._items) < ITEM_MEMO:
                self._items[resource.id] = found
        return found
