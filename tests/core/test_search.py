"""The indexed search engine: normalisation, aliases, typos, filters, paging, completion, no results.

Small catalogs are built here; the bundled catalog is used for a few held-out queries (not the
relevance file's) to check that the method generalises. Speed lives in bench/search.py, not here.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog, Category, Link, Resource
from bot.core.catalog_loader import load_catalog
from bot.core.commands import parse, parse_query
from bot.core.handlers import Context, handle
from bot.core.normalize import analyze, analyze_query, key, pairs, plain_words, stem, term_words, terms
from bot.core.search_api import SearchEngine, SearchQuery, build_search
from bot.core.search_index import IndexedSearch


def _r(rid: str, title: str, kind: str, category: str, summary: str, **kw: object) -> Resource:
    url = kw.pop("url", f"https://example.org/{rid}")
    return Resource(id=rid, title=title, kind=kind, category=category, summary=summary, url=url, **kw)  # type: ignore[arg-type]


CATEGORIES = (
    Category("feature-stores", "Feature Stores", "tools", aliases=("feature-store",)),
    Category("experiment-tracking", "Experiment Tracking", "tools", aliases=("tracking",)),
    Category("model-serving", "Model Serving", "tools", aliases=("serving", "inference")),
    Category("books", "Books", "reading"),
    Category("research-papers", "Research Papers", "reading", aliases=("papers",)),
    Category("free-courses", "Free Courses", "courses"),
)
RESOURCES = (
    _r("feast", "Feast", "tool", "feature-stores", "Open-source feature store",
       tags=("feature-store", "open-source"), cost="free", level="intermediate"),
    _r("tecton", "Tecton", "tool", "feature-stores", "Enterprise feature platform",
       tags=("feature-store", "commercial"), cost="paid"),
    _r("aws-fs", "Amazon SageMaker Feature Store", "tool", "feature-stores", "Cloud feature store", url=None,
       tags=("feature-store", "aws"), aliases=("AWS Feature Store",)),
    _r("mlflow", "MLflow", "tool", "experiment-tracking", "Open-source experiment tracking",
       tags=("experiment-tracking",), level="beginner", cost="free"),
    _r("mlflow-examples", "MLflow Examples", "tutorial", "experiment-tracking", "Ready-to-run MLflow examples",
       tags=("mlflow", "examples")),
    _r("wandb", "Weights & Biases", "tool", "experiment-tracking", "Experiment tracking and visualization",
       tags=("experiment-tracking", "visualization"), aliases=("W&B", "wandb", "weights and biases")),
    _r("torchserve", "TorchServe", "tool", "model-serving", "PyTorch model serving", tags=("pytorch", "inference")),
    _r("kserve", "KServe", "tool", "model-serving", "Kubernetes-native model serving",
       tags=("kubernetes", "inference"), aliases=("KFServing",)),
    _r("tf-serving", "TensorFlow Serving", "tool", "model-serving", "TensorFlow model serving",
       tags=("tensorflow", "inference"), aliases=("TF Serving",)),
    _r("introducing-mlops", "Introducing MLOps", "book", "books", "Guide to MLOps practices",
       tags=("mlops", "book"), authors=("Mark Treveil",), cost="paid", level="beginner"),
    _r("debt", "Hidden Technical Debt in Machine Learning Systems", "paper", "research-papers",
       "ML-specific technical debt", tags=("technical-debt", "paper"), year=2015),
    _r("debt-blog", "Paying Down Technical Debt", "blog", "books", "A blog post on technical debt",
       tags=("technical-debt",)),
    _r("fsdl", "Full Stack Deep Learning", "course", "free-courses", "Course on production ML systems",
       tags=("course", "deep-learning"), aliases=("FSDL",), cost="free",
       links=(Link("GitHub", "https://github.com/full-stack-deep-learning"),)),
    _r("made-with-ml", "Made With ML", "course", "free-courses", "Practical MLOps course", tags=("course",),
       cost="free"),
)


@pytest.fixture(scope="module")
def engine() -> IndexedSearch:
    return IndexedSearch(Catalog(resources=RESOURCES, categories=CATEGORIES))


def ids(engine: IndexedSearch, text: str, limit: int = 5) -> list[str]:
    query = parse_query(text, {c.id for c in CATEGORIES})
    return [h.resource.id for h in engine.search(query, limit=limit).hits]


# -- normalisation --------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("feature-store", "Feature Stores"), ("feature_store", "FEATURE STORE"), ("featur stor", "feature store"),
    ("models", "model"), ("serving", "serve"), ("libraries", "library"), ("Café", "cafe"),
])
def test_variants_reduce_to_the_same_terms(a: str, b: str) -> None:
    assert terms(a) == terms(b)


def test_compounds_camel_case_and_ampersand() -> None:
    assert pairs("feature store") == terms("featurestore")  # one word or two
    assert "torch" in terms("TorchServe") and "serv" in terms("TorchServe")
    assert key("W&B") == "wb" and key("Weights & Biases") == key("weights and biases")
    assert "ml" in terms("Machine Learning Design Patterns")  # abbreviations are added
    assert stem("bias") == stem("biases") and stem("dvc") == "dvc"


# -- relevance ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("wandb", "wandb"), ("W&B", "wandb"), ("weights & biases", "wandb"), ("weights and biases", "wandb"),
    ("kfserving", "kserve"), ("kf serving", "kserve"), ("tf serving", "tf-serving"), ("FSDL", "fsdl"),
    ("treveil", "introducing-mlops"), ("trevail", "introducing-mlops"), ("mlfow", "mlflow"),
    ("serving pytorch models", "torchserve"), ("torch serve", "torchserve"), ("mlflow", "mlflow"),
])
def test_aliases_authors_typos_and_paraphrases(engine: IndexedSearch, query: str, expected: str) -> None:
    assert ids(engine, query)[0] == expected


def test_the_resource_itself_ranks_above_pages_about_it(engine: IndexedSearch) -> None:
    assert ids(engine, "mlflow")[:2] == ["mlflow", "mlflow-examples"]


def test_naming_a_small_category_lists_it_in_catalog_order(engine: IndexedSearch) -> None:
    for query in ("feature-store", "feature stores", "featur stor"):
        assert ids(engine, query)[:3] == ["feast", "tecton", "aws-fs"], query


def test_a_resource_without_any_link_is_demoted() -> None:
    twins = (_r("a", "Drift Monitor", "tool", "books", "Drift monitoring", url=None),
             _r("b", "Drift Monitor", "tool", "books", "Drift monitoring"))
    engine = IndexedSearch(Catalog(resources=twins, categories=CATEGORIES))
    assert [h.resource.id for h in engine.search(SearchQuery(text="drift monitor")).hits] == ["b", "a"]


def test_covering_every_word_beats_a_strong_match_on_one(engine: IndexedSearch) -> None:
    assert ids(engine, "technical debt paper")[0] == "debt"


# -- filters and paging ---------------------------------------------------------------------------

def test_filters_compose_with_text(engine: IndexedSearch) -> None:
    assert ids(engine, "kind:paper debt") == ["debt"]
    assert set(ids(engine, "debt")) == {"debt", "debt-blog"}
    assert ids(engine, "free courses") == ["fsdl", "made-with-ml"]
    assert ids(engine, "level:beginner") == ["mlflow", "introducing-mlops"]
    assert ids(engine, "category:model-serving kubernetes") == ["kserve"]
    assert ids(engine, "kind:book serving") == []


def test_a_count_cut_short_by_the_scoring_bound_says_so() -> None:
    """With a word in more resources than are scored, "of N" is a floor: the member is told, not misled."""
    many = tuple(_r(f"guide-{n}", f"Learning guide {n}", "tutorial", "free-courses", f"Notes on topic {n}")
                 for n in range(260))
    catalog = Catalog(resources=many, categories=CATEGORIES)
    small = IndexedSearch(catalog, max_candidates=50)  # scores the strongest 200 postings (TOP_SLICE) at least
    page = small.search(SearchQuery(text="learning guide"), limit=5)
    assert page.total_is_floor and 200 <= page.total < 260
    assert not IndexedSearch(catalog).search(SearchQuery(text="learning guide"), limit=5).total_is_floor
    assert not small.search(SearchQuery(text="topic 7"), limit=5).total_is_floor  # a rare word: all scored

    ctx = Context(catalog, small, "/mlops")
    reply = handle(parse("resource learning guide"), ctx)
    assert reply.footer == f"Showing 1–5 of {page.total}+"
    end = handle(parse("resource learning guide"), ctx, page.total)
    assert "best" in end.text and "more specific" in end.text


def test_long_posting_lookups_keep_the_most_recently_used_within_their_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A common word's posting list is made a mapping when a query scores a few candidates against it;
    the ones used most recently are kept, up to LOOKUP_BUDGET postings, and the cache never changes an answer."""
    import bot.core.search_index as search_index

    many = tuple(_r(f"guide-{n}", f"Guide {n}", "tutorial", "free-courses", "alpha beta gamma notes")
                 for n in range(1200))
    catalog = Catalog(resources=many, categories=CATEGORIES)
    monkeypatch.setattr(search_index, "LOOKUP_BUDGET", 2 * len(many) + 100)  # two common words' lists, not three
    engine = IndexedSearch(catalog, max_candidates=50)
    queries = ["alpha 7", "beta 8", "alpha 9", "gamma 10"]
    pages = [engine.search(SearchQuery(text=q), limit=5) for q in queries]
    # beta, used before alpha's second use, is the least recently used when gamma needs the room
    assert list(engine._lookups) == ["alpha", "gamma"]
    assert sum(map(len, engine._lookups.values())) <= search_index.LOOKUP_BUDGET
    for query, page in zip(queries, pages, strict=True):
        assert page.hits[0].resource.id == f"guide-{query.split()[1]}"
        fresh = IndexedSearch(catalog, max_candidates=50).search(SearchQuery(text=query), limit=5)
        assert [(h.resource.id, h.score) for h in page.hits] == [(h.resource.id, h.score) for h in fresh.hits]


