"""yaml_events.load gives exactly what PyYAML's safe loader gives, or says the document is unusual."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalog_file import PACKAGED_CATALOG
from bot.core import yaml_events

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> object:
    return yaml.load(text, Loader=SafeLoader)  # the safe loader: no arbitrary objects


# Strings that YAML 1.1 reads as something else when written plain, and ordinary ones.
tricky = st.sampled_from(["yes", "No", "on", "OFF", "null", "~", "Null", "", "1e3", "0x1F", "0o17", "1_000", "+12",
                          "-.inf", ".NaN", "2019-01-01", "2001-12-14t21:59:43.10-05:00", "<<", "=", "true", "y",
                          "Feast", "feature store", "a: b", "- x", "# not a comment", "'quoted'", "multi\nline",
                          "trailing ", " leading", "tab\there", "ünïcödé", "😀", "@here", "&anchor", "*alias"])
scalars = st.one_of(tricky, st.text(max_size=20), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False), st.dates())
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5),
    st.dictionaries(st.one_of(tricky, st.text(max_size=10), st.integers()), children, max_size=5)), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, False, True]), st.booleans())
def test_any_document_yaml_dump_writes_loads_as_the_safe_loader_loads_it(data: object, flow: bool | None,
                                                                        unicode: bool):
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=unicode)
    assert yaml_events.load(text) == safe_load(text)


def test_the_packaged_catalog_loads_the_same():
    text = PACKAGED_CATALOG.read_text(encoding="utf-8")
    assert yaml_events.load(text) == safe_load(text)


def test_anchors_and_aliases_share_one_object_as_with_pyyaml():
    text = "base: &b {kind: tool, tags: [a, b]}\nother: *b\nlist: [&x 1, *x]\n"
    data = yaml_events.load(text)
    assert data == safe_load(text)
    assert data["other"] is data["base"]


def test_special_floats_and_empty_values():
    text = "a: .inf\nb: -.Inf\nc:\nd: ''\ne: ~\nf: .nan\n"
    data = yaml_events.load(text)
    expected = safe_load(text)
    assert math.isnan(data.pop("f")) and math.isnan(expected.pop("f"))
    assert data == expected


@pytest.mark.parametrize("text", [
    "a: !!set {x, y}\n",  # an explicit tag
    "a: !custom 1\n",
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",  # a merge key
    "? [a, b]\n: c\n",  # a key that is a sequence
    "a: 1\n---\nb: 2\n",  # two documents
    "a: [1, 2\nb: 3\n",  # a syntax error
    "a: *nowhere\n",  # an undefined alias
    "a: =\n",  # the value key, which the safe loader refuses
])
def test_what_it_does_not_handle_is_left_to_pyyaml(text: str):
    with pytest.raises(yaml_events.Unusual):
        yaml_events.load(text)
