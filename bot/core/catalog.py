"""The catalog's value objects: what `data/resources.yaml` holds once it has been validated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

KINDS: tuple[str, ...] = (
    "book", "paper", "tool", "course", "blog", "video", "conference", "tutorial", "project",
    "case-study", "community", "newsletter", "podcast", "certification", "article", "website",
)
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
COSTS: tuple[str, ...] = ("free", "freemium", "paid")


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    title: str
    kind: str
    category: str
    summary: str
    url: str | None = None
    links: tuple[Link, ...] = ()
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    level: str | None = None
    cost: str | None = None
    year: int | None = None
    provider: str | None = None
    feed: str | None = None

    @property
    def all_urls(self) -> tuple[str, ...]:
        head = (self.url,) if self.url else ()
        return head + tuple(link.url for link in self.links)

    @property
    def extra_links(self) -> tuple[Link, ...]:
        """Links to show beside the title; the primary link is the title itself."""
        return tuple(link for link in self.links if link.url != self.url)


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    section: str
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    text: str
    resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ComparisonColumn:
    name: str
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    feature: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    id: str
    title: str
    columns: tuple[ComparisonColumn, ...]
    rows: tuple[ComparisonRow, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LearningPath:
    level: str
    title: str
    duration: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class ScheduleBlock:
    weeks: tuple[int, ...]
    title: str
    items: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class TopicGroup:
    title: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GettingHelp:
    intro: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Contributing:
    intro: str = ""
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Meta:
    title: str = ""
    overview: str = ""
    last_updated: str = ""
    closing: str = ""


@dataclass(frozen=True)
class Catalog:
    resources: tuple[Resource, ...]
    categories: tuple[Category, ...]
    sections: tuple[Section, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    learning_paths: tuple[LearningPath, ...] = ()
    schedule: tuple[ScheduleBlock, ...] = ()
    additional_topics: tuple[TopicGroup, ...] = ()
    getting_help: GettingHelp = field(default_factory=GettingHelp)
    contributing: Contributing = field(default_factory=Contributing)
    meta: Meta = field(default_factory=Meta)
    source: str = "<memory>"

    def __post_init__(self) -> None:
        # Lookups are built once: handlers resolve ids on every reply.
        object.__setattr__(self, "_by_id", {r.id: r for r in self.resources})
        object.__setattr__(self, "_categories", {c.id: c for c in self.categories})

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, resource_id: str) -> Resource | None:
        return self._by_id.get(resource_id)  # type: ignore[attr-defined]

    def category(self, category_id: str) -> Category | None:
        return self._categories.get(category_id)  # type: ignore[attr-defined]

    def in_category(self, category_id: str) -> list[Resource]:
        return [r for r in self.resources if r.category == category_id]

    def week(self, number: int) -> ScheduleBlock | None:
        return next((b for b in self.schedule if number in b.weeks), None)

    def path(self, level: str) -> LearningPath | None:
        return next((p for p in self.learning_paths if p.level == level), None)

    @property
    def weeks(self) -> tuple[int, ...]:
        return tuple(sorted({w for b in self.schedule for w in b.weeks}))
