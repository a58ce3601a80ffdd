"""This week's digest for one channel, as a Reply any adapter can post.

Pure: the picks, the feeds' latest entries, the new resources and the local date all come in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from bot.core.catalog import Catalog, Link, Resource, ScheduleBlock
from bot.core.digest.feed_item import FeedItem
from bot.core.handlers import resource_item, resource_meta
from bot.core.reply import Item, Reply, Visibility
from bot.core.text import clean, plural, truncate
from bot.core.urls import url_problem

HEADER = "This week in MLOps"
NEW_SHOWN = 3  # new resources shown as items; the rest are counted
STUDY_SHOWN = 3  # resources of the study step shown as items
# 2 picks + 3 new + 3 study = 8 items: with the header that is 9 of Discord's 10 embeds, 17 of Slack's 50 blocks.
FEED_TITLE_LIMIT = 200
TITLE_IN_TEXT_LIMIT = 60
STEP_LIMIT = 200

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_LATEST_LABEL = {"podcast": "Latest episode", "newsletter": "Latest issue"}


def long_date(day: date) -> str:
    """'Monday 7 December 2026', the same whatever the process's locale (strftime's names follow it)."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def study_week(cohort_start: date, today: date, catalog: Catalog) -> tuple[int, ScheduleBlock] | None:
    """The study schedule's week `today` falls in for a cohort that started on `cohort_start` (week 1 is
    its first seven days), with the schedule's block for it; None before the start, after the last week,
    or in a week the schedule has no step for."""
    if today < cohort_start:
        return None
    number = (today - cohort_start).days // 7 + 1
    block = catalog.week(number)
    return (number, block) if block is not None else None


def compose_digest(
    catalog: Catalog,
    today: date,
    *,
    newsletter: Resource | None,
    podcast: Resource | None,
    feed_items: Mapping[str, FeedItem | None] | None = None,
    new_resources: Sequence[Resource] = (),
    cohort_start: date | None = None,
    command_prefix: str = "/mlops",
) -> Reply:
    """The digest posted in a channel on local date `today`.

    `feed_items` maps a feed URL (a resource's `feed`) to its newest entry, as FeedReader.latest returns it.
    `new_resources` are those approved since this channel's previous digest, in the order to show them.
    """
    feeds = feed_items or {}
    items: list[Item] = []
    shown: set[str] = set()
    paragraphs: list[str] = []

    def add(resource: Resource, item: Item) -> None:
        if resource.id not in shown:
            shown.add(resource.id)
            items.append(item)

    picks = [(label, r) for label, r in (("Newsletter", newsletter), ("Podcast", podcast)) if r is not None]
    if picks:
        paragraphs.append(" ".join(f"{label} of the week: {_title(r)}." for label, r in picks))
    for label, resource in picks:
        add(resource, _pick_item(resource, f"{label} of the week", feeds.get(resource.feed or "")))

    fresh = list({r.id: r for r in new_resources if r.id not in shown}.values())
    if fresh:
        named = ", ".join(_title(r) for r in fresh[:NEW_SHOWN])
        more = f" and {len(fresh) - NEW_SHOWN} more" if len(fresh) > NEW_SHOWN else ""
        paragraphs.append(f"New in the catalog since the last digest: {named}{more}.")
        for resource in fresh[:NEW_SHOWN]:
            add(resource, _labelled(resource, "New this week"))

    if cohort_start is not None:
        study = _study_paragraph(catalog, cohort_start, today, command_prefix)
        if study:
            paragraphs.append(study)
        found = study_week(cohort_start, today, catalog)
        if found is not None:
            number, block = found
            unshown = [r for r in _step_resources(catalog, block) if r.id not in shown]
            for resource in unshown[:STUDY_SHOWN]:
                add(resource, _labelled(resource, f"Week {number} study"))

    return Reply(
        header=f"{HEADER} · {long_date(today)}",
        text="\n\n".join(paragraphs) or "A quiet week: nothing to pick, and nothing new in the catalog.",
        items=tuple(items),
        footer=f"Know a good resource? Suggest it with {command_prefix} suggest <url>",
        visibility=Visibility.PUBLIC,
    )


def _title(resource: Resource) -> str:
    return truncate(clean(resource.title), TITLE_IN_TEXT_LIMIT)


def _labelled(resource: Resource, label: str) -> Item:
    """The resource as every reply shows it, with what it is doing in the digest leading its meta line."""
    return replace(resource_item(resource), meta=(label, *resource_meta(resource)))


def _pick_item(resource: Resource, label: str, latest: FeedItem | None) -> Item:
    item = _labelled(resource, label)
    if latest is None:
        return item
    title = truncate(clean(latest.title), FEED_TITLE_LIMIT)
    link = latest.link.strip() if isinstance(latest.link, str) else None
    if link is not None and url_problem(link) is not None:
        link = None  # a feed may say anything, javascript: included
    if not title and link is None:
        return item
    when = f" ({short_date(latest.published.date())})" if latest.published is not None else ""
    line = f"Latest: {title or 'untitled'}{when}"
    links = item.links
    if link is not None and link != resource.url:
        links = (Link(_LATEST_LABEL.get(resource.kind, "Latest"), link), *links)
    # One line with the summary: a line break in it reads as a new item in the console.
    summary = f"{item.summary} · {line}" if item.summary else line
    return replace(item, summary=summary, links=links)


def _step_resources(catalog: Catalog, block: ScheduleBlock) -> list[Resource]:
    found: dict[str, Resource] = {}
    for step in block.items:
        for rid in step.resources:
            resource = catalog.get(rid)
            if resource is not None:
                found.setdefault(rid, resource)
    return list(found.values())


def _study_paragraph(catalog: Catalog, cohort_start: date, today: date, command_prefix: str) -> str:
    weeks = catalog.weeks
    if not weeks:
        return ""
    last = weeks[-1]
    if today < cohort_start:
        return f"The study cohort starts on {long_date(cohort_start)}: {plural(last, 'week')} of the study schedule."
    found = study_week(cohort_start, today, catalog)
    if found is None:
        number = (today - cohort_start).days // 7 + 1
        if number > last:
            return (f"The {last}-week study schedule is over; {command_prefix} week 1 shows where it begins, "
                    "for anyone starting now.")
        return ""  # a week the schedule leaves free
    number, block = found
    steps = "\n".join(f"• {truncate(clean(step.text), STEP_LIMIT)}" for step in block.items)
    heading = f"Study schedule, week {number} of {last}: {truncate(clean(block.title), TITLE_IN_TEXT_LIMIT)}"
    return f"{heading}\n{steps}" if steps else heading
