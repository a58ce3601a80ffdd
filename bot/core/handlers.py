"""Handlers: a parsed `Command` and the catalog in, one `Reply` out. Pure: no I/O, no printing."""

from __future__ import annotations

from dataclasses import replace

from rapidfuzz import fuzz, process, utils

from bot.core.catalog import COSTS, KINDS, LEVELS, Category, Step
from bot.core.commands import Command, QueryError, parse_query, suggest_command
from bot.core.context import Call, Context
from bot.core.forms import Form
from bot.core.items import resource_item, resource_meta
from bot.core.permissions import can, refusal_text
from bot.core.registry import Option, spec, specs
from bot.core.registry import command as register
from bot.core.reply import Button, ButtonAction, Field, Item, Reply
from bot.core.search_api import SearchPage
from bot.core.text import ascii_int, plural, truncate

__all__ = ["Context", "handle", "resource_item", "resource_meta"]

PAGE_SIZE = 5
LIST_PAGE_SIZE = 10
MAX_OFFSET = 10_000

Outcome = Reply | Form  # or an app-layer effect (bot.core.effects), which the service carries out


def handle(command: Command, ctx: Context, offset: int = 0, *, call: Call | None = None) -> object:
    """Answer any command; never raises for anything a member can type.

    Permission is checked here, for every command, before its handler runs: a refusal is private,
    changes nothing, and names the member's id and the setting that would grant it.
    """
    call = call or Call()
    clamped = max(0, min(offset or call.offset, MAX_OFFSET))
    if clamped != call.offset:  # dataclasses.replace costs a few µs a command; nearly every call is in range
        call = replace(call, offset=clamped)
    found = spec(command.name)
    if found is None:
        return _unknown(command, ctx, call)
    if not can(call.actor, found.permission, ctx.community.moderators):
        return Reply(header="Moderators only", text=refusal_text(call.actor, ctx.community.moderators),
                     is_error=True)
    try:
        outcome = found.handler(command, ctx, call)
    except QueryError as exc:
        outcome = _error(ctx, "That filter is not one I know", str(exc), usage="resource")
    if command.notices and isinstance(outcome, Reply) and not found.long_text:
        outcome = replace(outcome, notices=outcome.notices + command.notices)
    return outcome


# -- items ------------------------------------------------------------------------------------------

def _step_lines(steps: tuple[Step, ...], numbered: bool) -> str:
    return "\n".join(f"{i}. {s.text}" if numbered else f"• {s.text}" for i, s in enumerate(steps, 1))


def _referenced(ctx: Context, steps: tuple[Step, ...]) -> tuple[Item, ...]:
    seen: dict[str, object] = {}
    for step in steps:
        for rid in step.resources:
            resource = ctx.catalog.get(rid)
            if resource is not None:
                seen.setdefault(rid, resource)
    return tuple(ctx.item(r) for r in seen.values())  # type: ignore[arg-type]


def share_button(command: str, offset: int = 0) -> Button:
    return Button("Share in channel", ButtonAction.SHARE, command, offset)


def more_button(command: str, offset: int) -> Button:
    return Button("More results", ButtonAction.MORE, command, offset)


_share, _more = share_button, more_button


def usage_field(ctx: Context, name: str) -> Field:
    found = spec(name)
    assert found is not None, name
    p = ctx.command_prefix
    return Field("Usage", f"{p} {found.usage}\nExample: {p} {found.example}")


def error_reply(ctx: Context, header: str, text: str, *, usage: str | None = None) -> Reply:
    return Reply(header=header, text=text, fields=(usage_field(ctx, usage),) if usage else (), is_error=True)


_error = error_reply


# -- commands ---------------------------------------------------------------------------------------

@register("help", aliases=("h", "?", "usage"), usage="help", example="help", short="h",
          summary="How to use the bot, with examples")
