"""An approved resource as the JSON the overlay table keeps (no SQLAlchemy here: one-shot reads use it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from bot.core.catalog import Link, Resource


def resource_to_json(resource: Resource) -> str:
    data = asdict(resource)
    return json.dumps({k: v for k, v in data.items() if v not in (None, (), [], "")}, ensure_ascii=False)


def resource_from_json(data: str) -> Resource | None:
    """A Resource from approved_resources.data: the Resource dataclass's fields as JSON."""
    try:
        fields = json.loads(data)
        if not isinstance(fields, dict):
            return None
        links = tuple(Link(str(link["label"]), str(link["url"])) for link in fields.get("links") or ())
        year = fields.get("year")
        return Resource(
            id=str(fields["id"]), title=str(fields["title"]), kind=str(fields["kind"]),
            category=str(fields.get("category") or ""), summary=str(fields.get("summary") or ""),
            url=_text(fields.get("url")), links=links, tags=_texts(fields.get("tags")),
            aliases=_texts(fields.get("aliases")), authors=_texts(fields.get("authors")),
            notes=_texts(fields.get("notes")), level=_text(fields.get("level")), cost=_text(fields.get("cost")),
            year=int(year) if isinstance(year, int) else None, provider=_text(fields.get("provider")),
            feed=_text(fields.get("feed")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    return tuple(str(v) for v in value)
