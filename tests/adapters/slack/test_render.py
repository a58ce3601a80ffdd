"""Reply -> Block Kit: Slack's limits hold and nothing pings, for any Reply at all (hypothesis)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.slack.render import (
    MAX_BLOCKS,
    decode_button,
    decode_ref,
    encode_button,
    encode_message,
    escape,
    fit,
    link,
    render_message,
    units,
)
from bot.core.catalog import Link
from bot.core.reply import Button, ButtonAction, Field, Item, Reply

HOSTILE = ["<!channel>", "<!here>", "<!everyone>", "@here", "@channel", "@everyone", "<@U123>", "<#C123>",
           "<!subteam^S1>", "<https://evil.example|click>", "&lt;", "&", "|", "*", "`", ">", "\u202e", "\x00", "😀"]
fragment = st.sampled_from(HOSTILE) | st.text(max_size=8)
hostile_text = st.one_of(
    st.text(max_size=60),
    st.lists(fragment, max_size=12).map("".join),
    # Far past every limit, built by repetition: generating 7000 random characters is slow for no gain.
    st.tuples(st.lists(fragment, min_size=1, max_size=4).map("".join), st.integers(200, 3500))
      .map(lambda t: (t[0] or "x") * t[1]),
)
urls = st.one_of(st.none(), st.sampled_from([
    "https://docs.feast.dev/", "https://example.com/a|b>c<d", "https://example.com/?a=1&b=<!channel>",
    "javascript:alert(1)", "https://example.com/" + "x" * 2100, "http://x y.example/", ""]), hostile_text)
items = st.builds(Item, title=hostile_text, url=urls, summary=hostile_text,
                  meta=st.lists(hostile_text, max_size=4).map(tuple),
                  links=st.lists(st.builds(Link, label=hostile_text, url=urls.map(lambda u: u or "")),
                                 max_size=4).map(tuple))
buttons = st.builds(Button, label=hostile_text, action=st.sampled_from(list(ButtonAction)),
                    command=hostile_text, offset=st.integers(-5, 20_000), ref=hostile_text)
replies = st.builds(
    Reply, header=hostile_text, text=hostile_text,
    items=st.lists(items, max_size=40).map(tuple),
    fields=st.lists(st.builds(Field, name=hostile_text, value=hostile_text, inline=st.booleans()),
                    max_size=30).map(tuple),
    buttons=st.lists(buttons, max_size=4).map(tuple),
    footer=hostile_text, is_error=st.booleans(),
    notices=st.lists(hostile_text, max_size=12).map(tuple),
)


def check_slack_limits(message: dict[str, Any]) -> None:
    """Slack's documented Block Kit limits (characters counted as UTF-16 units)."""
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= MAX_BLOCKS
    assert "link_names" not in message and "parse" not in message
    assert 1 <= units(message["text"]) <= 3000

    def text_object(obj: dict[str, Any], limit: int) -> None:
        assert obj["type"] in ("plain_text", "mrkdwn")
        assert 1 <= units(obj["text"]) <= limit, (obj["type"], units(obj["text"]))
        assert obj["text"].strip()
        if obj["type"] == "mrkdwn":
            assert obj["verbatim"] is True

    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            text_object(block["text"], 150)
        elif kind == "section":
            assert ("text" in block) != ("fields" in block)
            if "text" in block:
                text_object(block["text"], 3000)
            else:
                assert 1 <= len(block["fields"]) <= 10
                for field in block["fields"]:
                    text_object(field, 2000)
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                text_object(element, 3000)
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            ids = [e["action_id"] for e in block["elements"]]
            assert len(set(ids)) == len(ids)
            for element in block["elements"]:
                text_object(element["text"], 75)
                assert units(element["value"]) <= 2000
                assert len(element["action_id"]) <= 255
        else:
            raise AssertionError(f"unexpected block {kind}")


_OUR_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")


def check_no_pings(message: dict[str, Any]) -> None:
    """Once our own `<url|label>` links are removed, no `<` remains: no <!channel>, <@U…>, <#C…>."""
    for text in _all_texts(message):
        rest = _OUR_LINK.sub("", text)
        assert "<" not in rest and ">" not in rest, text
        assert not re.search(r"@(here|channel|everyone)\b", text, re.IGNORECASE), text
        # Inside a link label, too: the label is escaped like any other text.
        for label in re.findall(r"<https?://[^|<>\s]+\|([^<>]*)>", text):
            assert "<" not in label and "|" not in label


