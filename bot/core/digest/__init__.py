"""The weekly digest's pure decisions: when it is due (cadence), what it picks (rotation), what it says (compose)."""

from bot.core.digest.cadence import (
    Cadence,
    CatchUp,
    Lateness,
    ScheduleError,
    catch_up,
    classify,
    next_due,
    parse_schedule,
    period_key,
    previous_due,
)
from bot.core.digest.compose import compose_digest, study_week
from bot.core.digest.feed_item import FeedItem
from bot.core.digest.rotation import DIGEST_KINDS, RotationState, next_pick, next_picks

__all__ = [
    "DIGEST_KINDS", "Cadence", "CatchUp", "FeedItem", "Lateness", "RotationState", "ScheduleError", "catch_up",
    "classify", "compose_digest", "next_due", "next_pick", "next_picks", "parse_schedule", "period_key",
    "previous_due", "study_week",
]
