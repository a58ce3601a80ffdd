"""Form -> modal: Slack's view limits hold and nothing pings, for any Form at all (hypothesis); a submitted
modal reads back as the FormSubmission it stands for; mistakes map onto the view's own inputs."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.slack.modal import (
    CALLBACK_ID,
    decode_metadata,
    encode_metadata,
    error_response,
    notice_modal,
    render_modal,
    submitted_values,
)
from bot.adapters.slack.render import units
from bot.core.forms import Form, FormErrors, FormField
from bot.core.reply import Reply
from tests.adapters.slack.fake_slack import view_problems
from tests.adapters.slack.test_render import hostile_text, replies

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=30)
fields = st.builds(FormField, name=names, label=hostile_text, value=hostile_text, placeholder=hostile_text,
                   required=st.booleans(), max_length=st.integers(-5, 5000), multiline=st.booleans(),
                   choices=st.lists(hostile_text, max_size=5).map(tuple))
forms = st.builds(Form, kind=st.one_of(st.sampled_from(["suggest", "approve"]), hostile_text), title=hostile_text,
                  fields=st.lists(fields, max_size=8, unique_by=lambda f: f.name).map(tuple),
                  ref=st.one_of(st.sampled_from(["", "42"]), hostile_text), submit=hostile_text, intro=hostile_text)
channels = st.one_of(st.none(), st.sampled_from(["C0CHANNEL", "G0PRIVATE"]), hostile_text)


def check_view_limits(view: dict[str, Any]) -> None:
    """Slack's documented limits for a modal, as the fake checks them, plus what must never be empty."""
    assert view_problems(view) == []
    assert 1 <= len(view["blocks"]) <= 100
    for key in ("title", "submit", "close"):
        if key in view:
            assert view[key]["type"] == "plain_text" and 1 <= units(view[key]["text"]) <= 24
            assert view[key]["text"].strip()
    assert units(view.get("private_metadata", "")) <= 3000
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert len(ids) == len(set(ids))
    for block in view["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            assert element["action_id"] == block["block_id"]
            assert 1 <= element["max_length"] <= 3000
            assert units(element.get("initial_value", "")) <= element["max_length"]
            assert block["label"]["text"].strip()
        elif block["type"] == "section" and "text" in block:
            assert block["text"]["verbatim"] is True and 1 <= units(block["text"]["text"]) <= 3000


def check_no_pings(view: dict[str, Any]) -> None:
    """Every text a member reads is escaped: no `<` survives to make a ping, a mention or a link."""
    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, value in node.items():
                walk(value, k)
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, str) and key == "text":
            assert "<" not in node and ">" not in node, node
            assert not re.search(r"@(here|channel|everyone)\b", node, re.IGNORECASE), node

    walk({k: v for k, v in view.items() if k != "private_metadata"})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(forms, channels)
def test_any_form_renders_as_a_modal_within_slacks_limits_and_never_pings(form: Form, channel: str | None):
    view = render_modal(form, channel)
    check_view_limits(view)
    check_no_pings(view)
    assert view["callback_id"] == CALLBACK_ID
    json.dumps(view)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(forms, channels, st.dictionaries(names, hostile_text, max_size=4))
def test_a_form_given_back_with_its_errors_is_within_limits_too(form: Form, channel: str | None,
                                                                errors: dict[str, str]):
    view = render_modal(form, channel, errors=errors)
    check_view_limits(view)
    check_no_pings(view)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(replies, hostile_text)
def test_a_notice_modal_is_within_limits_and_has_no_buttons(reply: Reply, title: str):
    view = notice_modal(title[:24], reply)
    check_view_limits(view)
    assert "submit" not in view
    assert all(b["type"] != "actions" for b in view["blocks"])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=4000), st.text(max_size=4000), st.one_of(st.none(), st.text(max_size=2000)))
def test_metadata_fits_and_reads_back_whenever_it_can(kind: str, ref: str, channel: str | None):
    text = encode_metadata(kind, ref, channel)
    assert units(text) <= 3000
    state = decode_metadata(text)
    if units(json.dumps({"k": kind, "r": ref, "c": channel}, ensure_ascii=False, separators=(",", ":"))) <= 3000:
        assert state is not None and (state.kind, state.ref) == (kind, ref) if kind else state is None
        if state is not None:
            assert state.channel_id == (channel or None)


def test_the_suggest_form_renders_each_field_as_an_input_named_after_it():
    form = Form(kind="suggest", title="Suggest a resource", submit="Suggest", intro="Moderators <review> it & more",
                fields=(FormField("url", "Link", "https://x.example/", placeholder="https://…", max_length=2000),
                        FormField("why", "Why?", "", required=False, max_length=500, multiline=True),
                        FormField("kind", "Kind", "tool", choices=("tool", "course"))))
    view = render_modal(form, "C0CHANNEL")
    assert view["title"]["text"] == "Suggest a resource"
    assert view["submit"]["text"] == "Suggest" and view["close"]["text"] == "Cancel"
    assert json.loads(view["private_metadata"]) == {"k": "suggest", "r": "", "c": "C0CHANNEL"}
    intro, url, why, kind = view["blocks"]
    assert intro["text"]["text"] == "Moderators &lt;review&gt; it &amp; more"
    assert url["block_id"] == url["element"]["action_id"] == "url"
    assert url["element"] == {"type": "plain_text_input", "action_id": "url", "multiline": False, "max_length": 2000,
                              "initial_value": "https://x.example/",
                              "placeholder": {"type": "plain_text", "text": "https://…", "emoji": True}}
    assert url["optional"] is False and why["optional"] is True
    assert why["element"]["multiline"] is True and "initial_value" not in why["element"]
    assert kind["hint"]["text"] == "One of: tool, course"


def test_the_members_text_comes_back_as_typed_not_escaped():
    view = render_modal(Form("suggest", "t", (FormField("why", "Why", "R&D <b> @here", multiline=True),)), None)
    assert view["blocks"][0]["element"]["initial_value"] == "R&D <b> @here"


def test_submitted_values_read_slacks_state_and_empty_inputs_are_empty():
    view = {"state": {"values": {"url": {"url": {"type": "plain_text_input", "value": "https://x.example/"}},
                                 "why": {"why": {"type": "plain_text_input", "value": None}}}}}
    assert submitted_values(view) == {"url": "https://x.example/", "why": ""}


def test_errors_go_under_their_inputs_and_a_general_one_under_the_first():
    form = Form("suggest", "t", (FormField("url", "Link"), FormField("why", "Why")))
    view = render_modal(form, "C1")
    response = error_response(FormErrors(form, {"why": "Too <long>", "": "Try again"}), view)
    assert response == {"response_action": "errors", "errors": {"why": "Too &lt;long&gt;", "url": "Try again"}}


def test_errors_of_a_view_without_inputs_give_the_form_back():
    form = Form("suggest", "t", (FormField("url", "Link"),))
    response = error_response(FormErrors(form, {"url": "Not a link"}), {"blocks": []})
    assert response["response_action"] == "update"
    assert "Not a link" in json.dumps(response["view"])
