"""The index build's analyses (one pass over a text, link words without re-splitting) against the plain
functions they stand for, and the built index against a reference worked out field by field from those."""

from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.synthetic_catalog import make_catalog
from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog, Category, Link, Resource
from bot.core.catalog_loader import load_catalog
from bot.core.normalize import (
    analyze,
    analyze_plain,
    analyze_words,
    pairs,
    plain_words,
    stem,
    term_words,
    url_word_list,
    url_words,
)
from bot.core.search_index import (
    F_ALIAS,
    F_AUTHOR,
    F_CATEGORY,
    F_CATEGORY_TEXT,
    F_KIND,
    F_LINK,
    F_NOTES,
    F_PROVIDER,
    F_SUMMARY,
    F_TAG,
    F_TITLE,
    MASK_VALUE,
    TOP_SLICE,
    IndexedSearch,
)

texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(["Feature", "store", "the", "of", "machine", "learning", "TorchServe", "W&B", "XGBoost",
                              "k8s", "Kubernetes", "café", "MLflow", "-", " ", "_", "İ", "ǅ", "google", "Cloud", "&"]),
             max_size=8).map(" ".join),
)
urls = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["https://", "www.", "github.com", "/", "madewithml", "MLOps-Basics", ".io", "?q=",
                              "machine", "-learning", "google", "/cloud", "86df7dcfd896", "Paper.pdf", "&x=", "#top",
                              "the", "of", "é"]), max_size=10).map("".join),
)


@given(text=texts, with_pairs=st.booleans())
@settings(max_examples=400)
def test_the_one_pass_analysis_gives_the_plain_words_too(text: str, with_pairs: bool) -> None:
    term_pairs, found_pairs, plain = analyze_plain(text, with_pairs=with_pairs)
    assert (term_pairs, found_pairs) == analyze(text, with_pairs=with_pairs)
    assert term_pairs == term_words(text) and found_pairs == (pairs(text) if with_pairs else [])
    if with_pairs:
        assert plain == plain_words(text)


@given(url=urls)
@settings(max_examples=400)
def test_link_words_are_analysed_as_their_text_would_be(url: str) -> None:
    words = url_word_list(url)
    assert " ".join(words) == url_words(url)
    assert analyze_words(words) == term_words(url_words(url))


def _reference_masks(catalog: Catalog) -> list[dict[str, int]]:
    """Each resource's term -> fields, from the plain analyses of each of its texts, field by field."""
    categories = {c.id: c for c in catalog.categories}
    out = []
    for r in catalog.resources:
        category = categories.get(r.category)
        texts: list[tuple[str, int, bool]] = [(r.title, F_TITLE, True)]
        texts += [(a, F_ALIAS, True) for a in r.aliases] + [(a, F_AUTHOR, True) for a in r.authors]
        texts += [(t, F_TAG, True) for t in r.tags]
        names = " ".join((category.id, category.title, *category.aliases)) if category else r.category
        texts += [(names, F_CATEGORY, True), (r.kind, F_KIND, True)]
        if r.provider:
            texts.append((r.provider, F_PROVIDER, True))
        texts.append((r.summary, F_SUMMARY, False))
        texts += [(n, F_NOTES, False) for n in r.notes]
        if category and category.description:
            texts.append((category.description, F_CATEGORY_TEXT, False))
        if r.url:
            texts.append((url_words(r.url), F_LINK, False))
        for link in r.links:
            texts += [(link.label, F_LINK, False), (url_words(link.url), F_LINK, False)]
        masks: dict[str, int] = {}
        for text, field, with_pairs in texts:
            for term in [t for t, _ in term_words(text)] + (pairs(text) if with_pairs else []):
                masks[term] = masks.get(term, 0) | 1 << field
        out.append(masks)
    return out


def _odd_catalog() -> Catalog:
    categories = (Category("ml-ops", "MLOps Things", "x", "Tools for Machine Learning & AI in the cloud", ("ops",)),
                  Category("reads", "Reading", "x"))
    titles = ["Crème brûlée: Über TorchServe & W&B", "İstanbul ﬁle straße MLflow", "KServe on Kubernetes", "the of and",
              "XGBoost FastAPI SageMaker", "Tracking trackers tracked", "google cloud continuous delivery"]
    resources = tuple(
        Resource(id=f"r{i}", title=t, kind="tool" if i % 2 else "book", category="ml-ops" if i % 3 else "reads",
                 summary=titles[-1 - i] + " summary", tags=("feature-store", "MLOps"),
                 aliases=(t.upper(),) if i % 4 == 0 else (), authors=("Zoë Ångström",) if i % 3 == 0 else (),
                 url=f"https://www.{i}ex.co.uk/Path_one/machine-learning/{i}abc123?q=google&x=cl" if i != 3 else None,
                 links=(Link("GitHub Repo", f"https://github.com/org/{t[:8]}"),) if i % 2 else (),
                 notes=("Note with TensorFlow",) if i == 1 else (), provider="Google Cloud" if i == 2 else None)
        for i, t in enumerate(titles))
    return Catalog(resources=resources, categories=categories)


def test_the_index_holds_every_term_of_every_field_with_its_fields_value() -> None:
    # The synthetic catalog has posting lists longer than TOP_SLICE, which are stored strongest first.
    for catalog in (_odd_catalog(), load_catalog(PACKAGED_CATALOG), make_catalog(1500)):
        engine = IndexedSearch(catalog)
        expected: dict[str, dict[int, float]] = {}
        for doc, masks in enumerate(_reference_masks(catalog)):
            for term, mask in masks.items():
                expected.setdefault(term, {})[doc] = array("f", [MASK_VALUE[mask]])[0]  # stored as float32
        assert set(engine._postings) == set(expected)
        long_lists = 0
        for term, (docs, vals) in engine._postings.items():
            assert dict(zip(docs, vals, strict=True)) == expected[term]
            if len(docs) > TOP_SLICE:  # strongest first, ties in catalog order
                long_lists += 1
                assert list(zip(vals, docs, strict=True)) == sorted(zip(vals, docs, strict=True),
                                                                    key=lambda vd: (-vd[0], vd[1]))
            else:
                assert list(docs) == sorted(docs)
        assert long_lists or len(catalog) < TOP_SLICE
        # typos are fixed on words: each indexed word leads to its own stem
        assert engine._word_term and all(term == stem(word) for word, term in engine._word_term.items())
