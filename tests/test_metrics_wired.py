"""The metrics of a running bot add up: every command counted once by name, platform and outcome, every
Web API call by method and result, the catalog's size; and no label holds what a member typed."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.adapters.slack.conftest import SlackClient
from tests.adapters.slack.fake_slack import FakeSlack, Trouble
from tests.adapters.slack.test_run import run_env
from tests.conftest import RunningBot


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(found: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


async def test_the_counters_of_a_running_bot_add_up_to_what_it_was_sent(tmp_path: Path):
    fake = await FakeSlack().start()
    fake.fail_next("/api/auth.test", Trouble(status=429, retry_after="0"))
    bot = await RunningBot.start(run_env(fake, tmp_path), tmp_path)
    try:
        port = await bot.port(r"listening on http://127\.0\.0\.1:(\d+)/slack/events")
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(session, f"http://127.0.0.1:{port}", fake)
            texts = ["resource feature-store"] * 7 + ["resource qqqzzzxx secret-query"] * 3 + ["frobnicate"] * 2
            for text in texts:
                await slack.command(text)
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                body = await response.text()
        found = samples(body)
        assert total(found, "mlops_commands_total") == len(texts)
        assert total(found, "mlops_commands_total", command="resource", platform="slack", outcome="ok") == 7
        assert total(found, "mlops_commands_total", command="resource", outcome="empty") == 3
        assert total(found, "mlops_commands_total", command="other", outcome="invalid") == 2
        assert total(found, "mlops_searches_empty_total", platform="slack") == 3
        assert total(found, "mlops_reply_seconds_count", platform="slack") == len(texts)
        assert total(found, "mlops_platform_calls_total", method="auth.test", result="ratelimited") == 1
        assert total(found, "mlops_platform_calls_total", method="auth.test", result="ok") == 1
        assert total(found, "mlops_catalog_resources") >= 68
        assert "secret-query" not in body and "qqqzzzxx" not in body and "frobnicate" not in body
    finally:
        await bot.terminate()
        await bot.kill()
        await fake.close()
