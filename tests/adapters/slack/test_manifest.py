"""The app manifest asks for every scope the bot's Slack calls need, and sends every payload to /slack/events."""

from __future__ import annotations

import yaml

from bot.adapters.slack.poster import FEATURE_SCOPES
from tests.adapters.slack.fake_slack import SCOPES
from tests.conftest import REPO

MANIFEST = yaml.safe_load((REPO / "deploy" / "slack" / "manifest.yaml").read_text(encoding="utf-8"))


def test_the_manifest_grants_every_scope_the_bot_uses():
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"commands", *FEATURE_SCOPES} <= granted
    # What the fake Slack checks for the methods the bot calls in public and private channels (not DMs'
    # history or info, which the bot never reads).
    assert {scope for public, private, _ in SCOPES.values() for scope in (public, private)} <= granted
    assert "im:write" in granted


def test_commands_clicks_and_form_submissions_all_go_to_slack_events():
    (command,) = MANIFEST["features"]["slash_commands"]
    interactivity = MANIFEST["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert command["url"].endswith("/slack/events") and interactivity["request_url"].endswith("/slack/events")
