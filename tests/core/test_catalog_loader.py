"""The catalog validator: every kind of mistake is reported with its file, line and field."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog_loader import load_catalog, parse_catalog
from bot.errors import CatalogError
from bot.service import BotService
from tests.conftest import BIN, MINIMAL_CATALOG, clean_env


def problems_of(path: Path) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return [str(p) for p in info.value.problems]


def test_bundled_catalog_is_valid():
    catalog = load_catalog(PACKAGED_CATALOG)
    assert len(catalog) >= 68
    assert catalog.get("feast") is not None
    assert catalog.weeks == tuple(range(1, 11))


def test_minimal_catalog_loads(write_catalog):
    catalog = load_catalog(write_catalog(MINIMAL_CATALOG))
    feast = catalog.get("feast")
    assert feast is not None and feast.links[0].label == "GitHub"
    assert catalog.get("practical-ai").url is None


def test_yaml_syntax_error_has_line(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    summary: Applied ML topics", "    summary: [Applied ML topics"))
    (problem,) = problems_of(path)
    # libyaml and pure-Python PyYAML word the problem differently; the place and the gist are the same.
    assert problem.startswith(f"{path}:20: yaml: syntax error: while parsing a flow sequence ")
    assert problem.endswith("(noticed on line 21)")


def test_yaml_error_without_context_points_at_the_problem(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    kind: tool", "    kind: tool: x"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:10: yaml: syntax error: mapping values are not allowed")


def test_missing_required_field_points_at_the_entry(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    title: Practical AI\n", ""))
    assert problems_of(path) == [f"{path}:16: title: is required"]


def test_unknown_kind(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("kind: podcast", "kind: podcats"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:18: kind: unknown kind 'podcats'; expected one of: book, paper")


def test_unknown_category_suggests_the_closest(write_catalog):
    text = MINIMAL_CATALOG.replace("category: feature-stores\n    url", "category: feature-store\n    url")
    path = write_catalog(text)
    assert problems_of(path) == [
        f"{path}:11: category: unknown category 'feature-store'; did you mean 'feature-stores'?"]


def test_duplicate_id(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("id: practical-ai", "id: feast"))
    assert problems_of(path) == [f"{path}:16: id: duplicate id 'feast' (first used on line 8)"]


def test_duplicate_url(write_catalog):
    path = write_catalog(MINIMAL_CATALOG + "    url: http://www.docs.feast.dev\n")
    assert problems_of(path) == [
        f"{path}:21: url: duplicate URL 'http://www.docs.feast.dev', already used by 'feast'"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/x", "/relative/path", "https://",
                                 "https://exa mple.com", "data:text/html,<b>hi</b>"])
def test_url_must_be_http(write_catalog, url):
    path = write_catalog(MINIMAL_CATALOG.replace("url: https://docs.feast.dev/", f"url: '{url}'"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:12: url: ")


def test_link_url_must_be_http(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("url: https://github.com/feast-dev/feast", "url: 'javascript:x'"))
    assert problems_of(path) == [f"{path}:13: url: 'javascript:x' is not an http(s) URL"]


def test_unknown_field_suggests_a_fix(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    summary: Applied ML topics", "    summery: Applied ML topics"))
    found = problems_of(path)
    assert f"{path}:20: summery: unknown field in a resource; did you mean 'summary'?" in found
    assert f"{path}:16: summary: is required" in found


def test_every_problem_is_reported_at_once(write_catalog):
    broken = (MINIMAL_CATALOG.replace("kind: tool", "kind: gadget")
              .replace("category: podcasts\n", "category: nowhere\n")
              .replace("id: practical-ai", "id: Practical AI"))
    found = problems_of(write_catalog(broken))
    assert [p.split(": ")[1] for p in found] == ["kind", "id", "category"]


@pytest.mark.parametrize("text", ["", "just a string", "- a\n- list\n", "resources: 3\ncategories: []\n"])
def test_wrong_shapes_are_problems_not_crashes(text):
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "x.yaml")
    assert info.value.problems


def test_references_in_paths_must_exist(write_catalog):
    text = MINIMAL_CATALOG + """
learning_paths:
  - level: beginner
    title: Beginner Path
    steps:
      - {text: Start with Feast, resources: [feast, mlflow]}