def _help(command: Command, ctx: Context, call: Call) -> Reply:
    p = ctx.command_prefix
    fields = tuple(
        Field(f"{p} {s.usage}", f"e.g. {p} {s.example}") for s in specs()
        if s.name != "help" and s.in_help and can(call.actor, s.permission, ctx.community.moderators)
    )
    return Reply(
        header="MLOps learning resources",
        text=(f"I know {plural(len(ctx.catalog), 'resource')} in "
              f"{plural(len(ctx.catalog.categories), 'category', 'categories')}: books, papers, tools, courses, "
              "blogs, podcasts and more. Typos and paraphrases are fine."),
        fields=(*fields, Field("Filters", "kind:paper · level:beginner · free · category:feature-stores")),
        footer="Replies are private to you until you press “Share in channel”.",
    )


def _unknown(command: Command, ctx: Context, call: Call) -> Reply:
    guess = suggest_command(command.args) if command.args else None
    hint = f" Did you mean `{ctx.command_prefix} {guess}`?" if guess else ""
    reply = _help(command, ctx, call)
    return replace(reply, header="I don't know that command",
                   text=f"There is no command '{truncate(command.args, 40)}'.{hint}", is_error=True)


@register("resource", aliases=("resources", "search", "find", "r"), short="r",
          usage="resource <query> [kind:K] [level:L] [free]", example="resource feature-store",
          summary="Search the resources: books, papers, tools, courses…",
          # In the order they go back into the text: the filters, then the query.
          options=(Option("kind", "only this kind", choices=KINDS, prefix="kind:"),
                   Option("level", "only this level", choices=LEVELS, prefix="level:"),
                   Option("cost", "only this cost", choices=COSTS, prefix="cost:"),
                   Option("query", "a topic, tool or title, e.g. feature-store", required=True,
                          autocomplete="query")))
def _resource(command: Command, ctx: Context, call: Call) -> Reply:
    offset = call.offset
    query = parse_query(command.args, ctx.category_ids)
    if not query.text and not query.has_filters:
        return _error(ctx, "What are you looking for?",
                      "Tell me a topic, a tool or a title, for example feature-store or experiment tracking.",
                      usage="resource")
    page = ctx.search.search(query, limit=PAGE_SIZE, offset=offset)
    label = truncate(command.args, 80)
    if not page.hits:
        return _no_results(ctx, label, page, offset)
    reply = _page_reply(ctx, f"Resources for “{label}”", page, command.canonical, offset)
    if page.unmatched and not offset:
        # Never empty-handed: the best matches for the words it could use, and which words it could not.
        words = ", ".join(f"“{truncate(w, 30)}”" for w in page.unmatched[:5])
        reply = replace(reply, notices=(f"Nothing in the catalog matches {words}; these match the rest of "
                                        "your words.",))
    return reply


def _page_reply(ctx: Context, header: str, page: SearchPage, canonical: str, offset: int) -> Reply:
    first = offset + 1
    last = offset + len(page.hits)
    buttons = [_share(canonical, offset)]
    if page.has_more:
        buttons.append(_more(canonical, last))
    return Reply(
        header=header,
        items=tuple(ctx.item(h.resource) for h in page.hits),
        buttons=tuple(buttons),
        footer=f"Showing {first}–{last} of {page.total}{'+' if page.total_is_floor else ''}",
        results=page.total,
    )


def _no_results(ctx: Context, label: str, page: SearchPage, offset: int) -> Reply:
    if offset and page.total:
        if page.total_is_floor:
            return Reply(header=f"No more results for “{label}”",
                         text=f"These were the best {page.total}. A more specific query finds the others.")
        return Reply(header=f"No more results for “{label}”", text=f"All {page.total} were shown already.")
    lines = []
    if page.did_you_mean:
        lines.append(f"Did you mean “{page.did_you_mean}”?")
    categories = page.categories or ctx.search.nearest_categories(label)
    if categories:
        names = ", ".join(c.id for c in categories)
        lines.append(f"Close categories: {names}. Try {ctx.command_prefix} list {categories[0].id}")
    else:
        lines.append(f"Try {ctx.command_prefix} list to see every category.")
    return Reply(header=f"No resources match “{label}”", text="\n".join(lines), results=0)