def _all_texts(message: dict[str, Any]) -> list[str]:
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(replies, st.one_of(st.none(), hostile_text))
def test_any_reply_fits_slack_and_never_pings(reply: Reply, shared_by: str | None):
    for candidate in (reply, reply.public()):
        message = render_message(candidate, shared_by=shared_by)
        check_slack_limits(message)
        check_no_pings(message)
        json.dumps(message)  # serialisable as sent


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(replies, st.one_of(st.none(), hostile_text))
def test_the_encoded_ack_is_the_rendered_message(reply: Reply, shared_by: str | None):
    """encode_message (the slash command's ack body) is render_message's document, whatever the reply;
    so the limit and ping checks above hold for it too."""
    for _ in range(2):  # the second time, from the items' kept JSON
        encoded = encode_message(reply, shared_by=shared_by, response_type="ephemeral")
        assert encoded.isascii()
        document = {**render_message(reply, shared_by=shared_by), "response_type": "ephemeral"}
        assert json.loads(encoded) == document
        # Not only the same document: the same text json writes for it, key order and escapes included.
        assert encoded == json.dumps(document, separators=(",", ":"))


def test_the_encoded_message_takes_any_extra_fields_as_render_message_plus_them_would() -> None:
    reply = Reply(header="Resources", items=(Item("Feast", "https://feast.dev", "A feature store", ("tool",)),),
                  buttons=(Button("More results", ButtonAction.MORE, "resource feast", 5),), footer="Showing 1–1")
    for extra in ({}, {"response_type": "in_channel", "replace_original": False}, {"unfurl_links": True},
                  {"delete_original": True, "unfurl_media": True, "note": "naïve <b>"}):
        document = {**render_message(reply), **extra}
        assert encode_message(reply, **extra) == json.dumps(document, separators=(",", ":"))


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(0, 10_000))
def test_button_values_round_trip(command: str, offset: int):
    value = encode_button(Button("More", ButtonAction.MORE, command, offset))
    if value is None:
        assert units(json.dumps({"c": command, "o": offset}, ensure_ascii=False)) > 1900
        return
    assert value == json.dumps({"c": command, "o": offset}, ensure_ascii=False, separators=(",", ":"))
    state = decode_button("mlops_more_1", value)
    assert state is not None and (state.command, state.offset, state.action) == (command, offset, ButtonAction.MORE)


def test_tampered_or_foreign_button_values_are_refused():
    assert decode_button("mlops_more_0", "not json") is None
    assert decode_button("mlops_more_0", '{"c": "x", "o": -1}') is None
    assert decode_button("mlops_more_0", '{"c": "x", "o": true}') is None
    assert decode_button("mlops_more_0", '["x", 1]') is None
    assert decode_button("mlops_delete_0", '{"c": "x", "o": 1}') is None
    assert decode_button("mlops_share_0", None) is None


def test_escaping_is_exactly_slacks_three_characters():
    assert escape("R&D <b> >") == "R&amp;D &lt;b&gt; &gt;"
    assert escape("café: “quotes” 'single'") == "café: “quotes” 'single'"


