"""Member suggestions, the pure part: what a suggestion must look like, what it duplicates, what a
moderator is proposed for it, and the resource an approval makes. No storage here: the app layer
(bot/app/suggestions.py) stores, counts and posts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from rapidfuzz import fuzz, process, utils

from bot.core.catalog import KINDS, Catalog, Resource
from bot.core.text import clean
from bot.core.urls import normalize_url, url_problem

MAX_TITLE = 200
MAX_WHY = 1000
MAX_NOTE = 500
MAX_REASON = 500
MAX_SUMMARY = 500
# A title this close to a catalog title or alias (rapidfuzz token_sort_ratio, 0-100) is probably the
# same resource under another link: the member is warned, and may submit anyway.
TITLE_DUPLICATE = 92
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATES = (PENDING, APPROVED, REJECTED)


@dataclass(frozen=True)
class Draft:
    """What a member typed, cleaned; `problems` says what to fix, by field."""

    url: str
    title: str
    why: str
    note: str = ""
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def url_key(self) -> str:
        return normalize_url(self.url)


def check(url: str, title: str = "", why: str = "", note: str = "") -> Draft:
    """Validate a suggestion. The bot never fetches the URL: it cannot know the page's real title."""
    url, why, note = url.strip(), clean_block(why), clean_block(note)
    title = clean(title)
    problems: list[tuple[str, str]] = []
    if not url:
        problems.append(("url", "Give the link to the resource, starting with https://"))
    else:
        why_url = url_problem(url)
        if why_url:
            problems.append(("url", f"The link {why_url}. Use a full http(s) link, e.g. https://example.com/page"))
    if not title and url and not problems:
        title = title_from_url(url)
    if not title and not problems:  # with a bad link the title comes from the fixed one
        problems.append(("title", "Give the resource a title (1 to 200 characters)."))
    elif len(title) > MAX_TITLE:
        problems.append(("title", f"The title is {len(title):,} characters long; keep it to {MAX_TITLE}."))
    if len(why) > MAX_WHY:
        problems.append(("why", f"“Why” is {len(why):,} characters long; keep it to {MAX_WHY}."))
    if len(note) > MAX_NOTE:
        problems.append(("note", f"The note is {len(note):,} characters long; keep it to {MAX_NOTE}."))
    return Draft(url, title, why, note, tuple(problems))


