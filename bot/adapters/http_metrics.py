"""Every HTTP call an SDK makes to its platform, counted by method and result for GET /metrics.

slack_sdk and discord.py both talk through aiohttp, whose trace hooks see each request as it goes and
comes back: one TraceConfig per platform counts them all (429s included), whatever SDK code made them,
without wrapping a single call.
"""

from __future__ import annotations

import re

import aiohttp

from bot import metrics

# Discord's REST routes as the operations they are (metrics.PLATFORM_METHODS); ids never become labels.
_DISCORD_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name) for method, pattern, name in (
        ("POST", r"/channels/\d+/messages", "create_message"),
        ("PATCH", r"/channels/\d+/messages/\d+", "edit_message"),
        ("GET", r"/channels/\d+/messages/\d+", "get_message"),
        ("GET", r"/channels/\d+", "get_channel"),
        ("POST", r"/users/@me/channels", "create_dm"),
        ("GET", r"/users/.+", "get_user"),
        ("POST", r"/interactions/\d+/[^/]+/callback", "interaction_response"),
        ("PATCH", r"/webhooks/\d+/[^/]+/messages/@original", "edit_original_response"),
        ("POST", r"/webhooks/\d+/[^/]+", "followup_message"),
        ("PUT", r"/applications/\d+(?:/guilds/\d+)?/commands", "sync_commands"),
        ("GET", r"/gateway(?:/bot)?", "get_gateway"),
    ))


def slack_method(method: str, path: str) -> str:
    if "/api/" in path:
        return path.rsplit("/", 1)[-1]
    return "response_url"


def discord_method(method: str, path: str) -> str:
    path = re.sub(r"^/api/v\d+", "", path)
    for verb, pattern, name in _DISCORD_ROUTES:
        if verb == method and pattern.fullmatch(path):
            return name
    return "other"


def _result(status: int) -> str:
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "refused"
    return "ok"


def platform_trace(platform: str) -> aiohttp.TraceConfig:
    name_of = slack_method if platform == "slack" else discord_method
    trace = aiohttp.TraceConfig()

    async def ended(_session: object, _context: object, params: aiohttp.TraceRequestEndParams) -> None:
        metrics.count_platform_call(platform, name_of(params.method, params.url.path), _result(params.response.status))

    async def failed(_session: object, _context: object, params: aiohttp.TraceRequestExceptionParams) -> None:
        metrics.count_platform_call(platform, name_of(params.method, params.url.path), "network")

    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace
