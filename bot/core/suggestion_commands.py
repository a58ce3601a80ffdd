"""`/mlops suggest`, `review`, `approve` and `reject`: parsed and checked here, carried out by the app
layer (bot/app/suggestions.py) through the effects they return."""

from __future__ import annotations

from bot.core.catalog import KINDS
from bot.core.commands import Command
from bot.core.context import Call, Context
from bot.core.effects import Decide, ListPending, SubmitSuggestion
from bot.core.handlers import error_reply
from bot.core.permissions import Permission
from bot.core.registry import Option, command
from bot.core.reply import Reply
from bot.core.suggestion_views import fix_these, suggest_form
from bot.core.suggestions import MAX_REASON, check, split_args
from bot.core.text import ascii_int


@command("suggest", aliases=("suggestion", "propose", "add"), short="s",
         usage="suggest <url> [title] [| why]", example="suggest https://example.com/mlops-guide MLOps guide | clear",
         summary="Suggest a resource for the catalog; moderators review it",
         options=(Option("url", "the link, https://…", max_length=2000),
                  Option("title", "its title (taken from the link when empty)"),
                  Option("why", "why it is worth learning from", max_length=1000, prefix="| ")), long_text=True)
def _suggest(cmd: Command, ctx: Context, call: Call) -> object:
    raw = cmd.full  # not `args`: a link of 2,000 characters and a why of 1,000 are not cut at 200
    if not raw.strip():
        return suggest_form()
    url, title, why, note = split_args(raw)
    draft = check(url, title, why, note)
    if not draft.ok:
        # Typed as text: the message says what to fix; the member's text is still in their chat box.
        return fix_these(draft.problems, ctx.command_prefix)
    return SubmitSuggestion(draft.url, draft.title, draft.why, anyway=bool(note), note=draft.note)


@command("review", aliases=("pending", "queue"), short="q", usage="review", example="review",
         summary="The suggestions waiting for review, oldest first (moderators)", permission=Permission.MODERATOR)
def _review(cmd: Command, ctx: Context, call: Call) -> object:
    return ListPending(offset=call.offset)


@command("approve", aliases=("accept",), short="a", usage="approve <number> [kind:K] [category:C]",
         example="approve 12 kind:blog category:blogs", summary="Approve a suggestion (moderators)",
         permission=Permission.MODERATOR,
         options=(Option("number", "the suggestion's number", kind="int", required=True, min_value=1,
                         max_value=10**9),
                  Option("kind", "its kind", choices=KINDS, prefix="kind:"),
                  Option("category", "its category", max_length=100, autocomplete="category", prefix="category:")))
def _approve(cmd: Command, ctx: Context, call: Call) -> object:
    number, rest = _number(cmd)
    if number is None:
        return error_reply(ctx, "Approve which suggestion?", "Give the suggestion's number, e.g. 12.", usage="approve")
    kind = category = None
    for token in rest.split():
        key, sep, value = token.partition(":")
        if sep and key.lower() in ("kind", "k", "type"):
            kind = value.lower()
        elif sep and key.lower() in ("category", "cat", "c"):
            category = value.lower()
        else:
            return error_reply(ctx, "I don't understand that part", f"'{token[:40]}' is neither kind:K nor category:C.",
                               usage="approve")
    if kind is not None and kind not in KINDS:
        return error_reply(ctx, "No such kind", f"Try one of: {', '.join(KINDS)}.", usage="approve")
    if category is not None and category not in ctx.category_ids:
        return error_reply(ctx, "No such category", f"'{category[:40]}' is not a category; "
                           f"{ctx.command_prefix} list shows them.", usage="approve")
    return Decide(number, approve=True, kind=kind, category=category)


@command("reject", aliases=("decline", "deny"), short="x", usage="reject <number> <reason>",
         example="reject 12 already covered by Feast", summary="Reject a suggestion, with a reason (moderators)",
         permission=Permission.MODERATOR, long_text=True,
         options=(Option("number", "the suggestion's number", kind="int", required=True, min_value=1,
                         max_value=10**9),
                  Option("reason", "why (sent to the member)", required=True, max_length=MAX_REASON)))
def _reject(cmd: Command, ctx: Context, call: Call) -> object:
    number, reason = _number(cmd)
    if number is None:
        return error_reply(ctx, "Reject which suggestion?", "Give the number and a reason, e.g. 12 out of scope.",
                           usage="reject")
    if not reason.strip():
        return error_reply(ctx, "Why reject it?", "Give a reason: the member who suggested it will read it.",
                           usage="reject")
    return Decide(number, approve=False, reason=reason.strip()[:MAX_REASON])


def _number(cmd: Command) -> tuple[int | None, str]:
    token, _, rest = cmd.full.partition(" ")
    return ascii_int(token.lstrip("#")), rest


__all__ = ["Reply"]
