"""What runs on a timer while the bot serves: one APScheduler per process (bot.jobs.scheduler)."""

from bot.jobs.scheduler import DIGEST_TICK, Jobs, start_jobs

__all__ = ["DIGEST_TICK", "Jobs", "start_jobs"]