def clean_block(text: str) -> str:
    """Member text of several lines: control characters dropped, lines kept, ends trimmed."""
    lines = [clean(line) for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


_SEPARATORS = re.compile(r"[-_+]+|%20")
_EXTENSION = re.compile(r"\.(?:html?|php|aspx?|pdf|md)$", re.IGNORECASE)
_NOT_A_TITLE = frozenset({"index", "home", "main", "default", "about", "en", "www", "abs", "pdf", "watch"})


def title_from_url(url: str) -> str:
    """A readable title from the URL's path (`/blog/feature-stores-explained` → "Feature stores explained"),
    else from its host; the moderator can edit it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for segment in reversed(segments):
        words = _SEPARATORS.sub(" ", _EXTENSION.sub("", segment)).strip()
        if words and words.lower() not in _NOT_A_TITLE and not words.replace(" ", "").isdigit():
            text = clean(words)[:MAX_TITLE]
            return text[:1].upper() + text[1:]
    host = (parts.hostname or "").removeprefix("www.")
    return host[:MAX_TITLE]


def split_args(args: str) -> tuple[str, str, str, str]:
    """`<url> [title] [| why] [| note]` → (url, title, why, note). The note (a third part) is for a
    resource that looked like a duplicate but is not."""
    head, *rest = args.split("|")
    url, _, title = head.strip().partition(" ")
    why = rest[0].strip() if rest else ""
    note = "|".join(rest[1:]).strip() if len(rest) > 1 else ""
    return url, title.strip(), why, note


# -- duplicates -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Duplicate:
    resource: Resource
    exact: bool  # the same link (normalised), not only a similar title


class CatalogIndex:
    """What a suggestion is compared with: every URL and link of the live catalog, normalised, and every
    title and alias, folded. Built once per loaded catalog and grown with each approval (`add`), so that
    neither an approval nor a duplicate check walks a 100,000-resource catalog."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self.urls: dict[str, Resource] = {}
        self._names: list[str] = []
        self._named: list[Resource] = []
        for resource in resources:
            self.add(resource)

    def add(self, resource: Resource) -> None:
        for url in resource.all_urls:
            self.urls.setdefault(normalize_url(url), resource)
        for name in (resource.title, *resource.aliases):
            if name.strip():
                self._names.append(utils.default_process(name))
                self._named.append(resource)

    def similar_title(self, title: str) -> Resource | None:
        wanted = utils.default_process(title)
        if len(wanted) < 4:
            return None
        # One pass in rapidfuzz's C loop over every name; the first of the best wins, as in catalog order.
        best = process.extractOne(wanted, self._names, scorer=fuzz.token_sort_ratio, processor=None,
                                  score_cutoff=TITLE_DUPLICATE)
        return self._named[best[2]] if best else None


def catalog_duplicate(draft: Draft, index: CatalogIndex) -> Duplicate | None:
    """The catalog resource this suggestion duplicates: the same link first, else a near-identical title."""
    found = index.urls.get(draft.url_key)
    if found is not None:
        return Duplicate(found, exact=True)
    similar = index.similar_title(draft.title)
    return Duplicate(similar, exact=False) if similar is not None else None


# -- what a moderator is proposed -------------------------------------------------------------------

_HOST_KINDS: tuple[tuple[str, str], ...] = (
    ("arxiv.org", "paper"), ("papers.nips.cc", "paper"), ("proceedings.", "paper"), ("openreview.net", "paper"),
    ("dl.acm.org", "paper"), ("research.google", "paper"), ("youtube.com", "video"), ("youtu.be", "video"),
    ("vimeo.com", "video"), ("coursera.org", "course"), ("udemy.com", "course"), ("edx.org", "course"),
    ("deeplearning.ai", "course"), ("podcasts.apple.com", "podcast"), ("open.spotify.com", "podcast"),
    ("substack.com", "newsletter"), ("medium.com", "blog"), ("oreilly.com", "book"), ("manning.com", "book"),
    ("amazon.", "book"), ("github.com", "tool"), ("gitlab.com", "tool"), ("slack.com", "community"),
    ("discord.gg", "community"), ("meetup.com", "community"),
)
_TITLE_KINDS: tuple[tuple[str, str], ...] = (
    ("podcast", "podcast"), ("newsletter", "newsletter"), ("course", "course"), ("book", "book"),
    ("paper", "paper"), ("tutorial", "tutorial"), ("conference", "conference"), ("certification", "certification"),
    ("awesome", "project"), ("blog", "blog"), ("talk", "video"),
)


def guess_kind(url: str, title: str) -> str:
    """arXiv is a paper, YouTube a video, GitHub a tool (an awesome-list a project), and so on."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "website"
    host, path = (parts.hostname or "").lower(), parts.path.lower()
    words = f"{title} {path}".lower()
    for needle, kind in _TITLE_KINDS:
        if needle in words and not (needle == "blog" and "github.com" in host):
            if host.endswith("github.com") and kind not in ("project", "tutorial", "book", "course"):
                continue
            return kind
    for needle, kind in _HOST_KINDS:
        if needle in host:
            return kind
    if path.endswith(".pdf"):
        return "paper"
    return "website" if "website" in KINDS else "article"


def guess_category(kind: str, title: str, catalog: Catalog, found: list[Resource]) -> str:
    """The category of the best search match for the title, else the commonest category of that kind."""
    for resource in found:
        if catalog.category(resource.category) is not None:
            return resource.category
    counts: dict[str, int] = {}
    for resource in catalog.resources:
        if resource.kind == kind:
            counts[resource.category] = counts.get(resource.category, 0) + 1
    if counts:
        return max(counts, key=lambda c: counts[c])
    return catalog.categories[0].id if catalog.categories else ""


# -- approval ---------------------------------------------------------------------------------------

_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def slug_for(title: str, taken: Container[str]) -> str:
    """A resource id from the title, unique among `taken`: `feature-stores-explained`, then `-2`, `-3`…"""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    base = _SLUG_DROP.sub("-", ascii_title).strip("-")[:60].strip("-") or "resource"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def approved_resource(*, resource_id: str, title: str, url: str, kind: str, category: str, summary: str,
                      why: str) -> Resource:
    summary = clean(summary or why or title)[:MAX_SUMMARY] or title
    return Resource(id=resource_id, title=title[:MAX_TITLE], kind=kind, category=category, summary=summary, url=url,
                    tags=("community-suggested",))
