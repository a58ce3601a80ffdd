"""Read `resources.yaml`, check it against the catalog schema, and build a `Catalog`.

Every problem is reported at once, each as `path:line: field: what is wrong`, so that a
contributor fixes a file in one pass. A valid file is read once, from the parser's events
(yaml_events); a file with problems is read again into PyYAML's node tree, whose marks give the
line numbers (PyYAML's C loader where it is installed).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.core import yaml_events
from bot.core.catalog import (
    COSTS,
    KINDS,
    LEVELS,
    Catalog,
    Category,
    Comparison,
    ComparisonColumn,
    ComparisonRow,
    Contributing,
    GettingHelp,
    LearningPath,
    Link,
    Meta,
    Resource,
    ScheduleBlock,
    Section,
    Step,
    TopicGroup,
)
from bot.core.urls import normalize_url, url_problem
from bot.errors import CatalogError, Problem

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TITLE = 200
MAX_SUMMARY = 500
MIN_YEAR, MAX_YEAR = 1900, 2100
_EXAMPLE_YEAR = 2015

PathKey = tuple[str | int, ...]

_RESOURCE_FIELDS = {
    "id", "title", "kind", "category", "summary", "url", "links", "tags", "aliases", "authors",
    "notes", "level", "cost", "year", "provider", "feed",
}
_TOP_LEVEL = {
    "version", "meta", "sections", "categories", "resources", "comparisons", "learning_paths",
    "schedule", "additional_topics", "getting_help", "contributing",
}


def load_catalog(path: str | Path) -> Catalog:
    """Load and validate a catalog file; raise `CatalogError` listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError([Problem(str(path), None, "file", "not found")]) from None
    except OSError as exc:
        raise CatalogError([Problem(str(path), None, "file", f"cannot be read ({exc})")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Each byte that is not UTF-8 becomes a lone surrogate, which the character check reports
        # at its line and column (the decoder's own error gives only a byte offset).
        text = data.decode("utf-8", errors="surrogateescape")
        raise CatalogError(_character_problems(text, str(path))) from None
    return parse_catalog(text, source=str(path))


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    # Parsing allocates millions of small objects that live as long as the catalog; the cyclic
    # collector would rescan them over and over (most of the load time of a 100,000-resource file).
    # Nothing here creates cycles worth collecting, so it is paused for the parse and the build.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse_catalog(text, source)
    finally:
        if paused:
            gc.enable()


def _parse_catalog(text: str, source: str) -> Catalog:
    # The usual case, a valid catalog, is read without a node tree (half the time, a fraction of the
    # memory at 100,000 resources). Only when there is something to report is the file parsed again
    # the ordinary way, for the line numbers that the tree gives.
    try:
        data = yaml_events.load(text)
    except yaml_events.Unusual:
        pass
    else:
        builder = _Builder(source, None)
        catalog = builder.build(data)
        if not builder.problems:
            return catalog
    return _parse_with_lines(text, source)


def _parse_with_lines(text: str, source: str) -> Catalog:
    problems = _character_problems(text, source)
    if problems:
        raise CatalogError(problems)
    loader = yaml_events.SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        tree_problems, explained = _tree_problems(loader, node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # The context mark is where the broken construct began (an unclosed bracket or quote): the
        # line a contributor has to fix. The problem mark is where PyYAML gave up.
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        if exc.context_mark and exc.problem_mark and exc.problem_mark.line != exc.context_mark.line:
            what += f" (noticed on line {exc.problem_mark.line + 1})"
        raise CatalogError([Problem(source, line, "yaml", f"syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise CatalogError([Problem(source, None, "yaml", f"syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    builder = _Builder(source, node)
    catalog = builder.build(data)
    # A value that could not be read was built as its text, so the builder may also call it too long
    # or not a year: the first problem already says what is wrong on that line.
    problems = tree_problems + [p for p in builder.problems if (p.line, p.field) not in explained]
    if problems:
        raise CatalogError(problems)
    return catalog


# The characters PyYAML's reader refuses (the same set as libyaml's): C0 controls but tab, line feed
# and carriage return; DEL and C1 controls but NEL; surrogates; U+FFFE and U+FFFF.
_NOT_YAML = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
# YAML's line breaks, which PyYAML counts when it numbers lines.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_MAX_CHARACTER_PROBLEMS = 10


def _character_problems(text: str, source: str) -> list[Problem]:
    """One problem per line holding a character YAML refuses, or a byte that was not UTF-8.

    `text` carries bytes that were not UTF-8 as lone surrogates (the "surrogateescape" decoding).
    """
    problems: list[Problem] = []
    lines_seen: set[int] = set()
    more = 0
    line, line_start, breaks = 1, 0, _LINE_BREAK.finditer(text)
    next_break = next(breaks, None)
    for found in _NOT_YAML.finditer(text):
        while next_break is not None and next_break.end() <= found.start():
            line, line_start = line + 1, next_break.end()
            next_break = next(breaks, None)
        if line in lines_seen:
            continue
        lines_seen.add(line)
        if len(problems) == _MAX_CHARACTER_PROBLEMS:
            more += 1
            continue
        column = found.start() - line_start + 1
        char = found.group()
        if "\udc80" <= char <= "\udcff":
            what = f"a byte that is not UTF-8 (0x{ord(char) - 0xDC00:02x} at column {column})"
        elif char == "\x00":
            what = f"a NUL character (at column {column})"
        elif "\ud800" <= char <= "\udfff":
            what = f"a character that is not valid Unicode (U+{ord(char):04X} at column {column})"
        else:
            what = f"a control character YAML does not allow (U+{ord(char):04X} at column {column})"
        problems.append(Problem(source, line, "file", f"line {line} has {what}"))
    if more:
        problems.append(Problem(source, None, "file", f"and {more} more lines with such characters"))
    return problems


_INT = "tag:yaml.org,2002:int"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


def _tree_problems(loader: Any, root: yaml.Node | None, source: str
                   ) -> tuple[list[Problem], set[tuple[int, str]]]:
    """What the node tree shows and the data would hide: keys given twice, values PyYAML cannot build.

    A value that cannot be built is re-tagged as text, so the rest of the file is still checked.
    Returns the problems and the (line, field) of each such value.
    """
    problems: list[Problem] = []
    explained: set[tuple[int, str]] = set()
    if root is None:
        return problems, explained
    # Each node with the field it belongs to: the key of the nearest mapping around it. The walk is
    # iterative, and visits a node that aliases share once.
    todo: list[tuple[yaml.Node, str]] = [(root, "catalog")]
    seen_nodes: set[int] = set()
    while todo:
        node, field = todo.pop()
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(loader, node, field, source, problems, explained)
            continue
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend((item, field) for item in reversed(node.value))
            continue
        first_line: dict[Any, int] = {}
        pairs = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                pairs.append((value_node, field))
                continue
            key_field = str(key_node.value)
            key = _check_scalar(loader, key_node, key_field, source, problems, explained)
            line = key_node.start_mark.line + 1
            if key is not _UNBUILT and key in first_line:
                problems.append(Problem(source, line, key_field, f"duplicate key {key_field!r} in this mapping "
                                                                 f"(first on line {first_line[key]})"))
            elif key is not _UNBUILT:
                first_line[key] = line
            pairs.append((value_node, key_field))
        todo.extend(reversed(pairs))
    return problems, explained


_UNBUILT = object()


def _check_scalar(loader: Any, node: yaml.ScalarNode, field: str, source: str, problems: list[Problem],
                  explained: set[tuple[int, str]]) -> Any:
    """The scalar's value; or, when PyYAML cannot build it, a problem, the node re-tagged as text, `_UNBUILT`."""
    if node.tag not in loader.yaml_constructors:
        return _UNBUILT  # construct_document reports the unknown tag, with its line
    try:
        return yaml_events.construct_scalar(loader, node)
    except yaml_events.Unreadable:
        line = node.start_mark.line + 1
        what = {_INT: "is a number too long to read", _TIMESTAMP: "is not a valid date"}.get(
            node.tag, "cannot be read")
        problems.append(Problem(source, line, field, what))
        explained.add((line, field))
        node.tag = yaml_events.STR_TAG
        return _UNBUILT
    except yaml.YAMLError:
        return _UNBUILT  # e.g. bad base64 under !!binary: construct_document reports it


def _line_of(node: yaml.Node | None, path: PathKey) -> int | None:
    """The 1-based line of the value at `path`, or of the nearest enclosing node that exists."""
    if node is None:
        return None
    current = node
    for key in path:
        child = None
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if key_node.value == key:
                    child = value_node  # no break: of a key given twice, the data holds the last
        elif isinstance(current, yaml.SequenceNode) and isinstance(key, int) and key < len(current.value):
            child = current.value[key]
        if child is None:
            break
        current = child
    return current.start_mark.line + 1


class _Builder:
    """Checks the parsed document and builds value objects in one walk, collecting problems."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self.root = root
        self.problems: list[Problem] = []

    def problem(self, path: PathKey, field: str, message: str) -> None:
        self.problems.append(Problem(self.source, _line_of(self.root, path), field, message))

    # -- typed readers: each returns a safe default after recording a problem --------------------

    def text(self, obj: dict, path: PathKey, key: str, *, required: bool = False, limit: int = 0) -> str:
        value = obj.get(key)
        if value is None:
            if required:
                self.problem(path, key, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem((*path, key), key, f"must be text, not {_type_name(value)}")
            return ""
        value = str(value).strip()
        if required and not value:
            self.problem((*path, key), key, "must not be empty")
        if limit and len(value) > limit:
            self.problem((*path, key), key, f"is {len(value)} characters long; the limit is {limit}")
        return value

    def choice(self, obj: dict, path: PathKey, key: str, choices: tuple[str, ...], *, required: bool = False
               ) -> str | None:
        value = self.text(obj, path, key, required=required)
        if not value:
            return None
        if value not in choices:
            self.problem((*path, key), key, f"unknown {key} {value!r}; expected one of: {', '.join(choices)}")
            return None
        return value

    def texts(self, obj: dict, path: PathKey, key: str) -> tuple[str, ...]:
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem((*path, key), key, f"must be a list, not {_type_name(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
                self.problem((*path, key, i), key, f"item {i + 1} must be non-empty text")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def records(self, data: dict, key: str, *, required: bool = False) -> list[tuple[PathKey, dict]]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem((), key, "is required (a list)")
            return []
        if not isinstance(value, list):
            self.problem((key,), key, f"must be a list, not {_type_name(value)}")
            return []
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.problem((key, i), key, f"entry {i + 1} must be a mapping of fields, not {_type_name(item)}")
                continue
            out.append(((key, i), item))
        return out

    def sublist(self, obj: dict, path: PathKey, key: str) -> list[tuple[PathKey, dict]]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem((*path, key), key, f"must be a list, not {_type_name(value)}")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):  # a bare string is shorthand for {text: ...}
                item = {"text": item}
            if not isinstance(item, dict):
                self.problem((*path, key, i), key, f"item {i + 1} must be a mapping, not {_type_name(item)}")
                continue
            out.append(((*path, key, i), item))
        return out

    def slug(self, obj: dict, path: PathKey, key: str = "id") -> str:
        value = self.text(obj, path, key, required=True)
        if value and not SLUG.match(value):
            self.problem((*path, key), key, f"{value!r} must be a lowercase slug like 'feature-stores'")
        return value

    def url(self, obj: dict, path: PathKey, key: str, *, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.problem(path, key, "is required")
            return None
        why = url_problem(value)
        if why:
            self.problem((*path, key), key, why)
            return None
        return value.strip()

    def unknown_fields(self, obj: dict, path: PathKey, allowed: set[str], what: str) -> None:
        for key in obj:
            if key not in allowed:
                hint = _closest(str(key), allowed)
                extra = f"; did you mean {hint!r}?" if hint else ""
                self.problem((*path, key), str(key), f"unknown field in {what}{extra}")

    # -- the document --------------------------------------------------------------------------

    def build(self, data: Any) -> Catalog:
        if not isinstance(data, dict):
            self.problem((), "catalog", "the file must be a YAML mapping with a 'resources' list")
            return Catalog(resources=(), categories=(), source=self.source)
        self.unknown_fields(data, (), _TOP_LEVEL, "the catalog")
        version = data.get("version", 1)
        if version != 1:
            self.problem(("version",), "version", f"unsupported catalog version {version!r}; expected 1")
        sections = self.sections(data)
        categories = self.categories(data, {s.id for s in sections})
        resources = self.resources(data, {c.id for c in categories})
        ids = {r.id for r in resources}
        return Catalog(
            resources=tuple(resources),
            categories=tuple(categories),
            sections=tuple(sections),
            comparisons=self.comparisons(data, ids),
            learning_paths=self.learning_paths(data, ids),
            schedule=self.schedule(data, ids),
            additional_topics=self.topics(data),
            getting_help=self.getting_help(data, ids),
            contributing=self.contributing(data),
            meta=self.meta(data),
            source=self.source,
        )

    def sections(self, data: dict) -> list[Section]:
        out: list[Section] = []
        seen: set[str] = set()
        for path, obj in self.records(data, "sections"):
            self.unknown_fields(obj, path, {"id", "title"}, "a section")
            sid = self.slug(obj, path)
            if sid in seen:
                self.problem((*path, "id"), "id", f"duplicate section id {sid!r}")
            seen.add(sid)
            out.append(Section(id=sid, title=self.text(obj, path, "title", required=True)))
        return out

    def categories(self, data: dict, section_ids: set[str]) -> list[Category]:
        out: list[Category] = []
        seen: set[str] = set()
        for path, obj in self.records(data, "categories", required=True):
            self.unknown_fields(obj, path, {"id", "title", "section", "description", "aliases"}, "a category")
            cid = self.slug(obj, path)
            if cid in seen:
                self.problem((*path, "id"), "id", f"duplicate category id {cid!r}")
            seen.add(cid)
            section = self.text(obj, path, "section")
            if section and section_ids and section not in section_ids:
                self.problem((*path, "section"), "section", f"unknown section {section!r}")
            out.append(Category(
                id=cid,
                title=self.text(obj, path, "title", required=True, limit=MAX_TITLE),
                section=section,
                description=self.text(obj, path, "description", limit=MAX_SUMMARY),
                aliases=self.texts(obj, path, "aliases"),
            ))
        return out

    def resources(self, data: dict, category_ids: set[str]) -> list[Resource]:
        out: list[Resource] = []
        ids: dict[str, int] = {}
        urls: dict[str, str] = {}
        for path, obj in self.records(data, "resources", required=True):
            self.unknown_fields(obj, path, _RESOURCE_FIELDS, "a resource")
            rid = self.slug(obj, path)
            if rid in ids:
                self.problem((*path, "id"), "id", f"duplicate id {rid!r} (first used on line {ids[rid]})")
            elif rid:
                ids[rid] = _line_of(self.root, (*path, "id")) or 0
            category = self.text(obj, path, "category", required=True)
            if category and category not in category_ids:
                hint = _closest(category, category_ids)
                extra = f"; did you mean {hint!r}?" if hint else ""
                self.problem((*path, "category"), "category", f"unknown category {category!r}{extra}")
            url = self.url(obj, path, "url")
            if url:
                key = normalize_url(url)
                if key in urls:
                    self.problem((*path, "url"), "url", f"duplicate URL {url!r}, already used by {urls[key]!r}")
                else:
                    urls[key] = rid
            year = self.year(obj, path)
            out.append(Resource(
                id=rid,
                title=self.text(obj, path, "title", required=True, limit=MAX_TITLE),
                kind=self.choice(obj, path, "kind", KINDS, required=True) or "",
                category=category,
                summary=self.text(obj, path, "summary", required=True, limit=MAX_SUMMARY),
                url=url,
                links=self.links(obj, path),
                tags=self.texts(obj, path, "tags"),
                aliases=self.texts(obj, path, "aliases"),
                authors=self.texts(obj, path, "authors"),
                notes=self.texts(obj, path, "notes"),
                level=self.choice(obj, path, "level", LEVELS),
                cost=self.choice(obj, path, "cost", COSTS),
                year=year,
                provider=self.text(obj, path, "provider") or None,
                feed=self.url(obj, path, "feed"),
            ))
        return out

    def year(self, obj: dict, path: PathKey) -> int | None:
        year = obj.get("year")
        if year is None:
            return None
        if isinstance(year, bool) or not isinstance(year, int):
            # Most often `2015-01-01`, which YAML reads as a date: its repr would only confuse.
            self.problem((*path, "year"), "year", f"must be a year like {_EXAMPLE_YEAR}")
            return None
        if not MIN_YEAR <= year <= MAX_YEAR:
            shown = f", not {year}" if abs(year) < 10**6 else ""
            self.problem((*path, "year"), "year",
                         f"must be a year like {_EXAMPLE_YEAR}, from {MIN_YEAR} to {MAX_YEAR}{shown}")
            return None
        return year

    def links(self, obj: dict, path: PathKey) -> tuple[Link, ...]:
        out = []
        for lpath, item in self.sublist(obj, path, "links"):
            self.unknown_fields(item, lpath, {"label", "url"}, "a link")
            label = self.text(item, lpath, "label", required=True, limit=80)
            url = self.url(item, lpath, "url", required=True)
            if label and url:
                out.append(Link(label=label, url=url))
        return tuple(out)

    def steps(self, obj: dict, path: PathKey, key: str, ids: set[str]) -> tuple[Step, ...]:
        out = []
        for spath, item in self.sublist(obj, path, key):
            self.unknown_fields(item, spath, {"text", "resources"}, "a step")
            refs = self.texts(item, spath, "resources")
            self.references(refs, (*spath, "resources"), ids)
            out.append(Step(text=self.text(item, spath, "text", required=True), resources=refs))
        return tuple(out)

    def references(self, refs: tuple[str, ...], path: PathKey, ids: set[str]) -> None:
        for i, ref in enumerate(refs):
            if ref not in ids:
                self.problem((*path, i), "resources", f"refers to unknown resource id {ref!r}")

    def comparisons(self, data: dict, ids: set[str]) -> tuple[Comparison, ...]:
        out = []
        for path, obj in self.records(data, "comparisons"):
            self.unknown_fields(obj, path, {"id", "title", "aliases", "columns", "rows"}, "a comparison")
            columns = []
            for cpath, col in self.sublist(obj, path, "columns"):
                self.unknown_fields(col, cpath, {"name", "resource"}, "a comparison column")
                ref = self.text(col, cpath, "resource") or None
                if ref:
                    self.references((ref,), (*cpath, "resource"), ids)
                columns.append(ComparisonColumn(name=self.text(col, cpath, "name", required=True), resource=ref))
            rows = []
            for rpath, row in self.sublist(obj, path, "rows"):
                self.unknown_fields(row, rpath, {"feature", "values"}, "a comparison row")
                values = self.texts(row, rpath, "values")
                if len(values) != len(columns):
                    self.problem((*rpath, "values"), "values",
                                 f"has {len(values)} values for {len(columns)} columns")
                rows.append(ComparisonRow(feature=self.text(row, rpath, "feature", required=True), values=values))
            out.append(Comparison(
                id=self.slug(obj, path), title=self.text(obj, path, "title", required=True),
                columns=tuple(columns), rows=tuple(rows), aliases=self.texts(obj, path, "aliases"),
            ))
        return tuple(out)

    def learning_paths(self, data: dict, ids: set[str]) -> tuple[LearningPath, ...]:
        out = []
        for path, obj in self.records(data, "learning_paths"):
            self.unknown_fields(obj, path, {"level", "title", "duration", "steps"}, "a learning path")
            out.append(LearningPath(
                level=self.choice(obj, path, "level", LEVELS, required=True) or "",
                title=self.text(obj, path, "title", required=True),
                duration=self.text(obj, path, "duration"),
                steps=self.steps(obj, path, "steps", ids),
            ))
        return tuple(out)

    def schedule(self, data: dict, ids: set[str]) -> tuple[ScheduleBlock, ...]:
        out = []
        for path, obj in self.records(data, "schedule"):
            self.unknown_fields(obj, path, {"weeks", "title", "items"}, "a schedule block")
            weeks = obj.get("weeks")
            if (not isinstance(weeks, list) or not weeks
                    or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 52 for w in weeks)):
                self.problem((*path, "weeks"), "weeks", "must be a list of week numbers from 1 to 52")
                weeks = []
            out.append(ScheduleBlock(
                weeks=tuple(weeks), title=self.text(obj, path, "title", required=True),
                items=self.steps(obj, path, "items", ids),
            ))
        return tuple(out)

    def topics(self, data: dict) -> tuple[TopicGroup, ...]:
        out = []
        for path, obj in self.records(data, "additional_topics"):
            self.unknown_fields(obj, path, {"title", "items"}, "a topic group")
            out.append(TopicGroup(title=self.text(obj, path, "title", required=True),
                                  items=self.texts(obj, path, "items")))
        return tuple(out)

    def _mapping(self, data: dict, key: str, allowed: set[str]) -> dict:
        obj = data.get(key)
        if obj is None:
            return {}
        if not isinstance(obj, dict):
            self.problem((key,), key, f"must be a mapping, not {_type_name(obj)}")
            return {}
        self.unknown_fields(obj, (key,), allowed, key)
        return obj

    def getting_help(self, data: dict, ids: set[str]) -> GettingHelp:
        obj = self._mapping(data, "getting_help", {"intro", "steps"})
        path: PathKey = ("getting_help",)
        return GettingHelp(intro=self.text(obj, path, "intro"), steps=self.steps(obj, path, "steps", ids))

    def contributing(self, data: dict) -> Contributing:
        obj = self._mapping(data, "contributing", {"intro", "rules"})
        path: PathKey = ("contributing",)
        return Contributing(intro=self.text(obj, path, "intro"), rules=self.texts(obj, path, "rules"))

    def meta(self, data: dict) -> Meta:
        obj = self._mapping(data, "meta", {"title", "overview", "last_updated", "closing"})
        path: PathKey = ("meta",)
        read: Callable[[str], str] = lambda key: self.text(obj, path, key)  # noqa: E731
        return Meta(title=read("title"), overview=read("overview"),
                    last_updated=read("last_updated"), closing=read("closing"))


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "nothing"}.get(
        type(value), type(value).__name__)


def _closest(word: str, options: set[str]) -> str | None:
    from rapidfuzz import process  # imported here: only a failing catalog pays for it

    match = process.extractOne(word, sorted(options), score_cutoff=75)
    return match[0] if match else None
