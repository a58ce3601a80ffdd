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
    "a: 1\na: 2\n",  # a key given twice, where PyYAML keeps the last silently
    "{a: 1, 'a': 2}\n",  # the same key, quoted once
    "1: x\n01: y\n",  # two spellings of the same int key
    "&k a: 1\n*k : 2\n",  # the same key again, through an alias
    "a: " + "1" * 5000 + "\n",  # an int past Python's digit limit: PyYAML's constructor raises ValueError
    "a: 0x" + "f" * 4000 + "\n",  # an int too long to print in decimal
    "a: 2015-02-30\n",  # a date that does not exist: the constructor raises ValueError
    "a: \udcff\n",  # a lone surrogate, which libyaml cannot encode
])
def test_what_it_does_not_handle_is_left_to_pyyaml(text: str):
    with pytest.raises(yaml_events.Unusual):
        yaml_events.load(text)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), scalars, min_size=1, max_size=5), st.data())
def test_a_mapping_with_any_key_repeated_is_unusual(data: dict, draw: st.DataObject):
    text = yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)
    repeated = draw.draw(st.sampled_from(sorted(data)))
    text += yaml.safe_dump({repeated: "again"}, allow_unicode=True)
    with pytest.raises(yaml_events.Unusual):
        yaml_events.load(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\nb: 1\n", {"a": 1, "b": 1}),  # the same value under two keys is fine
    ("a: {x: 1}\nb: {x: 2}\n", {"a": {"x": 1}, "b": {"x": 2}}),  # the same key in two mappings
    ("a: " + "1" * 4000 + "\n", {"a": int("1" * 4000)}),  # long, but within the limit
])
def test_keys_repeated_only_across_mappings_load_as_pyyaml_loads_them(text: str, expected: object):
    assert yaml_events.load(text) == safe_load(text) == expected
