"""The newest entry of a podcast's or newsletter's feed, as the feed reader found it.

Everything in it comes from a stranger's server: the digest cleans the title and shows the link only when
`bot.core.urls.url_problem` passes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    title: str
    link: str | None = None
    published: datetime | None = None  # aware (UTC) when the feed said when
