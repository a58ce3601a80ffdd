"""LOG_FORMAT=json: one JSON object a line with the request's id and platform, secrets masked as in text;
and the request id that follows one request through its tasks and threads."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.log_context import current_request_id, request_scope
from bot.logging_setup import configure_logging
from bot.settings import Settings, load_settings
from tests.conftest import RunningBot, clean_env

TOKEN = "xoxb-1234-5678-abcdefSECRET"


class AnyFormatSettings(Settings):
    # Settings takes only text or json: a plain str lets a test pass a value it would refuse.
    log_format: str = "json"  # type: ignore[assignment]


def settings_for(log_format: str, **secrets: str) -> Settings:
    values = {name: SecretStr(value) for name, value in secrets.items()}
    return AnyFormatSettings(_env_file=None, log_format=log_format, log_level="DEBUG", **values)  # type: ignore[call-arg]


@pytest.fixture
def logs() -> Iterator[Callable[..., io.StringIO]]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def configure(log_format: str = "json", **secrets: str) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(settings_for(log_format, **secrets), stream)
        return stream

    try:
        yield configure
    finally:
        root.handlers[:], root.level = saved


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_logs_write_one_valid_object_per_record_even_for_a_multiline_message_and_a_traceback(logs) -> None:
    stream = logs("json")
    log = logging.getLogger("bot.test")
    log.info("first line\nsecond line")
    try:
        raise ValueError("it broke")
    except ValueError:
        log.exception("a handler failed")
    log.warning("done")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    first, failed, done = (json.loads(line) for line in lines)
    assert first["message"] == "first line\nsecond line" and "exc_info" not in first
    assert failed["exc_info"].startswith("Traceback") and "ValueError: it broke" in failed["exc_info"]
    assert done["level"] == "WARNING"


def test_a_json_line_has_time_in_utc_level_logger_message_platform_and_request_id(logs) -> None:
    stream = logs("json")
    with request_scope("discord") as request_id:
        logging.getLogger("bot.service").info("answered %s in %d ms", "week", 3)
    (entry,) = entries(stream)
    assert set(entry) == {"time", "level", "logger", "message", "platform", "request_id"}
    when = dt.datetime.fromisoformat(entry["time"])
    assert when.utcoffset() == dt.timedelta(0) and entry["time"].endswith("Z")
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(minutes=1)
    assert entry | {"time": None} == {"time": None, "level": "INFO", "logger": "bot.service",
                                      "message": "answered week in 3 ms", "platform": "discord",
                                      "request_id": request_id}


def test_outside_a_request_the_platform_and_request_id_are_null(logs) -> None:
    stream = logs("json")
    logging.getLogger("bot.runner").info("slack is running")
    (entry,) = entries(stream)
    assert entry["platform"] is None and entry["request_id"] is None


def test_every_line_of_one_request_has_its_id_and_another_request_has_another(logs) -> None:
    stream = logs("json")
    log = logging.getLogger("bot.adapters.slack")
    with request_scope("slack") as first:
        log.info("command received")
        logging.getLogger("slack_sdk").debug("POST chat.postEphemeral")
        log.info("answered")
    with request_scope("slack") as second:
        log.info("click received")
    ids = [entry["request_id"] for entry in entries(stream)]
    assert ids == [first, first, first, second] and first != second
    assert current_request_id() is None  # the scope is gone with its block


def test_a_scope_inside_another_gives_the_outer_one_back_and_an_id_given_is_kept(logs) -> None:
    stream = logs("json")
    log = logging.getLogger("bot.adapters.discord")
    with request_scope("slack") as outer:
        inner_scope = request_scope("discord", "given-id")  # entered as the Discord adapter's guard does
        assert inner_scope.__enter__() == "given-id"
        log.info("inner")
        inner_scope.__exit__(None, None, None)
        log.info("outer again")
    log.info("outside")
    seen = [(entry["message"], entry["platform"], entry["request_id"]) for entry in entries(stream)]
    assert seen == [("inner", "discord", "given-id"), ("outer again", "slack", outer), ("outside", None, None)]
    assert len(outer) == 16 and int(outer, 16) >= 0  # 64 bits in hex


async def test_a_task_or_thread_started_inside_a_request_logs_with_its_id(logs) -> None:
    stream = logs("json")
    log = logging.getLogger("bot.adapters.eager")

    async def finish_later() -> None:
        await asyncio.sleep(0.01)
        log.info("the slow part answered")

    with request_scope("slack") as request_id:
        task = asyncio.create_task(finish_later())
        await asyncio.to_thread(log.info, "the database was read")
    log.info("the adapter moved on")  # outside: the task keeps the id it was created with
    await task
    by_message = {entry["message"]: entry["request_id"] for entry in entries(stream)}
    assert by_message == {"the database was read": request_id, "the adapter moved on": None,
                          "the slow part answered": request_id}


async def test_requests_handled_at_once_do_not_mix_their_ids(logs) -> None:
    stream = logs("json")

    async def handle(name: str) -> str:
        with request_scope("discord") as request_id:
            for step in range(3):
                logging.getLogger("bot").info("%s step %d", name, step)
                await asyncio.sleep(0)
            return request_id

    ids = dict(zip("ab", await asyncio.gather(handle("a"), handle("b")), strict=True))
    for entry in entries(stream):
        assert entry["request_id"] == ids[entry["message"][0]]


def test_a_token_in_a_message_or_a_traceback_is_masked_in_json(logs) -> None:
    stream = logs("json", slack_bot_token=TOKEN)
    log = logging.getLogger("slack_sdk.web")
    log.info("sending Authorization: Bearer %s", TOKEN)
    try:
        raise RuntimeError(f"invalid_auth for {TOKEN}")
    except RuntimeError:
        log.exception("call failed")
    text = stream.getvalue()
    assert TOKEN not in text and "1234-5678" not in text
    message, failed = entries(stream)
    assert message["message"] == "sending Authorization: Bearer ***"
    assert "invalid_auth for ***" in failed["exc_info"]


@pytest.mark.parametrize("secret", ['quo"te-secret', "back\\slash-secret", "new\nline-secret", "uni\u00e9-secret"])
def test_a_secret_that_json_escapes_is_still_masked(logs, secret: str) -> None:
    stream = logs("json", discord_token=secret)
    logging.getLogger("discord.http").warning("token %s rejected", secret)
    text = stream.getvalue()
    assert secret not in text and json.dumps(secret)[1:-1] not in text
    assert entries(stream)[0]["message"] == "token *** rejected"


def test_a_per_request_token_in_a_url_is_masked_and_the_line_stays_json(logs) -> None:
    # The mask eats the URL's token up to a quote: done on the serialised line, it would eat the
    # backslash that escapes the quote, and end the JSON string there.
    stream = logs("json")
    url = 'https://discord.com/api/v10/interactions/123456/aW50ZXJhY3Rpb24tdG9rZW4\\"rest'
    logging.getLogger("discord.http").debug('POST %s "quoted"\nnext line', url)
    (entry,) = entries(stream)
    assert "aW50ZXJhY3Rpb24tdG9rZW4" not in entry["message"]
    assert entry["message"].startswith("POST https://discord.com/api/v10/interactions/123456/***")


def test_text_stays_the_format_unless_json_is_asked_for(logs) -> None:
    for log_format in ("text", "TEXT", "xml"):
        stream = logs(log_format, slack_bot_token=TOKEN)
        with request_scope("slack"):
            logging.getLogger("bot.service").info("hello with %s", TOKEN)
        (line,) = stream.getvalue().splitlines()
        assert line.endswith(" INFO bot.service: hello with ***"), line
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


def test_log_format_json_in_the_environment_selects_json(monkeypatch: pytest.MonkeyPatch, logs) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    stream = io.StringIO()
    configure_logging(load_settings(_env_file=None), stream)
    logging.getLogger("bot").warning("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"


async def test_a_running_bot_with_json_logs_writes_nothing_but_json_lines_and_serves_its_metrics(
        tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from tests.adapters.discord.fake_discord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    env = clean_env(DISCORD_TOKEN=fake.token, DISCORD_API_URL=fake.base_url, HOST="127.0.0.1", PORT="0",
                    DATABASE_URL=f"sqlite:///{tmp_path}/json.db", LOG_LEVEL="DEBUG", LOG_FORMAT="json")
    bot = await RunningBot.start(env, tmp_path)
    try:
        port = await bot.port(r"health check listening on http://127\.0\.0\.1:(\d+)/healthz")
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            names = {family.name for family in text_string_to_metric_families(await response.text())}
        assert {"mlops_commands", "mlops_digests", "process_resident_memory_bytes"} <= names
        output = await bot.terminate()
        assert bot.proc.returncode == 0, output
    finally:
        await bot.kill()
        await fake.close()
    lines = output.splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines), output  # the SDK's lines too
    assert {json.loads(line)["logger"].split(".")[0] for line in lines} >= {"bot", "discord"}
    assert fake.token not in output
