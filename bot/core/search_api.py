"""The search boundary: what handlers ask of a search engine, and what they get back.

Handlers and adapters depend on `SearchEngine` only; `build_search()` picks the implementation,
so a better engine replaces the old one here without touching a handler or an adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.core.catalog import Catalog, Category, Resource

if TYPE_CHECKING:
    from bot.core.search_fusion import SemanticRanker


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    kinds: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    costs: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    @property
    def has_filters(self) -> bool:
        return bool(self.kinds or self.levels or self.costs or self.categories)

    def accepts(self, resource: Resource) -> bool:
        return (
            (not self.kinds or resource.kind in self.kinds)
            and (not self.levels or resource.level in self.levels)
            and (not self.costs or resource.cost in self.costs)
            and (not self.categories or resource.category in self.categories)
        )


@dataclass(frozen=True, slots=True)
class Hit:
    resource: Resource
    score: float  # 0..100, higher is better; comparable within one query only


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[Hit, ...]
    total: int  # how many matched in all, for "showing 1-5 of 12"
    offset: int = 0
    did_you_mean: str | None = None
    categories: tuple[Category, ...] = field(default=())  # nearest categories, filled when nothing matched
    # More may match than `total`: with very common words only the strongest postings are scored.
    total_is_floor: bool = False
    # Words of the member's query that matched nothing (filler aside): "I couldn't use: x, y". The hits are
    # then the best partial matches of the other words.
    unmatched: tuple[str, ...] = ()

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.hits) < self.total


@dataclass(frozen=True, slots=True)
class Completion:
    label: str  # what the member sees (≤ 100 characters)
    value: str  # what is put into the query when chosen (≤ 100 characters)
    kind: str  # "resource" or "category"


class SearchEngine(Protocol):
    def search(self, query: SearchQuery, *, limit: int = 5, offset: int = 0) -> SearchPage: ...

    def complete(self, prefix: str, *, limit: int = 25) -> list[Completion]: ...

    def nearest_categories(self, text: str, limit: int = 3) -> tuple[Category, ...]: ...

    def with_added(self, resources: Sequence[Resource]) -> SearchEngine:
        """A new engine that also finds `resources` (an approved submission), at a cost that grows with
        them, not with the catalog; this one is left unchanged, so it keeps serving until the caller
        swaps its reference. Ids already searchable are skipped."""
        ...

    def with_demoted(self, resource_ids: frozenset[str]) -> SearchEngine:
        """The same engine with these resources ranked lower (their link looked broken twice)."""
        ...


def build_search(catalog: Catalog, semantic: SemanticRanker | None = None) -> SearchEngine:
    """The engine the bot uses; built once per catalog load. With a semantic ranker (bot.semantic's
    `load_semantic(catalog)`), its ranking by meaning is fused with the lexical one."""
    from bot.core.search_index import IndexedSearch

    lexical = IndexedSearch(catalog)
    if semantic is None:
        return lexical
    from bot.core.search_fusion import FusedSearch

    return FusedSearch(lexical, semantic)
