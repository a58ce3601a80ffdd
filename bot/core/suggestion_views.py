"""What members and moderators see of suggestions: forms, acknowledgements, review posts, DMs. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.catalog import KINDS, Catalog
from bot.core.forms import Form, FormField
from bot.core.items import resource_item
from bot.core.reply import Button, ButtonAction, Field, Item, Reply, Visibility
from bot.core.suggestions import APPROVED, MAX_NOTE, MAX_REASON, MAX_SUMMARY, MAX_TITLE, MAX_WHY, PENDING, Duplicate
from bot.core.text import truncate

REVIEW_PAGE = 5


@dataclass(frozen=True)
class SuggestionView:
    """A stored suggestion as the views need it (the app layer fills it from its row)."""

    number: int
    url: str
    title: str
    why: str
    note: str
    state: str
    suggested_by: str
    created_at: dt.datetime
    duplicate_of: str | None = None
    kind: str | None = None
    category: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    resource_id: str | None = None
    summary: str | None = None


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%-d %b %Y %H:%M UTC") if moment else ""


# -- forms ------------------------------------------------------------------------------------------

def suggest_form(url: str = "", title: str = "", why: str = "") -> Form:
    return Form(kind="suggest", title="Suggest a resource", submit="Suggest", fields=(
        FormField("url", "Link", url, placeholder="https://…", max_length=2000),
        FormField("title", "Title", title, placeholder="Taken from the link when empty", required=False,
                  max_length=MAX_TITLE),
        FormField("why", "Why is it worth learning from?", why, required=False, max_length=MAX_WHY, multiline=True),
    ), intro="Moderators review every suggestion; you get a direct message with their decision.")


def anyway_form(url: str, title: str, why: str, duplicate: str) -> Form:
    return Form(kind="anyway", title="Submit anyway", submit="Submit", fields=(
        FormField("url", "Link", url, max_length=2000),
        FormField("title", "Title", title, max_length=MAX_TITLE),
        FormField("why", "Why is it worth learning from?", why, required=False, max_length=MAX_WHY, multiline=True),
        FormField("note", "How is it different?", "", placeholder=f"Not the same as {truncate(duplicate, 60)} because…",
                  max_length=MAX_NOTE, multiline=True),
    ), intro=f"It looked like {truncate(duplicate, 120)}. Tell the moderators how it differs.")


def approve_form(view: SuggestionView, kind: str, category: str, catalog: Catalog) -> Form:
    categories = tuple(c.id for c in catalog.categories)
    return Form(kind="approve", ref=str(view.number), title=f"Approve #{view.number}"[:24], submit="Approve",
                fields=(
                    FormField("kind", "Kind", kind, placeholder=", ".join(KINDS)[:100], max_length=40,
                              choices=KINDS),
                    FormField("category", "Category", category, placeholder=truncate(", ".join(categories), 100),
                              max_length=100, choices=categories),
                    FormField("title", "Title", view.title, max_length=MAX_TITLE),
                    FormField("summary", "One-line summary", view.summary or view.why.split("\n")[0][:MAX_SUMMARY],
                              required=False, max_length=MAX_SUMMARY, multiline=True),
                ), intro=f"{truncate(view.title, 100)} <{truncate(view.url, 200)}>")


def reject_form(view: SuggestionView) -> Form:
    return Form(kind="reject", ref=str(view.number), title=f"Reject #{view.number}"[:24], submit="Reject", fields=(
        FormField("reason", "Reason (sent to the member)", "", max_length=MAX_REASON, multiline=True),
    ), intro=truncate(view.title, 200))


def edit_form(view: SuggestionView) -> Form:
    return Form(kind="edit", ref=str(view.number), title=f"Edit #{view.number}"[:24], submit="Save", fields=(
        FormField("title", "Title", view.title, max_length=MAX_TITLE),
        FormField("url", "Link", view.url, max_length=2000),
        FormField("summary", "One-line summary", view.summary or "", required=False, max_length=MAX_SUMMARY,
                  multiline=True),
    ))


# -- replies to the member --------------------------------------------------------------------------

def acknowledged(view: SuggestionView, *, again: bool = False) -> Reply:
    if again:
        text = (f"You suggested this already: it is suggestion #{view.number}, "
                f"{'waiting for review' if view.state == PENDING else view.state}.")
    else:
        text = (f"Thanks! Your suggestion is #{view.number}. The moderators will review it, and I will send you "
                "a direct message with their decision.")
    return Reply(header=f"Suggestion #{view.number} received" if not again else f"Suggestion #{view.number}",
                 text=text, items=(Item(view.title, view.url, view.why[:300]),))


def duplicate_of_resource(duplicate: Duplicate, draft_ref: str, prefix: str) -> Reply:
    how = "has this link already" if duplicate.exact else "has a resource with a very similar title"
    return Reply(
        header="Already in the catalog",
        text=f"The catalog {how}: {duplicate.resource.title}. If yours really is a different resource, "
             "press “Submit anyway” and say how it differs.",
        items=(resource_item(duplicate.resource),),
        buttons=(Button("Submit anyway", ButtonAction.ANYWAY, ref=draft_ref),),
        footer=f"{prefix} resource {truncate(duplicate.resource.title, 60)} shows it",
    )


def duplicate_of_suggestion(view: SuggestionView, draft_ref: str) -> Reply:
    what = "is waiting for review" if view.state == PENDING else "was approved"
    return Reply(
        header=f"Already suggested as #{view.number}",
        text=f"Suggestion #{view.number} has this link and {what}. If yours is a different resource, press "
             "“Submit anyway” and say how it differs.",
        items=(Item(view.title, view.url),),
        buttons=(Button("Submit anyway", ButtonAction.ANYWAY, ref=draft_ref),),
    )


def fix_these(problems: tuple[tuple[str, str], ...], prefix: str, draft_ref: str | None = None) -> Reply:
    labels = {"url": "Link", "title": "Title", "why": "Why", "note": "Note"}
    fields = tuple(Field(labels.get(name, name), text) for name, text in problems)
    buttons = (Button("Fix and resubmit", ButtonAction.RETRY, ref=draft_ref),) if draft_ref else ()
    return Reply(header="Please fix your suggestion", text="Nothing was saved yet; what you typed is kept.",
                 fields=(*fields, Field("Usage", f"{prefix} suggest <url> [title] [| why]")), buttons=buttons,
                 is_error=True)


def limit_reached(limit: int, again_at: dt.datetime) -> Reply:
    return Reply(header="That's enough for today",
                 text=f"You can make {limit} suggestions a day and have made {limit} in the last 24 hours. "
                      f"You can suggest again from {_when(again_at)}. Thank you for all of them!", is_error=True)


# -- moderators -------------------------------------------------------------------------------------

def review_buttons(number: int, *, numbered: bool = False) -> tuple[Button, ...]:
    tail = f" #{number}" if numbered else ""
    return (Button(f"Approve{tail}", ButtonAction.APPROVE, ref=str(number)),
            Button(f"Reject{tail}", ButtonAction.REJECT, ref=str(number)),
            Button(f"Edit{tail}", ButtonAction.EDIT, ref=str(number)))


def _facts(view: SuggestionView) -> tuple[Field, ...]:
    fields = [Field("Suggested by", f"{view.suggested_by} on {_when(view.created_at)}", inline=True)]
    if view.kind or view.category:
        fields.append(Field("Proposed", f"{view.kind or '?'} in {view.category or '?'}", inline=True))
    if view.why:
        fields.append(Field("Why", view.why))
    if view.duplicate_of:
        fields.append(Field("Looks like", view.duplicate_of))
    if view.note:
        fields.append(Field("How it differs", view.note))
    return tuple(fields)


def review_post(view: SuggestionView) -> Reply:
    """The post in the review channel: public there, with one-click Approve / Reject / Edit."""
    return Reply(header=f"Suggestion #{view.number}: {view.title}", items=(Item(view.title, view.url),),
                 fields=_facts(view), buttons=review_buttons(view.number), visibility=Visibility.PUBLIC)


def decided_post(view: SuggestionView) -> Reply:
    """The review post once decided: who decided what, and no buttons left."""
    if view.state == APPROVED:
        line = f"Approved by {view.decided_by} on {_when(view.decided_at)} as {view.kind} in {view.category}."
    else:
        line = f"Rejected by {view.decided_by} on {_when(view.decided_at)}: {view.reason or 'no reason given'}"
    return Reply(header=f"Suggestion #{view.number}: {view.title}", text=line, items=(Item(view.title, view.url),),
                 fields=_facts(view), visibility=Visibility.PUBLIC)


def decision_message(view: SuggestionView, prefix: str) -> Reply:
    """The DM to the member who suggested it."""
    if view.state == APPROVED:
        return Reply(header=f"Your suggestion #{view.number} was approved",
                     text=f"Thank you! “{view.title}” is in the catalog now. "
                          f"{prefix} resource {truncate(view.title, 60)} finds it.",
                     items=(Item(view.title, view.url),))
    return Reply(header=f"Your suggestion #{view.number} was not added",
                 text=f"The moderators decided not to add “{view.title}”. Their reason: {view.reason}",
                 items=(Item(view.title, view.url),))


def already_decided(view: SuggestionView) -> Reply:
    return Reply(header=f"Suggestion #{view.number} is decided already",
                 text=f"{view.decided_by} {view.state} it on {_when(view.decided_at)}; nothing was changed.",
                 is_error=True)


def decided(view: SuggestionView) -> Reply:
    verb = "approved" if view.state == APPROVED else "rejected"
    return Reply(header=f"Suggestion #{view.number} {verb}",
                 text=(f"“{view.title}” is in the catalog as {view.resource_id}, searchable now."
                       if view.state == APPROVED else f"The member is told why: {view.reason}"))


def not_found(number: int) -> Reply:
    return Reply(header="No such suggestion", text=f"There is no suggestion #{number}.", is_error=True)


def pending_page(views: list[SuggestionView], total: int, offset: int, prefix: str) -> Reply:
    if not views:
        return Reply(header="Nothing to review", text="No suggestion is waiting for review." if not offset
                     else f"All {total} were shown already.")
    lines = [Field(f"#{v.number} {truncate(v.title, 80)}",
                   f"{truncate(v.url, 200)}\nby {v.suggested_by} on {_when(v.created_at)}"
                   + (f"\nlooks like {v.duplicate_of}" if v.duplicate_of else "")) for v in views]
    buttons = [b for v in views for b in review_buttons(v.number, numbered=True)]
    if offset + len(views) < total:
        buttons.append(Button("More results", ButtonAction.MORE, "review", offset + len(views)))
    return Reply(header=f"Waiting for review: {total}", fields=tuple(lines), buttons=tuple(buttons),
                 footer=f"Showing {offset + 1}–{offset + len(views)} of {total}, oldest first · "
                        f"{prefix} approve N [kind:K] [category:C] · {prefix} reject N <reason>")