def test_paging_partitions_the_results(engine: IndexedSearch) -> None:
    query = SearchQuery(text="serving")
    everything = engine.search(query, limit=100)
    assert everything.total == len(everything.hits) >= 3
    seen = []
    for offset in range(0, everything.total, 2):
        page = engine.search(query, limit=2, offset=offset)
        assert page.total == everything.total and page.offset == offset
        assert page.has_more == (offset + len(page.hits) < everything.total)
        seen += [h.resource.id for h in page.hits]
    assert seen == [h.resource.id for h in everything.hits]
    assert engine.search(query, limit=5, offset=everything.total).hits == ()


def test_scores_are_0_to_100_and_descending(engine: IndexedSearch) -> None:
    for text in ("feature store", "model serving tensorflow", "mlops", "xyz debt"):
        scores = [h.score for h in engine.search(SearchQuery(text=text), limit=20).hits]
        assert all(0 <= s <= 100 for s in scores)
        assert scores == sorted(scores, reverse=True), text


# -- no results -----------------------------------------------------------------------------------

def test_no_results_names_categories_and_a_did_you_mean(engine: IndexedSearch) -> None:
    page = engine.search(SearchQuery(text="xyzzy plugh"))
    assert page.hits == () and page.total == 0 and page.categories
    page = engine.search(parse_query("kind:book tensorflwo"))
    assert page.hits == () and page.did_you_mean == "tensorflow" and page.categories


