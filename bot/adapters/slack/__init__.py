"""Slack: `/mlops` as Block Kit, over HTTP (`POST /slack/events`) or Socket Mode.

    adapter.py  SlackAdapter: start/stop for the runner, the aiohttp server, Socket Mode, auth.test
    app.py      the slack-bolt AsyncApp and its listeners (slash command, Share, More, reference buttons,
                submitted modals)
    modal.py    Form -> modal and a submitted modal -> FormSubmission, within Slack's limits (pure)
    poster.py   SlackPoster: posts, updates, DMs and history look-ups on the bot's own initiative
    render.py   Reply -> Block Kit, escaped and within Slack's limits (pure)
    verify.py   strict request-signature check (pure)

slack_bolt, slack_sdk and aiohttp are imported only here, and only when Slack is configured.
"""

from bot.adapters.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