def _find_category(ctx: Context, name: str) -> Category | None:
    wanted = utils.default_process(name).replace(" ", "-")
    for category in ctx.catalog.categories:
        keys = {category.id, utils.default_process(category.title).replace(" ", "-"),
                *(utils.default_process(a).replace(" ", "-") for a in category.aliases)}
        if wanted in keys or wanted.rstrip("s") in keys or wanted + "s" in keys:
            return category
    return None


@register("list", aliases=("ls", "categories"), usage="list [category]", example="list podcasts", short="l",
          summary="The categories, or the resources of one category",
          options=(Option("category", "a category, e.g. podcasts", max_length=100, autocomplete="category"),))
def _list(command: Command, ctx: Context, call: Call) -> Reply:
    offset = call.offset
    p = ctx.command_prefix
    if not command.args:
        counts: dict[str, int] = {}
        for r in ctx.catalog.resources:
            counts[r.category] = counts.get(r.category, 0) + 1
        by_section: dict[str, list[str]] = {}
        titles = {s.id: s.title for s in ctx.catalog.sections}
        for c in ctx.catalog.categories:
            by_section.setdefault(titles.get(c.section, c.section or "Other"), []).append(
                f"{c.title} ({c.id}): {counts.get(c.id, 0)}")
        return Reply(
            header="Categories",
            fields=tuple(Field(section, "\n".join(lines)) for section, lines in by_section.items()),
            buttons=(_share(command.canonical),),
            footer=f"{p} list <category> shows one, e.g. {p} list podcasts",
        )
    category = _find_category(ctx, command.args)
    if category is None:
        near = ctx.search.nearest_categories(command.args)
        hint = f" Did you mean {', '.join(c.id for c in near)}?" if near else ""
        return _error(ctx, "No such category", f"There is no category '{truncate(command.args, 60)}'.{hint}",
                      usage="list")
    resources = ctx.catalog.in_category(category.id)
    chunk = resources[offset: offset + LIST_PAGE_SIZE]
    if not chunk:
        return Reply(header=f"No more in {category.title}", text=f"All {len(resources)} were shown already.")
    canonical = f"list {category.id}"
    buttons = [_share(canonical, offset)]
    if offset + len(chunk) < len(resources):
        buttons.append(_more(canonical, offset + len(chunk)))
    return Reply(
        header=category.title,
        text=category.description,
        items=tuple(ctx.item(r) for r in chunk),
        buttons=tuple(buttons),
        footer=f"Showing {offset + 1}–{offset + len(chunk)} of {len(resources)}",
        results=len(resources),
    )


@register("compare", aliases=("comparison", "vs"), usage="compare <topic>", example="compare feature-stores",
          short="c", summary="A comparison table, e.g. of feature stores",
          options=(Option("topic", "what to compare, e.g. feature-stores", required=True, max_length=100,
                          autocomplete="comparison"),))
def _compare(command: Command, ctx: Context, call: Call) -> Reply:
    comparisons = ctx.catalog.comparisons
    names = ", ".join(c.id for c in comparisons)
    if not comparisons:
        return Reply(header="No comparisons yet", text="This catalog has no comparison tables.")
    if not command.args:
        return _error(ctx, "Compare what?", f"I can compare: {names}.", usage="compare")
    wanted = utils.default_process(command.args)
    keys = [(utils.default_process(" ".join((c.id.replace("-", " "), c.title, *c.aliases))), c) for c in comparisons]
    match = process.extractOne(wanted, [k for k, _ in keys], scorer=fuzz.WRatio, processor=None, score_cutoff=70)
    if match is None:
        return _error(ctx, "No such comparison",
                      f"I have no comparison for '{truncate(command.args, 60)}'. I can compare: {names}.",
                      usage="compare")
    table = keys[match[2]][1]
    fields = tuple(
        Field(column.name, "\n".join(f"{row.feature}: {row.values[i]}" for row in table.rows if i < len(row.values)),
              inline=True)
        for i, column in enumerate(table.columns)
    )
    items = tuple(ctx.item(r) for col in table.columns if col.resource and (r := ctx.catalog.get(col.resource)))
    return Reply(header=table.title, fields=fields, items=items,
                 buttons=(_share(f"compare {table.id}"),),
                 footer=f"{ctx.command_prefix} resource <name> for more on any of them")


