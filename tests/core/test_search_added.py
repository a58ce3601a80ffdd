"""Approved resources become searchable at once (`with_added`), ranking as after a full rebuild."""

from __future__ import annotations

import random

import pytest

from bench.synthetic_catalog import make_catalog
from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog, Link, Resource
from bot.core.catalog_loader import load_catalog
from bot.core.commands import parse_query
from bot.core.search_api import SearchQuery
from bot.core.search_index import IndexedSearch, LayeredSearch


def _extra(n: int, start: int = 0) -> tuple[Resource, ...]:
    """New resources in the seed's categories, some naming words the base has never seen."""
    topics = ("feature store", "drift monitoring", "model serving", "experiment tracking", "data versioning")
    return tuple(
        Resource(id=f"added-{i}", title=f"Zorbatron {topics[i % 5].title()} Kit {i}", kind="tool",
                 category="model-serving" if i % 2 else "experiment-tracking",
                 summary=f"Quixotic toolkit for {topics[i % 5]} with kubernetes", url=f"https://zorb.example.org/{i}",
                 links=(Link("GitHub", f"https://github.com/zorb/kit{i}"),), tags=("zorbatron", topics[i % 5]),
                 level="beginner" if i % 3 == 0 else None, cost="free" if i % 2 else "paid")
        for i in range(start, start + n))


def _queries(catalog: Catalog, extra: tuple[Resource, ...], rng: random.Random) -> list[str]:
    picks = [catalog.resources[rng.randrange(len(catalog))] for _ in range(25)]
    out = ["zorbatron", "quixotic kubernetes", "zorbatrn", "feature store", "model serving kubernetes",
           "drift monitoring", "experiment tracking", "kind:tool zorbatron", "level:beginner serving",
           "free model serving", "mlflow", "kubernetes", "zorb kit 3", "serving"]
    out += [r.title for r in picks] + [r.tags[0].replace("-", " ") for r in picks if r.tags]
    out += [r.title for r in extra[:10]]
    return out


def _top5(engine: IndexedSearch, catalog: Catalog, text: str) -> list[tuple[str, float]]:
    query = parse_query(text, {c.id for c in catalog.categories})
    return [(h.resource.id, h.score) for h in engine.search(query, limit=5).hits]


@pytest.fixture(scope="module")
def seed() -> Catalog:
    return load_catalog(PACKAGED_CATALOG)


@pytest.mark.parametrize("size", [None, 10_000])
def test_added_resources_rank_as_after_a_full_rebuild(seed: Catalog, size: int | None) -> None:
    base_catalog = seed if size is None else make_catalog(size)
    extra = _extra(30)
    layered = IndexedSearch(base_catalog).with_added(extra)
    full_catalog = Catalog(resources=base_catalog.resources + extra, categories=base_catalog.categories)
    full = IndexedSearch(full_catalog)
    for text in _queries(base_catalog, extra, random.Random(size or 0)):
        assert _top5(layered, full_catalog, text) == _top5(full, full_catalog, text), text
        q = SearchQuery(text=text)
        mine, theirs = layered.search(q), full.search(q)
        if theirs.total_is_floor or mine.total_is_floor:
            # The bound on scored candidates applies per index: the overlay's never take the base's room,
            # so the layered engine scores a superset of what one index scores, and counts at least as many.
            assert mine.total >= theirs.total, text
        else:
            assert mine.total == theirs.total, text
        assert layered.search(q).did_you_mean == full.search(q).did_you_mean, text
    for prefix in ("zorb", "zorbatron fe", "ml", "feat", "kub", "zz"):
        assert layered.complete(prefix) == full.complete(prefix), prefix
    assert layered.nearest_categories("serving") == full.nearest_categories("serving")


def test_the_old_engine_keeps_answering_as_before(seed: Catalog) -> None:
    base = IndexedSearch(seed)
    before = _top5(base, seed, "zorbatron kubernetes")
    grown = base.with_added(_extra(3))
    assert _top5(grown, seed, "zorbatron")[0][0].startswith("added-")
    assert _top5(base, seed, "zorbatron kubernetes") == before
    assert not any(h.resource.id.startswith("added-") for h in base.search(SearchQuery(text="zorbatron")).hits)


def test_an_id_already_searchable_is_neither_replaced_nor_duplicated(seed: Catalog) -> None:
    base = IndexedSearch(seed)
    existing = seed.resources[0]
    impostor = Resource(id=existing.id, title="Zorbatron Impostor", kind="tool", category=existing.category,
                        summary="should not be indexed", url="https://zorb.example.org/x")
    grown = base.with_added([impostor, *_extra(1)]).with_added(_extra(1))
    assert [r.id for r in grown.added] == ["added-0"]  # type: ignore[attr-defined]
    assert grown.search(SearchQuery(text="impostor")).hits == ()
    hits = grown.search(SearchQuery(text=existing.title), limit=20).hits
    assert [h.resource.id for h in hits].count(existing.id) == 1
    assert grown.catalog.get(existing.id) is existing and len(grown.catalog) == len(seed) + 1


def test_one_approval_at_a_time_keeps_every_earlier_one(seed: Catalog) -> None:
    engine: IndexedSearch = IndexedSearch(seed)
    extra = _extra(200)
    for resource in extra:
        engine = engine.with_added([resource])
    assert isinstance(engine, LayeredSearch) and len(engine.added) == 200
    assert engine.base.catalog is seed  # never rebuilt: the overlay alone grew
    page = engine.search(SearchQuery(text="zorbatron"), limit=5)
    assert page.total == 200
    assert engine.search(SearchQuery(text="Zorbatron Feature Store Kit 150")).hits[0].resource.id == "added-150"
    full = IndexedSearch(engine.rebuilt().catalog)
    assert _top5(engine, full.catalog, "zorbatron drift") == _top5(full, full.catalog, "zorbatron drift")


def test_added_resources_obey_filters_and_categories(seed: Catalog) -> None:
    grown = IndexedSearch(seed).with_added(_extra(4))
    ids = [h.resource.id for h in grown.search(parse_query("kind:tool level:beginner zorbatron"), limit=10).hits]
    assert ids == ["added-0", "added-3"]
    listed = grown.search(parse_query("category:model-serving"), limit=100).hits
    assert [h.resource.id for h in listed][-2:] == ["added-1", "added-3"]
    assert any(c.value.startswith("Zorbatron") for c in grown.complete("zorba"))