def _escape_the_long_way(text: str, *, one_line: bool = False) -> str:
    """`escape` as written before its fast path: every pass, on every text."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", "",
                  text.replace("\r\n", "\n").replace("\t", " "))
    if one_line:
        text = " ".join(text.split())
    text = text.strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"@(?=(?:here|channel|everyone))", "@\u2060", text, flags=re.IGNORECASE)


# Mostly text that needs no escaping, where the fast path is taken: words and every kind of space.
plain_and_spaces = st.lists(st.sampled_from([" ", "  ", "\t", "\r\n", "\n", "\u00a0", "\u0085", "\u2003", "\x1c",
                                             "a", "Feast", "MLOps:", "“ok”"]), max_size=12).map("".join)


words_and_plain_spaces = st.lists(st.sampled_from([" ", "  ", "a", "Feast", "MLOps:"]), max_size=8).map("".join)


@given(text=st.one_of(st.text(max_size=80), hostile_text, plain_and_spaces, words_and_plain_spaces),
       one_line=st.booleans())
@settings(max_examples=400)
def test_the_fast_path_of_escape_changes_nothing(text: str, one_line: bool):
    assert escape(text, one_line=one_line) == _escape_the_long_way(text, one_line=one_line)


def test_a_hostile_url_or_label_cannot_break_out_of_its_link():
    assert link("https://example.com/a|b", "x") == "<https://example.com/a%7Cb|x>"
    assert link("https://example.com/>@here<", "t") == "<https://example.com/%3E@here%3C|t>"
    assert link("https://e.com/?a=1&b=2", "A|B <!channel>") == "<https://e.com/?a=1&amp;b=2|A¦B &lt;!channel&gt;>"
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://e.com/", "") == "<https://e.com/|https://e.com/>"


def test_cutting_never_leaves_half_a_link_or_entity():
    text = "a" * 2990 + "<https://example.com/|label>"
    assert fit(text, 3000) == "a" * 2990 + "…"
    text = "a" * 2997 + "&amp;"
    assert fit(text, 3000) == "a" * 2997 + "…"
    assert units(fit("😀" * 2000, 3000)) <= 3000


def test_many_items_are_capped_at_50_blocks_and_the_footer_says_so():
    reply = Reply(header="h", items=tuple(Item(title=f"t{i}", meta=("tool",)) for i in range(60)),
                  buttons=(Button("Share in channel", ButtonAction.SHARE, "resource x"),), footer="Showing 1–60")
    message = render_message(reply)
    check_slack_limits(message)
    assert MAX_BLOCKS - 1 <= len(message["blocks"]) <= MAX_BLOCKS
    assert "more not shown here" in message["blocks"][-1]["elements"][0]["text"]
    assert message["blocks"][-2]["type"] == "actions"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([a for a in ButtonAction if not a.carries_command]), st.text(min_size=1, max_size=300))
def test_reference_buttons_carry_only_their_ref_and_round_trip(action: ButtonAction, ref: str):
    value = encode_button(Button("Approve", action, command="delete everything", offset=3, ref=ref))
    assert value is not None and json.loads(value) == {"r": ref}
    click = decode_ref(f"mlops_{action.value}_0", value)
    assert click is not None and (click.action, click.ref) == (action, ref)
    assert decode_button(f"mlops_{action.value}_0", value) is None


def test_a_reference_button_renders_as_mlops_action_index_with_its_ref():
    reply = Reply(header="Suggestion #7", buttons=(Button("Approve", ButtonAction.APPROVE, ref="7"),
                                                  Button("Reject", ButtonAction.REJECT, ref="7"),
                                                  Button("Lost", ButtonAction.EDIT)))
    elements = next(b for b in render_message(reply)["blocks"] if b["type"] == "actions")["elements"]
    assert [(e["action_id"], e["value"]) for e in elements] == [("mlops_approve_0", '{"r":"7"}'),
                                                                ("mlops_reject_1", '{"r":"7"}')]
    assert elements[0]["style"] == "primary" and elements[1]["style"] == "danger"


def test_tampered_reference_values_and_crossed_kinds_are_refused():
    assert decode_ref("mlops_approve_0", '{"r": 7}') is None
    assert decode_ref("mlops_approve_0", '{"r": ""}') is None
    assert decode_ref("mlops_approve_0", '{"r": "7", "c": "approve 8"}') is None
    assert decode_ref("mlops_approve_0", '"7"') is None
    assert decode_ref("mlops_approve_0", None) is None
    assert decode_ref("mlops_share_0", '{"r": "7"}') is None  # Share carries a command, never a ref
    assert decode_ref("mlops_nuke_0", '{"r": "7"}') is None
    assert decode_ref("other_approve_0", '{"r": "7"}') is None
    assert decode_button("mlops_approve_0", '{"c": "x", "o": 1}') is None  # a ref action never runs a command
    assert decode_button("mlops_more_0", '{"c": "x", "o": 1, "r": "7"}') is None