def test_typo_sets_did_you_mean(engine: IndexedSearch) -> None:
    assert engine.search(SearchQuery(text="expirement tracking")).did_you_mean == "experiment tracking"


def test_handler_reply_never_empty(engine: IndexedSearch) -> None:
    catalog = engine.catalog
    reply = handle(parse("/mlops resource qqqqzzzz"), Context(catalog, engine))
    assert reply.text and "categor" in reply.text.lower()
    reply = handle(parse("/mlops resource featur stor"), Context(catalog, engine))
    assert reply.items[0].title == "Feast"


# -- completion -----------------------------------------------------------------------------------

def test_complete_prefixes(engine: IndexedSearch) -> None:
    found = engine.complete("ml")
    assert [c.value for c in found][:2] == ["MLflow", "MLflow Examples"]
    assert {c.kind for c in found} <= {"resource", "category"}
    assert engine.complete("torchs")[0].value == "TorchServe"
    assert engine.complete("feature st")[0].kind == "category"
    assert "Amazon SageMaker Feature Store" in [c.value for c in engine.complete("sagemaker fea")]
    assert engine.complete("kubrnetes")  # no prefix matches: falls back on the typo-tolerant search
    assert [c.kind for c in engine.complete("")] == ["category"] * len(CATEGORIES)


