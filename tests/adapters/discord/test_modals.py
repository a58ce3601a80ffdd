"""Form -> modal within Discord's limits whatever the form says, submits read back, drafts forgotten in time."""

from __future__ import annotations

import asyncio

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.modals import (
    FIX_TEMPLATE,
    FORM_TEMPLATE,
    Drafts,
    build_modal,
    fix_custom_id,
    form_custom_id,
    submitted_values,
)
from bot.core.forms import Form, FormField
from bot.core.suggestion_views import suggest_form
from tests.adapters.discord.fake_discord import modal_errors, modal_inputs

# Hypothesis favours short text: long and huge strings are asked for explicitly, since limits are the point.
text = st.one_of(st.text(max_size=60), st.text(min_size=46, max_size=400),
                 st.text(alphabet="😀*_`<@>\n a", min_size=90, max_size=300), st.just("y" * 5000))
names = st.text(alphabet="abcdefghij_", min_size=1, max_size=20)
fields = st.builds(FormField, name=names, label=text, value=text, placeholder=text, required=st.booleans(),
                   max_length=st.integers(-5, 10_000), multiline=st.booleans(),
                   choices=st.lists(st.text(max_size=30), max_size=40).map(tuple))
forms = st.builds(Form, kind=st.sampled_from(["suggest", "approve", "x" * 60]), title=text,
                  fields=st.lists(fields, min_size=1, max_size=8, unique_by=lambda f: f.name).map(tuple),
                  ref=st.one_of(st.just(""), st.text(alphabet="0123456789", max_size=12)), intro=text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(forms, st.dictionaries(names, text, max_size=3))
def test_any_form_becomes_a_modal_discord_accepts(form: Form, errors: dict[str, str]) -> None:
    # Built inside a running loop, as in the bot: discord.py ties a modal's state to it.
    async def build() -> discord.ui.Modal:
        return build_modal(form, errors)

    modal = asyncio.run(build())
    data = modal.to_dict()
    assert modal_errors(data) == {}
    assert modal.is_finished()  # discord.py keeps no reference to it
    inputs = modal_inputs(data)
    assert [i["custom_id"] for i in inputs] == [f.name for f in form.fields[:5]]
    match = FORM_TEMPLATE.fullmatch(data["custom_id"])
    assert match is not None and (match["kind"], match["ref"]) == (form.kind, form.ref)


def test_a_form_whose_ref_cannot_fit_in_a_custom_id_has_none() -> None:
    assert form_custom_id(Form("approve", "t", (), ref="9" * 100)) is None
    assert form_custom_id(Form("a:b", "t", ())) is None  # the kind ends at the first colon
    assert form_custom_id(Form("approve", "t", (), ref="12")) == "mlops:f:approve:12"


async def test_values_are_read_from_labels_and_from_action_rows() -> None:
    data = {"custom_id": "mlops:f:suggest:", "components": [
        {"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "url", "value": "https://e.org"}},
        {"type": 1, "id": 3, "components": [{"type": 4, "id": 4, "custom_id": "why", "value": "a\nb"}]},
        {"type": 10, "id": 5},
    ]}
    assert submitted_values(data) == {"url": "https://e.org", "why": "a\nb"}
    assert submitted_values(None) == {} == submitted_values({"components": "nonsense"})


async def test_the_suggest_form_fits_with_its_intro() -> None:
    data = build_modal(suggest_form("https://e.org", "Title", "why")).to_dict()
    assert modal_errors(data) == {} and data["components"][0]["type"] == 10
    assert [i.get("value") for i in modal_inputs(data)] == ["https://e.org", "Title", "why"]


def test_drafts_are_kept_for_their_ttl_and_the_oldest_go_beyond_the_limit() -> None:
    now = [0.0]
    drafts = Drafts(ttl=60, limit=2, clock=lambda: now[0])
    form = suggest_form("https://e.org")
    first = drafts.keep(form, {"url": "bad"}, "1")
    assert FIX_TEMPLATE.fullmatch(fix_custom_id(first))
    kept = drafts.get(first)
    assert kept is not None and kept.form == form and kept.errors == {"url": "bad"} and kept.user_id == "1"
    second, third = drafts.keep(form, {}, "2"), drafts.keep(form, {}, "3")
    assert drafts.get(first) is None and drafts.get(second) is not None and len(drafts) == 2
    now[0] = 61
    assert drafts.get(third) is None and len(drafts) == 0
    assert len({drafts.keep(form, {}, "1") for _ in range(50)}) == 50  # tokens do not repeat
