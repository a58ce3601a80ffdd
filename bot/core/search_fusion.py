"""Lexical and semantic rankings fused into one (`FusedSearch`): what a search by meaning adds to words.

The lexical index (search_index.py) knows words: names, typos, filters, categories. A semantic ranker
(any `SemanticRanker`; bot/semantic.py loads one from a packaged model) knows meaning: "where do people
hang out online" is about communities although it names none. The two are fused by weighted reciprocal
rank fusion: each list gives a resource 1 / (K + rank), weighted, and the sums are ranked.

Why rank fusion rather than adding scores: the two scores are on unrelated scales (the lexical one is
comparable within one query only, cosines bunch up differently per model and query), so any score sum
needs a calibration that would drift with the catalog and the model; ranks need none. The lexical list
weighs more, and the semantic one weighs more the less of the query the lexical index could use: a
query that names a resource keeps its answer, a question in other words than the catalog's is ranked
mostly by meaning.

Pure: no model, no numpy, no I/O here; the ranker is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.core.catalog import Catalog, Category, Resource
from bot.core.normalize import STOPWORDS, plain_words
from bot.core.search_api import Completion, Hit, SearchEngine, SearchPage, SearchQuery

RRF_K = 10  # small: the top of each list is where the evidence is (60, the usual value, flattens it)
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 0.5  # when the lexical index used every word of the query
SEMANTIC_WEIGHT_UNMATCHED = 1.5  # when it could use none of them
DEPTH = 50  # how far down each list fusion looks
# A resource only the semantic ranker found is shown when its similarity is at least this share of the
# best one's: below that it is noise that happens to rank, not an answer.
SEMANTIC_RELATIVE = 0.8
SEMANTIC_ONLY_MAX = 10  # and at most this many of them
# A query of fewer content words than this, all of which the lexical index used, names what it wants
# (mlflow, feature store, mlfow): words decide it, and the model is not even consulted (nor loaded).
QUESTION_WORDS = 3


class SemanticRanker(Protocol):
    """Resources ranked by meaning, most similar first; (resource, similarity in -1..1)."""

    def rank(self, text: str, limit: int, accepts: Callable[[Resource], bool] | None = None
             ) -> list[tuple[Resource, float]]: ...

    def with_added(self, resources: Sequence[Resource]) -> SemanticRanker: ...


def fuse(lexical: Sequence[str], semantic: Sequence[str], *, semantic_weight: float,
         lexical_weight: float = LEXICAL_WEIGHT, k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of two rankings of ids: (id, fused score), best first; ties keep
    the lexical order, then the semantic one."""
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for weight, ranking in ((lexical_weight, lexical), (semantic_weight, semantic)):
        for rank, rid in enumerate(ranking):
            scores[rid] = scores.get(rid, 0.0) + weight / (k + rank + 1)
            order.setdefault(rid, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def content_words(text: str) -> list[str]:
    """The words of a query that say what is wanted: all but filler."""
    return [w for w in plain_words(text) if w not in STOPWORDS]


def wants_meaning(text: str, page: SearchPage, content: Sequence[str] | None = None) -> bool:
    """Whether a query is worth ranking by meaning: a question or a description, or words the lexical
    index could not all use; not a name or a keyword it found. Nor a query none of whose words the
    catalog has (xyzzy plugh): a model always finds *something* nearest, and nonsense would get answers.
    `content`: the query's `content_words`, when the caller has them already."""
    if content is None:
        content = content_words(text)
    if not content or (not page.hits and len(page.unmatched) >= len(set(content))):
        return False
    return len(content) >= QUESTION_WORDS or bool(page.unmatched)


def semantic_weight(text: str, unmatched: Sequence[str], content: Sequence[str] | None = None) -> float:
    """How much the semantic ranking counts: more as the lexical index could use less of the query."""
    if content is None:
        content = content_words(text)
    share = min(1.0, len(unmatched) / len(content)) if content else 1.0
    return SEMANTIC_WEIGHT + (SEMANTIC_WEIGHT_UNMATCHED - SEMANTIC_WEIGHT) * share


class FusedSearch:
    """`SearchEngine`: the lexical engine's answers re-ranked with a semantic ranker's.

    What only words can decide stays lexical: filters-only queries, completion, categories, did-you-mean.
    """

    def __init__(self, lexical: SearchEngine, semantic: SemanticRanker) -> None:
        self.lexical = lexical
        self.semantic = semantic

    @property
    def catalog(self) -> Catalog:
        return self.lexical.catalog  # type: ignore[attr-defined]

    def search(self, query: SearchQuery, *, limit: int = 5, offset: int = 0) -> SearchPage:
        limit = max(0, limit)
        offset = max(0, offset)
        text = query.text.strip()
        if offset + limit > DEPTH:  # deep paging: the lexical order, as fusion looks no deeper
            return self.lexical.search(query, limit=limit, offset=offset)
        # Whether meaning is wanted depends only on the words and on whether anything matched, the same
        # at any depth. A query of QUESTION_WORDS content words or more wants it unless none of its words
        # matched: the lexical ranking is read to DEPTH at once, and sliced to the page when not. A shorter one
        # (a name, a keyword) wants it only when a word went unused: the page asked for, nothing deeper,
        # and a second, deeper search in that rare case.
        content = content_words(text)
        if len(content) >= QUESTION_WORDS:
            lex = self.lexical.search(query, limit=DEPTH)
            if not wants_meaning(text, lex, content):
                return replace(lex, hits=lex.hits[offset:offset + limit], offset=offset)
        else:
            page = self.lexical.search(query, limit=limit, offset=offset)
            if not wants_meaning(text, page, content):
                return page
            lex = self.lexical.search(query, limit=DEPTH)
        sem = self.semantic.rank(text, DEPTH, query.accepts if query.has_filters else None)
        by_id: dict[str, Resource] = {h.resource.id: h.resource for h in lex.hits}
        lexical_ids = list(by_id)
        best = sem[0][1] if sem else 0.0
        semantic_ids: list[str] = []
        extra = 0
        for resource, similarity in sem:
            if resource.id not in by_id:
                if extra >= SEMANTIC_ONLY_MAX or similarity < SEMANTIC_RELATIVE * best or similarity <= 0:
                    continue
                extra += 1
                by_id[resource.id] = resource
            semantic_ids.append(resource.id)
        fused = fuse(lexical_ids, semantic_ids, semantic_weight=semantic_weight(text, lex.unmatched, content))
        top = fused[0][1] if fused else 1.0
        hits = tuple(Hit(by_id[rid], round(100.0 * score / top, 3)) for rid, score in fused[offset:offset + limit])
        total = max(lex.total, len(fused)) if lex.total_is_floor else lex.total + extra
        return replace(lex, hits=hits, total=total, offset=offset,
                       categories=lex.categories if not hits else ())

    def complete(self, prefix: str, *, limit: int = 25) -> list[Completion]:
        return self.lexical.complete(prefix, limit=limit)

    def nearest_categories(self, text: str, limit: int = 3) -> tuple[Category, ...]:
        return self.lexical.nearest_categories(text, limit)

    def with_added(self, resources: Sequence[Resource]) -> FusedSearch:
        return FusedSearch(self.lexical.with_added(resources), self.semantic.with_added(resources))

    def with_demoted(self, resource_ids: frozenset[str]) -> FusedSearch:
        return FusedSearch(self.lexical.with_demoted(resource_ids), self.semantic)
