"""First search engine: rapidfuzz over each resource's title, aliases, tags and summary.

It scores every resource for every query, so its cost grows with the catalog; fine for the seed,
replaced by an indexed engine for large catalogs behind the same `SearchEngine` interface.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from bot.core.catalog import Catalog, Category, Resource
from bot.core.search_api import Completion, Hit, SearchPage, SearchQuery

_MIN_SCORE = 60.0
_WEIGHTS = (1.0, 0.85, 0.7)  # title+aliases, tags+category, summary


class FuzzySearch:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._fields: list[tuple[str, str, str]] = [
            (
                utils.default_process(" ".join((r.title, *r.aliases))),
                utils.default_process(" ".join((*r.tags, r.category.replace("-", " ")))),
                utils.default_process(r.summary),
            )
            for r in catalog.resources
        ]

    def _score(self, query: str, fields: tuple[str, str, str]) -> float:
        return max(
            weight * fuzz.WRatio(query, text, processor=None) if text else 0.0
            for weight, text in zip(_WEIGHTS, fields, strict=True)
        )

    def search(self, query: SearchQuery, *, limit: int = 5, offset: int = 0) -> SearchPage:
        text = utils.default_process(query.text)
        hits: list[Hit] = []
        for resource, fields in zip(self.catalog.resources, self._fields, strict=True):
            if not query.accepts(resource):
                continue
            if not text:
                hits.append(Hit(resource, 100.0))
                continue
            score = self._score(text, fields)
            if score >= _MIN_SCORE:
                hits.append(Hit(resource, score))
        hits.sort(key=lambda h: -h.score)
        page = tuple(hits[offset: offset + limit])
        if hits:
            return SearchPage(hits=page, total=len(hits), offset=offset)
        return SearchPage(hits=(), total=0, offset=offset, categories=self.nearest_categories(text))

    def nearest_categories(self, text: str, limit: int = 3) -> tuple[Category, ...]:
        if not self.catalog.categories:
            return ()
        names = [utils.default_process(f"{c.title} {c.id} {' '.join(c.aliases)}") for c in self.catalog.categories]
        found = process.extract(text or "mlops", names, scorer=fuzz.WRatio, processor=None, limit=limit)
        return tuple(self.catalog.categories[i] for _, _, i in found)

    def complete(self, prefix: str, *, limit: int = 25) -> list[Completion]:
        text = utils.default_process(prefix)
        scored: list[tuple[float, Resource]] = []
        for resource, fields in zip(self.catalog.resources, self._fields, strict=True):
            score = 100.0 if not text else (
                110.0 if fields[0].startswith(text) else fuzz.partial_ratio(text, fields[0]))
            if score >= _MIN_SCORE:
                scored.append((score, resource))
        scored.sort(key=lambda pair: (-pair[0], pair[1].title))
        return [Completion(label=r.title[:100], value=r.title[:100], kind="resource") for _, r in scored[:limit]]