"""
    path = write_catalog(text)
    assert problems_of(path) == [f"{path}:26: resources: refers to unknown resource id 'mlflow'"]


def test_missing_file():
    assert problems_of(Path("/nonexistent/catalog.yaml")) == ["/nonexistent/catalog.yaml: file: not found"]


def test_validate_command_reports_each_problem_and_exits_1(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("kind: podcast", "kind: podcats").replace("id: feast", "id: Feast"))
    done = subprocess.run([BIN / "mlops-bot", "validate", str(path)], capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == f"{path}:8: id: 'Feast' must be a lowercase slug like 'feature-stores'"
    assert lines[1].startswith(f"{path}:18: kind: unknown kind 'podcats'")


def test_validate_command_ok(write_catalog):
    done = subprocess.run([BIN / "mlops-bot", "validate", str(write_catalog(MINIMAL_CATALOG))],
                          capture_output=True, text=True, env=clean_env(), timeout=60)
    assert (done.returncode, done.stdout) == (0, "OK: 2 resources, 2 categories\n")


def test_bot_refuses_to_start_on_an_invalid_catalog(write_catalog, tmp_path):
    path = write_catalog(MINIMAL_CATALOG.replace("kind: podcast", "kind: podcats"))
    done = subprocess.run([BIN / "mlops-bot", "run", "--catalog", str(path)], capture_output=True, text=True,
                          env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db"), input="", timeout=60)
    assert done.returncode == 1
    assert "Refusing to start" in done.stderr
    assert f"{path}:18: kind: unknown kind 'podcats'" in done.stderr
    assert "mlops-bot console" not in done.stdout


def test_reload_keeps_the_last_good_catalog(write_catalog):
    path = write_catalog(MINIMAL_CATALOG)
    service = BotService.from_file(path)
    path.write_text(MINIMAL_CATALOG.replace("kind: tool", "kind: ???"), encoding="utf-8")
    assert service.reload() is False
    assert service.catalog.get("feast") is not None
    path.write_text(MINIMAL_CATALOG.replace("title: Feast", "title: Feast 2"), encoding="utf-8")
    assert service.reload() is True
    assert service.catalog.get("feast").title == "Feast 2"


# -- values PyYAML cannot build, keys given twice, characters YAML refuses: lines, never tracebacks --

LONG_DECIMAL = "1" * 5000  # past Python's 4,300-digit limit on int <-> text conversion
LONG_HEX = "0x" + "f" * 4000  # builds an int, but one too long to print in decimal


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    summary: Applied ML topics", f"    summary: Applied ML topics\n    year: {LONG_DECIMAL}",
     "21: year: is a number too long to read"),
    ("title: Feast", f"title: {LONG_HEX}", "9: title: is a number too long to read"),
    ("tags: [feature-store, open-source]", f"tags: [feature-store, {LONG_DECIMAL}]",
     "15: tags: is a number too long to read"),
    ("version: 1", f"version: {LONG_HEX}", "1: version: is a number too long to read"),
    ("    summary: Applied ML topics", "    summary: Applied ML topics\n    year: 2015-02-30",
     "21: year: is not a valid date"),
])
def test_a_value_yaml_cannot_build_is_reported_at_its_line_alone(write_catalog, old, new, expected):
    path = write_catalog(MINIMAL_CATALOG.replace(old, new))
    assert problems_of(path) == [f"{path}:{expected}"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    title: Feast\n", "    title: Feast\n    title: Feast 2\n",
     "10: title: duplicate key 'title' in this mapping (first on line 9)"),
    ("{label: GitHub, url:", "{label: GitHub, label: Code, url:",
     "13: label: duplicate key 'label' in this mapping (first on line 13)"),
    ("  - id: practical-ai\n", "  - id: practical-ai\n    'id': practical-ai\n",
     "17: id: duplicate key 'id' in this mapping (first on line 16)"),
    ("resources:\n", "version: 1\nresources:\n",
     "7: version: duplicate key 'version' in this mapping (first on line 1)"),
])
def test_a_key_given_twice_in_one_mapping_is_reported_at_the_second(write_catalog, old, new, expected):
    path = write_catalog(MINIMAL_CATALOG.replace(old, new))
    assert problems_of(path) == [f"{path}:{expected}"]


def test_a_key_given_twice_does_not_hide_the_other_problems(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    title: Feast\n", "    title: Feast\n    title: Feast 2\n")
                         .replace("kind: podcast", "kind: podcats"))
    found = problems_of(path)
    assert found[0] == f"{path}:10: title: duplicate key 'title' in this mapping (first on line 9)"
    assert found[1].startswith(f"{path}:19: kind: unknown kind 'podcats'")


def write_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(data)
    return path


def minimal_bytes() -> bytes:
    return textwrap.dedent(MINIMAL_CATALOG).lstrip("\n").encode("utf-8")


def test_a_byte_that_is_not_utf8_is_reported_with_its_line_and_column(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes().replace(b"Applied ML", b"Applied \xff ML"))
    assert problems_of(path) == [f"{path}:20: file: line 20 has a byte that is not UTF-8 (0xff at column 22)"]


def test_the_column_counts_characters_not_bytes(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes().replace(b"Applied ML", "Appliéd ML".encode() + b"\xfe"))
    assert problems_of(path) == [f"{path}:20: file: line 20 has a byte that is not UTF-8 (0xfe at column 24)"]


def test_a_nul_character_is_reported_with_its_line_and_column(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes().replace(b"title: Feast", b"title: Fe\x00ast"))
    assert problems_of(path) == [f"{path}:9: file: line 9 has a NUL character (at column 14)"]


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe", "\udcff"])
def test_characters_yaml_refuses_are_reported_with_their_line(char):
    text = textwrap.dedent(MINIMAL_CATALOG).lstrip("\n").replace("title: Feast", f"title: Fe{char}ast")
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "x.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (9, "file")
    assert str(problem).startswith("x.yaml:9: file: line 9 has a ")
    assert str(problem).endswith(" at column 14)")


def test_lines_count_carriage_returns_as_yaml_does(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes().replace(b"\n", b"\r\n").replace(b"title: Feast", b"title: \x00"))
    assert problems_of(path) == [f"{path}:9: file: line 9 has a NUL character (at column 12)"]


def test_many_lines_of_bad_bytes_are_reported_once_each_up_to_a_limit(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes() + b"# \xff \xff\n" * 30)
    found = problems_of(path)
    assert found[0] == f"{path}:21: file: line 21 has a byte that is not UTF-8 (0xff at column 3)"
    assert len(found) == 11
    assert found[-1] == f"{path}: file: and 20 more lines with such characters"


def test_validate_command_reports_a_bad_byte_as_a_line_not_a_traceback(tmp_path):
    path = write_bytes(tmp_path, minimal_bytes().replace(b"title: Feast", b"title: \xffeast"))
    done = subprocess.run([BIN / "mlops-bot", "validate", str(path)], capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert (done.returncode, done.stdout) == (1, f"{path}:9: file: line 9 has a byte that is not UTF-8 "
                                                 "(0xff at column 12)\n")
    assert "Traceback" not in done.stderr


def test_a_year_given_as_a_date_says_it_must_be_a_year(write_catalog):
    path = write_catalog(MINIMAL_CATALOG + "    year: 2015-01-01\n")
    assert problems_of(path) == [f"{path}:21: year: must be a year like 2015"]


@pytest.mark.parametrize(("year", "message"), [
    ("soon", "must be a year like 2015"),
    ("2015.5", "must be a year like 2015"),
    ("true", "must be a year like 2015"),
    ("[2015]", "must be a year like 2015"),
    ("1800", "must be a year like 2015, from 1900 to 2100, not 1800"),
    ("30000000", "must be a year like 2015, from 1900 to 2100"),
])
def test_every_bad_year_says_it_must_be_a_year_like_2015(write_catalog, year, message):
    path = write_catalog(MINIMAL_CATALOG + f"    year: {year}\n")
    assert problems_of(path) == [f"{path}:21: year: {message}"]


def test_duplicate_url_ignores_tracking_parameters_a_fragment_and_the_parameter_order(write_catalog):
    path = write_catalog(MINIMAL_CATALOG.replace("    kind: podcast\n", "    kind: podcast\n"
                                                 "    url: https://docs.feast.dev/?utm_source=news#top\n"))
    assert problems_of(path) == [f"{path}:19: url: duplicate URL 'https://docs.feast.dev/?utm_source=news#top', "
                                 "already used by 'feast'"]
