"""Whatever a member types, every handler answers with a reply of its own, never the generic error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.commands import parse
from bot.core.effects import Effect
from bot.core.forms import Form
from bot.core.handlers import handle
from bot.core.registry import specs
from bot.core.reply import Reply
from bot.errors import BotError
from bot.service import BotService


@pytest.mark.parametrize("token", ["²", "³", "①", "٣", "३", "𝟑", "3.0", "+3", " 3x", "0x3", "3_0", "99999999999"])
def test_a_week_number_is_ascii_digits_only(service: BotService, token: str) -> None:
    reply = handle(parse(f"week {token}"), service._ctx)
    assert reply.header == "No such week"
    assert reply.is_error


def test_an_ascii_week_number_still_works(service: BotService) -> None:
    assert handle(parse("week 3"), service._ctx).header.startswith("Week 3")


NAMES = sorted({*(s.name for s in specs()), "nonsense"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(NAMES), args=st.text(max_size=300), offset=st.integers(-10, 20_000))
def test_no_handler_raises_or_answers_with_the_generic_error(service: BotService, name: str, args: str,
                                                            offset: int) -> None:
    outcome = handle(parse(f"{name} {args}"), service._ctx, offset)
    # A reply of its own, or a form or an effect for the app layer: never the generic error.
    assert isinstance(outcome, Reply | Form | Effect)
    if isinstance(outcome, Reply):
        assert outcome.header
        assert outcome.text != BotError.user_message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(NAMES),
       args=st.lists(st.sampled_from(["²", "①", "٣", "𝟑", "kind:", "level:x", ":", "|", "@channel", "<!here>",
                                      "javascript:alert(1)", "\x00", "\u202e", "10", "-1", "0"]), max_size=6))
def test_odd_tokens_in_any_command_get_a_reply_of_their_own(service: BotService, name: str, args: list[str]) -> None:
    outcome = handle(parse(f"{name} {' '.join(args)}"), service._ctx)
    assert isinstance(outcome, Reply | Form | Effect)
    assert getattr(outcome, "text", "") != BotError.user_message
