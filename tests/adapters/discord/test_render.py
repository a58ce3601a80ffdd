"""Rendering: every reply fits Discord's limits whatever its text, and buttons encode their state."""

from __future__ import annotations

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.render import (
    MAX_CUSTOM_ID,
    MORE_TEMPLATE,
    REF_ACTIONS,
    REF_TEMPLATE,
    SHARE_TEMPLATE,
    TOO_LONG_FOR_MORE,
    button_custom_id,
    decode_command,
    encode_command,
    escape,
    fit,
    limit_problems,
    render,
    units,
)
from bot.core.catalog import Link
from bot.core.reply import Button, ButtonAction, Field, Item, Reply
from bot.service import BotService, Request
from tests.adapters.discord.fake_discord import embed_problems

# Any text, astral characters (which count twice in UTF-16) and Markdown included, sometimes huge.
text = st.one_of(st.text(max_size=60), st.text(max_size=5000),
                 st.text(alphabet="😀*_`<@>[]()#-\n a", max_size=7000))
urls = st.one_of(st.none(), st.just("https://example.org/a_(b)"), st.text(max_size=40),
                 st.just("javascript:alert(1)"), st.just("https://e.org/" + "x" * 2100))
links = st.builds(Link, label=text, url=st.one_of(st.just("https://github.com/x/y"), st.text(max_size=30)))
items = st.builds(Item, title=text, url=urls, summary=text, meta=st.tuples(text, text),
                  links=st.lists(links, max_size=4).map(tuple))
buttons = st.builds(Button, label=text, action=st.sampled_from(list(ButtonAction)), command=text,
                    offset=st.integers(0, 10**6), ref=st.one_of(st.just(""), st.text(max_size=120)))
replies = st.builds(
    Reply, header=text, text=text, items=st.lists(items, max_size=14).map(tuple),
    fields=st.lists(st.builds(Field, name=text, value=text, inline=st.booleans()), max_size=30).map(tuple),
    buttons=st.lists(buttons, max_size=4).map(tuple), footer=text, is_error=st.booleans(),
    notices=st.lists(text, max_size=3).map(tuple),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(replies)
def test_any_reply_fits_discords_limits(reply: Reply) -> None:
    rendered = render(reply)
    assert limit_problems(rendered) == []
    payload = {"embeds": [e.to_dict() for e in rendered.embeds],
               "components": [{"type": 1, "components": [{"custom_id": b.custom_id, "label": b.label}
                                                         for b in rendered.buttons]}]}
    assert embed_problems(payload) == []
    assert len({b.custom_id for b in rendered.buttons}) == len(rendered.buttons)


def test_every_command_of_the_seed_renders_within_limits(service: BotService) -> None:
    for text in ("help", "list", "list podcasts", "compare feature-stores", "path", "path beginner", "week",
                 "week 3", "resource feature-store", "resource kind:paper debt", "resource x", "nonsense"):
        assert limit_problems(render(service.answer(Request(text, platform="discord")))) == [], text


@given(st.text(max_size=300), st.integers(0, 1000))
def test_custom_ids_round_trip_or_degrade(command: str, offset: int) -> None:
    for action, template in ((ButtonAction.SHARE, SHARE_TEMPLATE), (ButtonAction.MORE, MORE_TEMPLATE)):
        custom_id = button_custom_id(Button("x", action, command, offset))
        if custom_id is None:
            assert action is ButtonAction.MORE
            continue
        assert len(custom_id) <= MAX_CUSTOM_ID
        match = template.fullmatch(custom_id)
        assert match is not None
        if match["command"] is not None:
            assert decode_command(match["command"]) == command and int(match["offset"]) == offset


def test_commands_are_shortened_in_custom_ids() -> None:
    assert encode_command("resource kind:paper debt") == "r kind:paper debt"
    assert decode_command("r kind:paper debt") == "resource kind:paper debt"
    assert button_custom_id(Button("More", ButtonAction.MORE, "list podcasts", 10)) == "mlops:m:10:l podcasts"


def test_a_more_button_that_cannot_fit_is_dropped_with_a_note() -> None:
    long = "resource " + "word " * 30
    reply = Reply(header="h", items=(Item("t"),), buttons=(Button("Share", ButtonAction.SHARE, long),
                                                           Button("More", ButtonAction.MORE, long, 5)))
    rendered = render(reply)
    assert [b.custom_id for b in rendered.buttons] == ["mlops:s"]
    assert TOO_LONG_FOR_MORE in (rendered.embeds[-1].footer.text or "")


def test_reference_buttons_carry_their_action_and_ref_and_are_styled_by_what_they_do() -> None:
    reply = Reply(header="Suggestion #42", buttons=(
        Button("Approve", ButtonAction.APPROVE, ref="42"), Button("Reject", ButtonAction.REJECT, ref="42"),
        Button("Edit", ButtonAction.EDIT, ref="42"), Button("x" * 200, ButtonAction.ANYWAY, ref="tok_en-1"),
        Button("Lost", ButtonAction.RETRY), Button("Huge", ButtonAction.APPROVE, ref="9" * 100)))
    specs = render(reply).buttons
    assert [(b.custom_id, b.style) for b in specs] == [
        ("mlops:a:42", discord.ButtonStyle.success), ("mlops:r:42", discord.ButtonStyle.danger),
        ("mlops:e:42", discord.ButtonStyle.secondary), ("mlops:y:tok_en-1", discord.ButtonStyle.primary)]
    assert len(specs[3].label) == 80  # labels cut to Discord's 80; a button without a ref, or too long, is left out
    for spec in specs:
        match = REF_TEMPLATE.fullmatch(spec.custom_id)
        assert match is not None and REF_ACTIONS[match["code"]] is spec.action
    assert not any(REF_TEMPLATE.fullmatch(i) for i in ("mlops:s", "mlops:m:5:r x", "mlops:s:0:r x"))


def test_ten_items_still_fit_in_ten_embeds_with_every_title_linked() -> None:
    reply = Reply(header="List", items=tuple(Item(f"T{i}", url=f"https://e.org/{i}") for i in range(12)))
    embeds = render(reply).embeds
    assert len(embeds) == 10
    assert [e.url for e in embeds[1:9]] == [f"https://e.org/{i}" for i in range(8)]
    assert all(f"[T{i}](https://e.org/{i})" in (embeds[-1].description or "") for i in range(8, 12))


def test_unsafe_urls_are_never_linked() -> None:
    rendered = render(Reply(header="h", items=(Item("t", url="javascript:alert(1)",
                                                    links=(Link("x", "javascript:alert(1)"),)),)))
    assert rendered.embeds[1].url is None and "javascript" not in (rendered.embeds[1].description or "")


def test_parentheses_in_urls_do_not_break_masked_links() -> None:
    rendered = render(Reply(header="h", items=(Item("t", links=(Link("Wiki", "https://e.org/a_(b)"),)),)))
    assert "[Wiki](https://e.org/a_%28b%29)" in (rendered.embeds[1].description or "")


def test_fit_and_escape() -> None:
    assert fit("hello world again", 12) == "hello world…"
    assert units(fit("😀" * 100, 51)) <= 51
    assert escape("**a** <@1> [b](c)") == r"\*\*a\*\* \<@1> \[b\](c)"
    assert escape("# title\n> quote\n- item") == "\\# title\n\\> quote\n\\- item"
