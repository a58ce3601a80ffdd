"""Lexical and semantic rankings fused (FusedSearch, fuse): pure, with a fake semantic ranker."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import given
from hypothesis import strategies as st

from bot.core.catalog import Catalog, Category, Resource
from bot.core.commands import parse_query
from bot.core.search_api import Completion, SearchPage, SearchQuery, build_search
from bot.core.search_fusion import DEPTH, FusedSearch, fuse, semantic_weight, wants_meaning
from bot.core.search_index import IndexedSearch

CATEGORIES = (Category("community-forums", "Community", "c"), Category("courses", "Courses", "c"))


def _r(rid: str, title: str, kind: str, category: str, summary: str) -> Resource:
    return Resource(id=rid, title=title, kind=kind, category=category, summary=summary,
                    url=f"https://example.org/{rid}")


RESOURCES = (
    _r("slack", "Practitioners Slack", "community", "community-forums", "Active discussions"),
    _r("reddit", "r/mlops", "community", "community-forums", "Questions and discussions"),
    _r("course", "Online MLOps Course", "course", "courses", "An online course about mlops"),
    _r("mlflow", "MLflow", "tool", "courses", "Experiment tracking"),
)
CATALOG = Catalog(resources=RESOURCES, categories=CATEGORIES)


class FakeRanker:
    """Ranks by a fixed order of ids, whatever the text; records what it was asked."""

    def __init__(self, order: Sequence[str], resources: Sequence[Resource] = RESOURCES) -> None:
        self.order = list(order)
        self.resources = {r.id: r for r in resources}
        self.asked: list[str] = []

    def rank(self, text: str, limit: int, accepts: Callable[[Resource], bool] | None = None
             ) -> list[tuple[Resource, float]]:
        self.asked.append(text)
        found = [(self.resources[rid], 0.9 - 0.01 * i) for i, rid in enumerate(self.order)]
        return [(r, s) for r, s in found if accepts is None or accepts(r)][:limit]

    def with_added(self, resources: Sequence[Resource]) -> FakeRanker:
        return FakeRanker([*self.order, *(r.id for r in resources)], [*self.resources.values(), *resources])


def fused_ids(engine: FusedSearch, text: str) -> list[str]:
    return [h.resource.id for h in engine.search(parse_query(text), limit=5).hits]


@given(lexical=st.lists(st.sampled_from("abcdefgh"), unique=True), semantic=st.lists(st.sampled_from("abcdefgh"),
                                                                                       unique=True))
def test_fusion_ranks_every_id_of_either_list_once(lexical: list[str], semantic: list[str]) -> None:
    fused = [rid for rid, _ in fuse(lexical, semantic, semantic_weight=1.0)]
    assert sorted(fused) == sorted(set(lexical) | set(semantic))


@given(lexical=st.lists(st.sampled_from("abcdefgh"), unique=True))
def test_without_semantic_evidence_the_lexical_order_stands(lexical: list[str]) -> None:
    assert [rid for rid, _ in fuse(lexical, [], semantic_weight=1.5)] == lexical
    assert [rid for rid, _ in fuse(lexical, list(reversed(lexical)), semantic_weight=0.0)] == lexical


def test_agreement_beats_one_list_alone() -> None:
    assert fuse(["a", "b"], ["b", "c"], semantic_weight=1.0)[0][0] == "b"


def test_the_semantic_weight_grows_as_fewer_words_were_usable() -> None:
    assert semantic_weight("where do people hang out", ()) < semantic_weight("where do people hang out", ("hang",))
    assert semantic_weight("people hang out", ("people", "hang", "out")) == 1.5


def test_a_name_or_keyword_is_not_ranked_by_meaning() -> None:
    ranker = FakeRanker(["slack", "reddit", "course", "mlflow"])
    engine = FusedSearch(IndexedSearch(CATALOG), ranker)
    assert fused_ids(engine, "mlflow")[0] == "mlflow"
    assert fused_ids(engine, "mlfow")[0] == "mlflow"  # a typo the lexical index fixed
    assert ranker.asked == []  # nor is the model consulted (or loaded)


def test_a_question_is_ranked_by_meaning_too() -> None:
    lexical = IndexedSearch(CATALOG)
    question = "online banter among mlops practitioners"
    by_words = [h.resource.id for h in lexical.search(SearchQuery(text=question)).hits]
    assert by_words[0] == "course" and "reddit" not in by_words
    engine = FusedSearch(lexical, FakeRanker(["reddit", "slack", "mlflow"]))
    found = fused_ids(engine, question)
    assert found[0] == "course"  # the words' best answer, which meaning does not contradict
    assert {"reddit", "slack"} <= set(found[:3])  # found by meaning alone
    agreeing = fused_ids(FusedSearch(lexical, FakeRanker(["slack", "course"])), question)
    assert agreeing[:2] == ["course", "slack"]
    page = engine.search(SearchQuery(text=question))
    assert page.unmatched == lexical.search(SearchQuery(text=question)).unmatched
    assert page.total >= len(page.hits) and [h.score for h in page.hits] == sorted((h.score for h in page.hits),
                                                                                     reverse=True)


def test_filters_apply_to_what_meaning_finds() -> None:
    engine = FusedSearch(IndexedSearch(CATALOG), FakeRanker(["reddit", "slack", "mlflow", "course"]))
    assert set(fused_ids(engine, "kind:tool where do practitioners hang out online")) <= {"mlflow"}


def test_paging_a_fused_ranking_partitions_it() -> None:
    engine = FusedSearch(IndexedSearch(CATALOG), FakeRanker(["reddit", "mlflow", "slack", "course"]))
    query = SearchQuery(text="where do practitioners discuss mlops online")
    everything = [h.resource.id for h in engine.search(query, limit=10).hits]
    pages = [h.resource.id for offset in (0, 2) for h in engine.search(query, limit=2, offset=offset).hits]
    assert pages == everything[:4]


def test_added_resources_reach_both_rankings() -> None:
    extra = _r("discord", "Practitioners Discord", "community", "community-forums", "A chat server")
    engine = build_search(CATALOG, semantic=FakeRanker(["reddit"]))
    grown = engine.with_added([extra])  # type: ignore[attr-defined]
    assert isinstance(grown, FusedSearch)
    assert fused_ids(grown, "discord")[0] == "discord"
    assert "discord" in grown.semantic.order  # type: ignore[attr-defined]
    assert "discord" not in fused_ids(engine, "discord")  # the old engine is unchanged


def test_build_search_without_a_ranker_is_the_lexical_engine() -> None:
    assert isinstance(build_search(CATALOG), IndexedSearch)
    assert wants_meaning("how do I track experiments", IndexedSearch(CATALOG).search(SearchQuery(text="x")))


def test_a_query_of_words_the_catalog_lacks_gets_no_answer_by_meaning() -> None:
    ranker = FakeRanker(["slack", "reddit"])
    page = FusedSearch(IndexedSearch(CATALOG), ranker).search(SearchQuery(text="xyzzy plugh frobnicate"))
    assert page.hits == () and page.categories and ranker.asked == []


class CountingSearch:
    """A `SearchEngine` that answers with a real IndexedSearch and counts the searches it was asked for."""

    def __init__(self, engine: IndexedSearch) -> None:
        self.engine = engine
        self.catalog = engine.catalog
        self.searches: list[tuple[int, int]] = []

    def search(self, query: SearchQuery, *, limit: int = 5, offset: int = 0) -> SearchPage:
        self.searches.append((limit, offset))
        return self.engine.search(query, limit=limit, offset=offset)

    def complete(self, prefix: str, *, limit: int = 25) -> list[Completion]:
        return self.engine.complete(prefix, limit=limit)

    def nearest_categories(self, text: str, limit: int = 3) -> tuple[Category, ...]:
        return self.engine.nearest_categories(text, limit)

    def with_added(self, resources: Sequence[Resource]) -> IndexedSearch:
        return self.engine.with_added(resources)

    def with_demoted(self, resource_ids: frozenset[str]) -> IndexedSearch:
        return self.engine.with_demoted(resource_ids)


def test_a_question_reads_the_lexical_ranking_once() -> None:
    lexical = CountingSearch(IndexedSearch(CATALOG))
    ranker = FakeRanker(["reddit", "slack"])
    engine = FusedSearch(lexical, ranker)
    engine.search(SearchQuery(text="where do practitioners discuss mlops online"), limit=5)
    assert ranker.asked and lexical.searches == [(DEPTH, 0)]
    lexical.searches.clear()
    engine.search(SearchQuery(text="mlflow"), limit=5)  # a name: the page asked for, nothing deeper
    assert lexical.searches == [(5, 0)]


_WORDS = ["mlflow", "mlfow", "slack", "course", "online", "practitioners", "discussions", "xyzzy", "plugh", "how",
          "do", "i", "the", "where", "kind:tool", "questions", "mlops"]


@given(words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=6), limit=st.integers(0, 8),
       offset=st.integers(0, 8))
def test_what_meaning_is_not_asked_about_is_the_lexical_page(words: list[str], limit: int, offset: int) -> None:
    lexical = IndexedSearch(CATALOG)
    ranker = FakeRanker(["reddit", "slack", "course", "mlflow"])
    query = parse_query(" ".join(words))
    page = FusedSearch(lexical, ranker).search(query, limit=limit, offset=offset)
    if not ranker.asked:  # a name, a keyword, or words none of which matched: the words alone decide
        assert page == lexical.search(query, limit=limit, offset=offset)
    else:  # fused: still a page of distinct resources, in descending score, at most `limit` of them
        assert len(page.hits) <= limit and len({h.resource.id for h in page.hits}) == len(page.hits)
        assert [h.score for h in page.hits] == sorted((h.score for h in page.hits), reverse=True)


def test_a_long_query_nothing_matched_is_the_lexical_page_at_any_offset() -> None:
    lexical = IndexedSearch(CATALOG)
    engine = FusedSearch(lexical, FakeRanker(["slack"]))
    query = SearchQuery(text="xyzzy plugh frobnicate", kinds=frozenset({"tool"}))
    for offset in (0, 1, 3):
        assert engine.search(query, limit=2, offset=offset) == lexical.search(query, limit=2, offset=offset)
