"""merge_resources: approved resources become new entries at the end of `resources:`, and nothing else changes."""

from __future__ import annotations

import dataclasses
import difflib
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import KINDS, LEVELS, Link, Resource
from bot.core.catalog_export import ExportError, already_present, merge_resources
from bot.core.catalog_loader import parse_catalog
from bot.errors import CatalogError
from tests.conftest import MINIMAL_CATALOG

SHIPPED = PACKAGED_CATALOG.read_text(encoding="utf-8")
MINIMAL = textwrap.dedent(MINIMAL_CATALOG).lstrip("\n")

EVIDENTLY = Resource(
    id="evidently", title="Evidently", kind="tool", category="experiment-tracking",
    summary="Open-source ML monitoring and data drift reports", url="https://docs.evidentlyai.com/",
    links=(Link("GitHub", "https://github.com/evidentlyai/evidently"),),
    tags=("monitoring", "data-drift", "open-source"), level="intermediate", cost="free",
)
DESIGNING = Resource(
    id="designing-ml-systems", title="Designing Machine Learning Systems: An Iterative Process", kind="book",
    category="books", summary="Chip Huyen's book on ML systems # in production", year=2022,
    url="https://www.oreilly.com/library/view/designing-machine-learning/9781098107956/",
    notes=("Yes, it covers monitoring",), tags=("book", "ml-systems", "null"), aliases=("DMLS",),
    authors=("Chip Huyen",), provider="O'Reilly", cost="paid",
)


