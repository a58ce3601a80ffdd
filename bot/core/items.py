"""A resource as the one Item every reply shows it as."""

from __future__ import annotations

import datetime as dt

from bot.core.catalog import Resource
from bot.core.reply import Item


def resource_meta(resource: Resource) -> tuple[str, ...]:
    parts = [resource.kind.replace("-", " ")]
    if resource.authors:
        names = resource.authors[:2]
        parts.append("by " + ", ".join(names) + (" et al." if len(resource.authors) > 2 else ""))
    parts += [p for p in (resource.level, resource.cost) if p]
    if resource.year:
        parts.append(str(resource.year))
    return tuple(parts)


def resource_item(resource: Resource, *, broken_on: dt.date | None = None) -> Item:
    meta = resource_meta(resource)
    if broken_on is not None:
        meta += (f"this link looked broken on {broken_on.day} {broken_on:%b}",)
    return Item(
        title=resource.title,
        url=resource.url,
        summary=resource.summary,
        meta=meta,
        links=resource.extra_links,
    )
