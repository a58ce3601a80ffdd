"""A resource as the one Item every reply shows it as."""

from __future__ import annotations

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


def resource_item(resource: Resource) -> Item:
    return Item(
        title=resource.title,
        url=resource.url,
        summary=resource.summary,
        meta=resource_meta(resource),
        links=resource.extra_links,
    )