def test_completion_limits() -> None:
    many = tuple(_r(f"r{i}", f"Pipeline {'x' * 120} {i}", "tool", "books", "s") for i in range(40))
    engine = IndexedSearch(Catalog(resources=many, categories=CATEGORIES))
    found = engine.complete("pipe")
    assert len(found) == 25
    assert all(len(c.label) <= 100 and len(c.value) <= 100 for c in found)
    assert len(engine.complete("pipe", limit=3)) == 3


# -- properties -----------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60), limit=st.integers(0, 30), offset=st.integers(0, 40))
def test_search_and_complete_never_raise(engine: IndexedSearch, text: str, limit: int, offset: int) -> None:
    page = engine.search(SearchQuery(text=text), limit=limit, offset=offset)
    assert len(page.hits) <= limit and page.offset == offset
    assert len({h.resource.id for h in page.hits}) == len(page.hits)
    assert page.total >= offset + len(page.hits) or not page.hits
    assert page.hits or page.total <= offset or limit == 0
    found = engine.complete(text)
    assert len(found) <= 25 and all(len(c.label) <= 100 and len(c.value) <= 100 for c in found)


# -- the bundled catalog: held-out queries ----------------------------------------------------------

@pytest.fixture(scope="module")
def bundled() -> tuple[Catalog, SearchEngine]:
    catalog = load_catalog(PACKAGED_CATALOG)
    return catalog, build_search(catalog)


@pytest.mark.parametrize(("query", "first"), [
    ("featur stor", "feast"), ("feature stores", "feast"), ("weights & biases", "weights-and-biases"),
    ("w&b", "weights-and-biases"), ("serving pytorch models", "torchserve"), ("treveil", "introducing-mlops"),
    ("kfserving", "kserve"), ("tf serving", "tensorflow-serving"), ("fsdl", "full-stack-deep-learning"),
    ("expirement tracking", "mlflow"), ("andrew ng", "deeplearning-ai-mlops-specialization"),
    ("lakshmanan", "machine-learning-design-patterns"), ("ml design patterns", "machine-learning-design-patterns"),
    ("kind:paper debt", "hidden-technical-debt-in-ml-systems"), ("version control for data", "dvc"),
    ("torch serve", "torchserve"), ("burkov", "ml-news-andriy-burkov"), ("the batch", "the-batch"),
    ("feast tutorial", "feast-tutorials"), ("triton inference", "nvidia-triton"), ("mlfow", "mlflow"),
])
def test_bundled_catalog_first_result(bundled: tuple[Catalog, SearchEngine], query: str, first: str) -> None:
    catalog, engine = bundled
    page = engine.search(parse_query(query, {c.id for c in catalog.categories}), limit=5)
    assert page.hits and page.hits[0].resource.id == first, [h.resource.id for h in page.hits]


def test_bundled_catalog_free_courses(bundled: tuple[Catalog, SearchEngine]) -> None:
    _, engine = bundled
    page = engine.search(parse_query("free courses"), limit=10)
    assert {h.resource.category for h in page.hits} == {"free-courses"} and page.total == 4


query_words = st.lists(st.sampled_from(["Feature", "store", "the", "of", "machine", "learning", "TorchServe", "W&B",
                                        "k8s", "Kubernetes", "café", "MLflow", "-", " ", "_", "İ", "ǅ"]),
                       max_size=8).map(" ".join)


@given(text=st.one_of(st.text(max_size=40), query_words))
@settings(max_examples=300)
def test_the_one_pass_query_analysis_equals_the_separate_ones(text: str):
    analysis = analyze_query(text)
    assert analysis.terms == term_words(text)
    assert analysis.pairs == pairs(text)
    assert analysis.key == key(text)
    assert analysis.plain == plain_words(text)


@given(text=st.one_of(st.text(max_size=40), query_words), with_pairs=st.booleans())
@settings(max_examples=300)
def test_the_one_pass_index_analysis_equals_the_separate_ones(text: str, with_pairs: bool):
    assert analyze(text, with_pairs=with_pairs) == (term_words(text), pairs(text) if with_pairs else [])