def only_added(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if it changes or removes any."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    changed = [op for op in matcher.get_opcodes() if op[0] not in ("equal", "insert")]
    assert not changed, changed
    lines = after.splitlines()
    return [line for op, _, _, j1, j2 in matcher.get_opcodes() if op == "insert" for line in lines[j1:j2]]


def test_two_new_resources_in_the_shipped_catalog_are_only_added_lines():
    merged = merge_resources(SHIPPED, [EVIDENTLY, DESIGNING])
    added = only_added(SHIPPED, merged)
    assert added[:3] == ["  - id: evidently", "    title: Evidently", "    kind: tool"]
    assert "    links:" in added and "      - {label: GitHub, url: https://github.com/evidentlyai/evidently}" in added
    assert "    tags: [monitoring, data-drift, open-source]" in added
    assert "    summary: 'Chip Huyen''s book on ML systems # in production'" in added
    before, after = parse_catalog(SHIPPED), parse_catalog(merged)
    assert after.resources == (*before.resources, EVIDENTLY, DESIGNING)
    assert dataclasses.replace(after, resources=before.resources) == before


def test_new_entries_go_right_after_the_last_one_before_what_follows_the_list():
    merged = merge_resources(SHIPPED, [EVIDENTLY])
    assert merged.index("  - id: evidently") < merged.index("\ncomparisons:")
    assert merged.index("  - id: gcp-professional-ml-engineer") < merged.index("  - id: evidently")


def test_merging_twice_gives_what_merging_once_gave():
    once = merge_resources(SHIPPED, [EVIDENTLY, DESIGNING])
    assert merge_resources(once, [EVIDENTLY, DESIGNING]) == once


def test_with_nothing_new_the_text_comes_back_unchanged():
    assert merge_resources(SHIPPED, []) is SHIPPED
    assert merge_resources(SHIPPED, [dataclasses.replace(EVIDENTLY, id="feast")]) is SHIPPED


@pytest.mark.parametrize("change", [
    {"id": "mlflow"},  # an id the file has
    {"url": "https://mlflow.org/docs/latest/index.html"},  # a resource's url
    {"url": "http://www.mlflow.org/docs/latest/index.html/?utm_source=slack#top"},  # the same, written otherwise
    {"url": "https://github.com/mlflow/mlflow"},  # a link of a resource
    {"url": None, "links": (Link("Code", "https://GITHUB.com/mlflow/mlflow/"),)},  # a link matching a link
    {"links": (Link("Docs", "https://docs.feast.dev"),)},  # one of its links matching a url
])
def test_a_resource_whose_id_or_a_url_is_in_the_file_is_not_added(change):
    duplicate = dataclasses.replace(EVIDENTLY, **change)
    assert merge_resources(SHIPPED, [duplicate]) is SHIPPED
    assert already_present(SHIPPED, [duplicate, DESIGNING]) == [duplicate]


def test_of_two_approved_resources_with_one_id_or_url_only_the_first_is_added():
    twin = dataclasses.replace(EVIDENTLY, title="Evidently AI")
    same_url = dataclasses.replace(DESIGNING, url=EVIDENTLY.url)
    merged = merge_resources(SHIPPED, [EVIDENTLY, twin, same_url])
    assert parse_catalog(merged).resources[-1] == EVIDENTLY
    assert already_present(SHIPPED, [EVIDENTLY, twin, same_url]) == [twin, same_url]


def test_an_approved_resource_the_catalog_would_refuse_is_not_written():
    with pytest.raises(CatalogError) as info:
        merge_resources(SHIPPED, [dataclasses.replace(EVIDENTLY, category="monitoring")])
    assert [p.field for p in info.value.problems] == ["category"]


def test_an_invalid_catalog_is_refused():
    with pytest.raises(CatalogError):
        merge_resources(MINIMAL.replace("kind: tool", "kind: gadget"), [EVIDENTLY])


def test_a_flow_style_resources_list_is_refused():
    text = ("version: 1\ncategories:\n  - {id: podcasts, title: Podcasts}\n"
            "resources: [{id: x, title: X, kind: podcast, category: podcasts, summary: S}]\n")
    assert parse_catalog(text).get("x") is not None
    with pytest.raises(ExportError):
        merge_resources(text, [PODCAST])


PODCAST = Resource(id="mlops-podcast", title="MLOps.community Podcast", kind="podcast", category="podcasts",
                   summary="Talks with practitioners", url="https://mlops.community/podcast/",
                   links=(Link("Spotify", "https://open.spotify.com/show/x"),), tags=("podcast",))
PODCAST_LINES = ("  - id: mlops-podcast\n"
                 "    title: MLOps.community Podcast\n"
                 "    kind: podcast\n"
                 "    category: podcasts\n"
                 "    url: https://mlops.community/podcast/\n"
                 "    links: [{label: Spotify, url: https://open.spotify.com/show/x}]\n"
                 "    summary: Talks with practitioners\n"
                 "    tags: [podcast]\n")
LEARNING_PATHS = ("\n# ------------------------------------------------ Learning paths\n"
                  "learning_paths:\n  - level: beginner\n    title: Start\n"
                  "    steps: [{text: Feast first, resources: [feast]}]\n")


@pytest.mark.parametrize(("text", "expected"), [
    # The minimal catalog: no blank lines between entries, links in flow style; at the end of the file.
    (MINIMAL, MINIMAL + PODCAST_LINES),
    # resources: is not the last key, and a comment block comes before the next one.
    (MINIMAL + LEARNING_PATHS, MINIMAL + PODCAST_LINES + LEARNING_PATHS),
    # The last line has no line break.
    (MINIMAL.removesuffix("\n"), MINIMAL + PODCAST_LINES),
    # A comment after the last value stays on its line.
    (MINIMAL.replace("Applied ML topics\n", "Applied ML topics  # short\n"),
     MINIMAL.replace("Applied ML topics\n", "Applied ML topics  # short\n") + PODCAST_LINES),
    # The last entry ends with a block scalar.
    (MINIMAL.replace("summary: Applied ML topics\n", "summary: |\n      Applied ML topics\n      and more\n"),
     MINIMAL.replace("summary: Applied ML topics\n", "summary: |\n      Applied ML topics\n      and more\n")
     + PODCAST_LINES),
    # Entries at column 0 with two-space keys.
    (MINIMAL.replace("\n  - id: ", "\n- id: ").replace("\n    ", "\n  "),
     MINIMAL.replace("\n  - id: ", "\n- id: ").replace("\n    ", "\n  ") + PODCAST_LINES.replace("\n    ", "\n  ")
     .replace("  - id:", "- id:")),
    # Windows line breaks.
    (MINIMAL.replace("\n", "\r\n"), (MINIMAL + PODCAST_LINES).replace("\n", "\r\n")),
])
def test_a_new_entry_follows_the_files_own_layout(text, expected):
    assert merge_resources(text, [PODCAST]) == expected


def test_blank_lines_between_entries_and_block_links_are_kept_when_the_file_uses_them():
    text = MINIMAL.replace("  - id: practical-ai", "\n  - id: practical-ai").replace(
        "    links: [{label: GitHub, url: https://github.com/feast-dev/feast}]\n",
        "    links:\n      - {label: GitHub, url: https://github.com/feast-dev/feast}\n")
    added = merge_resources(text, [PODCAST]).removeprefix(text)
    assert added == "\n" + PODCAST_LINES.replace(
        "    links: [{label: Spotify, url: https://open.spotify.com/show/x}]\n",
        "    links:\n      - {label: Spotify, url: https://open.spotify.com/show/x}\n")


# Text a member may type: what YAML would retype or misread when written plain, and anything else.
tricky = st.sampled_from([
    "yes", "No", "on", "OFF", "null", "~", "1e3", "0x1F", "0o17", "1_000", "+12", "-.inf", ".NaN", "2019-01-01",
    "12:30:00", "<<", "=", "true", "y", "a: b", "a:b", "- x", "-x", "* x", "*alias", "&anchor", "!tag", "!!str x",
    "%YAML", "@here", "`code`", "# not a comment", "a # b", "a#b", "'quoted'", '"double"', "it's", "multi\nline",
    "tab\there", "ünïcödé", "😀", "[a, b]", "{a: b}", "a, b", "a]", "? key", "| block", "> folded", "---", "...",
    "--- x", "\\", "\x00nul", "\x07bell", "\x85nel", "\u2028ls", "a\u202eb", "\ufeffbom", "\ufffe", "x" * 200,
])
hostile = st.one_of(tricky, st.text(min_size=1, max_size=60)).map(str.strip).filter(bool)
slugs = st.from_regex(r"\A[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,2}\Z")


@st.composite
def resources(draw: st.DrawFn) -> Resource:
    texts = st.lists(hostile, max_size=4).map(tuple)
    return Resource(
        id="new-" + draw(slugs), title=draw(hostile), kind=draw(st.sampled_from(KINDS)),
        category=draw(st.sampled_from(["feature-stores", "podcasts"])), summary=draw(hostile),
        url=draw(st.one_of(st.none(), slugs.map(lambda s: f"https://example.org/{s}?q=a:b&c=#x"))),
        links=tuple(draw(st.lists(st.builds(Link, hostile.map(lambda t: t[:80].strip()).filter(bool),
                                            slugs.map(lambda s: f"https://{s}.example.com/a,b")), max_size=2))),
        tags=draw(texts), aliases=draw(texts), authors=draw(texts), notes=draw(texts),
        level=draw(st.one_of(st.none(), st.sampled_from(LEVELS))),
        year=draw(st.one_of(st.none(), st.integers(1900, 2100))),
        provider=draw(st.one_of(st.none(), hostile)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resources(), min_size=1, max_size=3, unique_by=lambda r: r.id))
def test_hostile_text_always_reads_back_as_written(new):
    merged = merge_resources(MINIMAL, new)
    only_added(MINIMAL, merged)
    expected = [r for r in new if r not in already_present(MINIMAL, new)]
    assert parse_catalog(merged).resources[2:] == tuple(expected)