@register("path", aliases=("paths", "learning-path"), usage="path [beginner|intermediate|advanced]",
          example="path beginner", short="p", summary="A learning path, with its resources",
          options=(Option("level", "which path; leave out to see them all", choices=LEVELS),))
def _path(command: Command, ctx: Context, call: Call) -> Reply:
    paths = ctx.catalog.learning_paths
    if not paths:
        return Reply(header="No learning paths yet", text="This catalog has no learning paths.")
    if not command.args:
        fields = tuple(Field(f"{p.title} ({p.duration})" if p.duration else p.title,
                             _step_lines(p.steps, numbered=True)) for p in paths)
        return Reply(header="Learning paths", fields=fields, buttons=(_share("path"),),
                     footer=f"{ctx.command_prefix} path beginner shows one path with its resources")
    level = command.args.split()[0].lower()
    match = process.extractOne(level, list(LEVELS), scorer=fuzz.ratio, score_cutoff=60)
    path = ctx.catalog.path(match[0]) if match else None
    if path is None:
        levels = ", ".join(p.level for p in paths)
        return _error(ctx, "No such learning path", f"Pick one of: {levels}.", usage="path")
    return Reply(
        header=f"{path.title} ({path.duration})" if path.duration else path.title,
        text=_step_lines(path.steps, numbered=True),
        items=_referenced(ctx, path.steps),
        buttons=(_share(f"path {path.level}"),),
    )


@register("week", aliases=("weeks", "schedule"), usage="week [1-10]", example="week 3", short="w",
          summary="The study-schedule step of one week",
          options=(Option("number", "the week, 1 to 10; leave out for the whole schedule", kind="int",
                          min_value=1, max_value=10),))
def _week(command: Command, ctx: Context, call: Call) -> Reply:
    blocks = ctx.catalog.schedule
    if not blocks:
        return Reply(header="No study schedule yet", text="This catalog has no study schedule.")
    weeks = ctx.catalog.weeks
    span = f"{weeks[0]} to {weeks[-1]}"
    if not command.args:
        fields = tuple(Field(f"{_weeks_label(b.weeks)}: {b.title}", _step_lines(b.items, numbered=False))
                       for b in blocks)
        return Reply(header="Study schedule", fields=fields, buttons=(_share("week"),),
                     footer=f"{ctx.command_prefix} week 3 shows one week with its resources")
    token = command.args.split()[0]
    number = ascii_int(token)
    block = ctx.catalog.week(number) if number is not None else None
    if block is None:
        return _error(ctx, "No such week",
                      f"The schedule runs from week {span}; '{truncate(token, 20)}' is not one of them.", usage="week")
    return Reply(
        header=f"Week {number} ({_weeks_label(block.weeks)}): {block.title}",
        text=_step_lines(block.items, numbered=False),
        items=_referenced(ctx, block.items),
        buttons=(_share(f"week {number}"),),
    )


def _weeks_label(weeks: tuple[int, ...]) -> str:
    if len(weeks) > 1 and list(weeks) == list(range(weeks[0], weeks[-1] + 1)):
        return f"Weeks {weeks[0]}–{weeks[-1]}"
    return ("Week " if len(weeks) == 1 else "Weeks ") + ", ".join(map(str, weeks))
