"""The semantic layer's backend (bot/semantic.py) with the packaged model: offline, cached, growable.

Skipped where the semantic extra is not installed; there the bot searches by words (tested too).
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from bench.search import HELD_OUT_QUESTIONS, QUESTIONS, relevance
from bot import semantic
from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog, Resource
from bot.core.catalog_loader import load_catalog
from bot.core.commands import parse_query
from bot.core.search_api import build_search
from bot.core.search_fusion import FusedSearch

needs_model = pytest.mark.skipif(not semantic.installed(), reason="the semantic extra is not installed")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PACKAGED_CATALOG)


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> semantic.SemanticIndex:
    built = semantic.build_index(catalog, None)
    assert built is not None
    return built


def test_without_the_extra_search_is_lexical_and_says_so_once(monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture,
                                                              catalog: Catalog) -> None:
    monkeypatch.setattr(semantic, "installed", lambda: False)
    monkeypatch.setattr(semantic, "_warned", False)
    with caplog.at_level(logging.INFO, logger="bot.semantic"):
        assert semantic.load_semantic(catalog) is None
        assert semantic.load_semantic(catalog) is None
    assert sum("semantic search is off" in r.getMessage() for r in caplog.records) == 1


@needs_model
def test_the_model_loads_with_the_network_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the semantic layer tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embedder = semantic.load_embedder()
    assert embedder is not None
    vectors = embedder.embed(["feature store", ""])
    assert vectors.shape == (2, semantic.DIM)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4 and not vectors[1].any()


@needs_model
def test_resource_vectors_are_cached_by_the_catalogs_content(tmp_path: Path, catalog: Catalog) -> None:
    embedder = semantic.load_embedder()
    assert embedder is not None
    first = semantic.catalog_vectors(catalog, embedder, tmp_path)
    files = list(tmp_path.glob("semantic-*.npy"))
    assert len(files) == 1
    calls = []
    original = embedder.embed
    embedder.embed = lambda texts: calls.append(len(texts)) or original(texts)  # type: ignore[method-assign]
    again = semantic.catalog_vectors(catalog, embedder, tmp_path)
    assert calls == [] and (again == first).all()  # read back, not recomputed
    changed = Catalog(resources=catalog.resources[1:], categories=catalog.categories)
    semantic.catalog_vectors(changed, embedder, tmp_path)
    assert calls == [len(changed)] and len(list(tmp_path.glob("semantic-*.npy"))) == 2


@needs_model
def test_meaning_finds_what_shares_no_word_with_the_query(index: semantic.SemanticIndex) -> None:
    found = [r.category for r, _ in index.rank("a place to chat with peers", 5)]
    assert "community-forums" in found


@needs_model
def test_a_filtered_ranking_is_the_full_ranking_filtered(index: semantic.SemanticIndex, catalog: Catalog) -> None:
    """A filter's ranking stops reading at its limit: it must still be the best `limit` the filter lets through."""
    grown = index.with_added([Resource(id="zulip-mlops", title="MLOps Zulip", kind="community",
                                       category="community-forums", summary="A chat server for practitioners",
                                       url="https://zulip.example.org/")])
    for text in ("a place to chat with peers", "books about production machine learning", "serving models"):
        everything = grown.rank(text, len(catalog.resources) + 1)
        for kind in ("community", "book", "tool", "podcast"):
            def accepts(r: Resource, kind: str = kind) -> bool:
                return r.kind == kind
            assert grown.rank(text, 3, accepts) == [rs for rs in everything if accepts(rs[0])][:3]


@needs_model
def test_the_product_runs_on_one_blas_thread(index: semantic.SemanticIndex) -> None:
    """OpenBLAS's workers would spin after each query's product and hold the second CPU (bot/semantic.py)."""
    from threadpoolctl import threadpool_info

    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)


@needs_model
def test_an_added_resource_is_embedded_alone_and_ranked(index: semantic.SemanticIndex, catalog: Catalog) -> None:
    extra = Resource(id="zulip-mlops", title="MLOps Zulip", kind="community", category="community-forums",
                     summary="A chat server where practitioners help each other", url="https://zulip.example.org/")
    grown = index.with_added([extra, catalog.resources[0]])
    assert grown.vectors is index.vectors  # the base's vectors are shared, not copied
    assert [r.id for r in grown.added] == ["zulip-mlops"]  # an id already there is not embedded again
    assert "zulip-mlops" in [r.id for r, _ in grown.rank("a chat server where practitioners help each other", 3)]
    assert "zulip-mlops" not in [r.id for r, _ in index.rank("a chat server where practitioners help each other", 3)]


@needs_model
def test_the_lazy_ranker_loads_on_first_use_and_carries_approvals(catalog: Catalog, tmp_path: Path) -> None:
    lazy = semantic.load_semantic(catalog, tmp_path)
    assert lazy is not None and not list(tmp_path.iterdir())  # nothing loaded yet
    extra = Resource(id="zulip-mlops", title="MLOps Zulip", kind="community", category="community-forums",
                     summary="A chat server where practitioners help each other", url="https://zulip.example.org/")
    grown = lazy.with_added([extra])
    assert "zulip-mlops" in [r.id for r, _ in grown.rank("a chat server where practitioners help each other", 3)]
    assert list(tmp_path.glob("semantic-*.npy"))


@needs_model
def test_fused_search_scores_on_the_question_sets(catalog: Catalog, index: semantic.SemanticIndex) -> None:
    engine = build_search(catalog, semantic=index)
    assert isinstance(engine, FusedSearch)

    def run(text: str) -> list[str]:
        return [h.resource.id for h in engine.search(parse_query(text), limit=5).hits]

    sample, held_out = relevance(run, QUESTIONS), relevance(run, HELD_OUT_QUESTIONS)
    assert sample[0] >= 0.8 and sample[1] >= 0.85, sample
    assert held_out[0] >= 0.85 and held_out[1] >= 0.85, held_out
