"""The `/mlops` command tree, its buttons, and the one place that answers interactions.

Each subcommand turns its typed options back into the text the core parses ("resource kind:paper
debt"), so Discord adds typing and autocomplete without a second grammar. Buttons carry their state
in their custom_id (`discord.ui.DynamicItem`), so they work for messages sent before a restart; so do
modals (bot.adapters.discord.modals), whose submits MlopsClient routes by custom_id.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.adapters.discord.modals import FIX_TEMPLATE, Drafts, build_modal, fix_custom_id, submitted_values
from bot.adapters.discord.render import (
    MAX_BUTTONS,
    MAX_LABEL,
    MORE_TEMPLATE,
    REF_ACTIONS,
    REF_TEMPLATE,
    SHARE_TEMPLATE,
    ButtonSpec,
    Rendered,
    decode_command,
    fit,
    render,
)
from bot.adapters.eager import run_eagerly
from bot.core.forms import Form, FormErrors, FormSubmission
from bot.core.registry import CommandSpec, Option, specs
from bot.core.reply import ButtonAction, Reply, Visibility
from bot.errors import BotError
from bot.log_context import request_scope
from bot.service import BotService, Request

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord drops an interaction that gets no first response within 3 s. Answers are CPU-only and take
# milliseconds; one still waiting (on storage, say) after this long is deferred first. 0 defers always.
DEFER_AFTER = 2.0
MAX_CHOICES = 25
MAX_CHOICE = 100  # characters in a choice's name and value
T = TypeVar("T")


class Responder:
    """Runs a command, a button or a form for an interaction and answers it: reply, modal, deferral,
    share, paging. Every interaction passes `_serves` first: with DISCORD_GUILD_ID set, the bot answers
    nothing but a refusal elsewhere, since its moderators and channels are that server's."""

    def __init__(self, service: BotService, *, defer_after: float = DEFER_AFTER, guild_id: int | None = None,
                 drafts: Drafts | None = None) -> None:
        self.service = service
        self.defer_after = defer_after
        self.guild_id = guild_id
        self.drafts = drafts or Drafts()

    # -- entry points -------------------------------------------------------------------------------

    async def command(self, interaction: discord.Interaction, text: str) -> None:
        """A slash command: a new reply, private to the asker, or the modal of the form it opens."""
        async def defer() -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)

        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            outcome, deferred = await self._run(interaction, self.service.handle(self.request(interaction, text)),
                                                defer)
            if isinstance(outcome, Form):
                await self._open_form(interaction, outcome, deferred)
                return
            await self._send_new(interaction, outcome, deferred, ephemeral=outcome.visibility is Visibility.PRIVATE)

    async def share(self, interaction: discord.Interaction, command: str | None, offset: int) -> None:
        """Share: the same reply again, this time for the whole channel."""
        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            if command is None:
                await self._share_copy(interaction)
                return

            async def defer() -> None:
                await interaction.response.defer(ephemeral=False, thinking=True)

            reply, deferred = await self._answer(interaction, command, offset, defer)
            if reply.is_error:
                # The catalog changed since (a category is gone, say): tell the asker, not the channel.
                if deferred:
                    # The channel already sees "mlops-bot is thinking…": take it away before answering.
                    await interaction.delete_original_response()
                    rendered = render(reply)
                    await interaction.followup.send(embeds=rendered.embeds, ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
                else:
                    await self._send_new(interaction, reply, deferred, ephemeral=True)
                return
            await self._send_new(interaction, reply.public(), deferred, ephemeral=False)

    async def more(self, interaction: discord.Interaction, command: str, offset: int) -> None:
        """More results: the next page replaces a private reply; under a shared one it comes privately."""
        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            in_place = _on_private_message(interaction)

            async def defer() -> None:
                if in_place:
                    await interaction.response.defer()  # "deferred update": the message stays as is meanwhile
                else:
                    await interaction.response.defer(ephemeral=True, thinking=True)

            reply, deferred = await self._answer(interaction, command, offset, defer)
            if not in_place:
                await self._send_new(interaction, reply, deferred, ephemeral=True)
                return
            await self._replace(interaction, reply, deferred)

    async def click(self, interaction: discord.Interaction, action: ButtonAction, ref: str) -> None:
        """A button that acts on `ref` (approve suggestion 42): the service decides whether the clicker may.
        A form opens as a modal, which must be the interaction's first response; a reply comes privately."""
        async def defer() -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)

        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            request = self.request(interaction)
            outcome, deferred = await self._run(interaction, self.service.click(request, action, ref), defer)
            if isinstance(outcome, Form):
                await self._open_form(interaction, outcome, deferred)
                return
            await self._send_new(interaction, outcome, deferred, ephemeral=True)

    async def submit(self, interaction: discord.Interaction, kind: str, ref: str) -> None:
        """A modal submit: the service checks it; mistakes come back privately with a button that reopens
        the modal holding the member's text, since Discord cannot keep a modal open to show them."""
        in_place = _from_fix_message(interaction)  # the errors it answers make way for the new answer

        async def defer() -> None:
            if in_place:
                await interaction.response.defer()
            else:
                await interaction.response.defer(ephemeral=True, thinking=True)

        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            values = submitted_values(interaction.data)
            request = self.request(interaction)
            outcome, deferred = await self._run(
                interaction, self.service.submit(request, FormSubmission(kind, ref, values)), defer)
            extra: list[ButtonSpec] = []
            if isinstance(outcome, FormErrors):
                outcome, extra = self._errors_reply(outcome, values, str(interaction.user.id))
            if in_place:
                await self._replace(interaction, outcome, deferred, extra)
            else:
                await self._send_new(interaction, outcome, deferred, ephemeral=True, extra=extra)

    async def reopen(self, interaction: discord.Interaction, token: str) -> None:
        """"Fix and resubmit" (or "Open the form"): the kept form again, with the member's text in it."""
        async with self._guard(interaction):
            if not await self._serves(interaction):
                return
            draft = self.drafts.get(token)
            if draft is None or draft.user_id != str(interaction.user.id):
                await self._send_new(interaction, Reply(
                    header="This form has expired",
                    text="What you typed is no longer kept (forms are kept for 30 minutes). Please start again.",
                    is_error=True), False, ephemeral=True)
                return
            await interaction.response.send_modal(build_modal(draft.form, draft.errors))

    def serves(self, interaction: discord.Interaction) -> bool:
        return self.guild_id is None or interaction.guild_id == self.guild_id

    def request(self, interaction: discord.Interaction, text: str = "", offset: int = 0) -> Request:
        """Who asks, as the core's permission checks see them: the member's id, name and role ids."""
        user = interaction.user
        # In a server, interaction.user is a Member with its roles; in a DM a User, with none.
        roles = frozenset(str(role.id) for role in user.roles) if isinstance(user, discord.Member) else frozenset()
        return Request(text=text, platform="discord", user_id=str(user.id),
                       channel_id=str(interaction.channel_id) if interaction.channel_id else None,
                       offset=offset, user_name=user.display_name, roles=roles)

    # -- helpers ------------------------------------------------------------------------------------

    async def _serves(self, interaction: discord.Interaction) -> bool:
        if self.serves(interaction):
            return True
        log.info("discord: refused an interaction from %s (this bot serves guild %s)",
                 f"guild {interaction.guild_id}" if interaction.guild_id else "a DM", self.guild_id)
        rendered = render(Reply(header="This bot serves another server",
                                text="Its commands, buttons and forms work only in the server it was set up for.",
                                is_error=True))
        await interaction.response.send_message(embeds=rendered.embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return False

    async def _answer(self, interaction: discord.Interaction, text: str, offset: int,
                      defer: Callable[[], Awaitable[None]]) -> tuple[Reply, bool]:
        outcome, deferred = await self._run(
            interaction, self.service.handle(self.request(interaction, text, offset)), defer)
        if isinstance(outcome, Form):
            # Share and More re-run commands that answered with a reply before; one that opens a form
            # now has nothing to page or share.
            outcome = Reply(header="Sorry", text="This button has nothing to show any more.", is_error=True)
        return outcome, deferred

    async def _run(self, interaction: discord.Interaction, work: Coroutine[Any, Any, T],
                   defer: Callable[[], Awaitable[None]]) -> tuple[T | Reply, bool]:
        """`work`'s outcome, deferring the interaction first when it takes longer than `defer_after`."""
        if self.defer_after <= 0:  # "always defer": for hosts known to be slow
            await defer()
            deferred = True
            task = asyncio.ensure_future(work)
        else:
            # A CPU-only answer completes in its first step, right here; an answer that waits on I/O for
            # too long gets deferred while it waits.
            task = run_eagerly(work)
            if not task.done():
                await asyncio.wait({task}, timeout=self.defer_after)
            deferred = not task.done()
            if deferred:
                await defer()
        try:
            return await task, deferred
        except BotError as exc:
            log.error("discord: command failed: %s", exc)
            return Reply(header="Sorry", text=exc.user_message, is_error=True), deferred

    async def _open_form(self, interaction: discord.Interaction, form: Form, deferred: bool) -> None:
        if not deferred:
            await interaction.response.send_modal(build_modal(form))
            return
        # A modal can only be the first response, and this interaction was deferred while the form was
        # being prepared: offer a button whose click (a new interaction) opens it at once.
        token = self.drafts.keep(form, {}, str(interaction.user.id))
        reply = Reply(header=fit(form.title, MAX_LABEL) or "Your form", text="The form is ready.")
        await self._send_new(interaction, reply, deferred, ephemeral=True,
                             extra=[ButtonSpec("Open the form", fix_custom_id(token), ButtonAction.RETRY,
                                               discord.ButtonStyle.primary)])

    def _errors_reply(self, errors: FormErrors, values: dict[str, str], user_id: str
                      ) -> tuple[Reply, list[ButtonSpec]]:
        typed = {f.name: values[f.name] for f in errors.form.fields if f.name in values and not f.value}
        form = errors.form.with_values(typed)  # what the member typed, wherever the handler left it out
        token = self.drafts.keep(form, errors.errors, user_id)
        reply = Reply(header="Please fix the form", text=errors.message or "Something in the form needs fixing.",
                      is_error=True, footer="What you typed is kept for 30 minutes.")
        return reply, [ButtonSpec("Fix and resubmit", fix_custom_id(token), ButtonAction.RETRY,
                                  discord.ButtonStyle.primary)]

    async def _send_new(self, interaction: discord.Interaction, reply: Reply, deferred: bool, *,
                        ephemeral: bool, extra: list[ButtonSpec] | None = None) -> None:
        rendered = self._rendered(reply, extra)
        view = build_view(rendered)
        if deferred:
            await interaction.edit_original_response(embeds=rendered.embeds, view=view, allowed_mentions=NO_MENTIONS)
            return
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        await interaction.response.send_message(embeds=rendered.embeds, ephemeral=ephemeral,
                                                allowed_mentions=NO_MENTIONS, **kwargs)

    async def _replace(self, interaction: discord.Interaction, reply: Reply, deferred: bool,
                       extra: list[ButtonSpec] | None = None) -> None:
        """The reply replaces the (private) message the interaction came from."""
        rendered = self._rendered(reply, extra)
        if deferred:
            await interaction.edit_original_response(embeds=rendered.embeds, view=build_view(rendered),
                                                     allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.edit_message(embeds=rendered.embeds, view=build_view(rendered),
                                                    allowed_mentions=NO_MENTIONS)

    @staticmethod
    def _rendered(reply: Reply, extra: list[ButtonSpec] | None) -> Rendered:
        """`reply` rendered, with buttons of the adapter's own (reopen a kept form) first."""
        rendered = render(reply)
        if not extra:
            return rendered
        return Rendered(rendered.embeds, [*extra, *rendered.buttons][:MAX_BUTTONS])

    async def _share_copy(self, interaction: discord.Interaction) -> None:
        """The command was too long for the custom_id: post the embeds of the message itself."""
        embeds = interaction.message.embeds if interaction.message is not None else []
        if not embeds:
            await interaction.response.send_message("There is nothing to share.", ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        await interaction.response.send_message(embeds=embeds[:10], allowed_mentions=NO_MENTIONS)

    def _guard(self, interaction: discord.Interaction) -> _Guard:
        return _Guard(interaction)


class _Guard:
    """Whatever goes wrong, the member gets an answer rather than Discord's "interaction failed"."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        # Every log line this interaction causes carries one request id (bot.log_context).
        self._scope = request_scope("discord")

    async def __aenter__(self) -> None:
        self._scope.__enter__()
        return None

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> bool:
        try:
            return await self._answer_failure(exc)
        finally:
            self._scope.__exit__(None, None, None)

    async def _answer_failure(self, exc: BaseException | None) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        log.exception("discord: answering an interaction failed", exc_info=exc)
        rendered = render(Reply(header="Sorry", text=BotError.user_message, is_error=True))
        try:
            if self.interaction.response.is_done():
                await self.interaction.followup.send(embeds=rendered.embeds, ephemeral=True,
                                                     allowed_mentions=NO_MENTIONS)
            else:
                await self.interaction.response.send_message(embeds=rendered.embeds, ephemeral=True,
                                                             allowed_mentions=NO_MENTIONS)
        except (discord.HTTPException, OSError) as again:
            log.warning("discord: could not even report the failure: %s", again)
        return True


# -- buttons ----------------------------------------------------------------------------------------

def _responder(interaction: discord.Interaction) -> Responder:
    return interaction.client.responder  # type: ignore[attr-defined]  # set by MlopsClient


class ShareButton(discord.ui.DynamicItem[discord.ui.Button], template=SHARE_TEMPLATE):
    def __init__(self, custom_id: str, label: str = "Share in channel") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.primary, custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: Any) -> ShareButton:
        return cls(match.group(0), getattr(item, "label", None) or "Share in channel")

    async def callback(self, interaction: discord.Interaction) -> None:
        match = self.template.fullmatch(self.custom_id)
        if match is None:
            return
        command = decode_command(match["command"]) if match["command"] else None
        await _responder(interaction).share(interaction, command, int(match["offset"] or 0))


class MoreButton(discord.ui.DynamicItem[discord.ui.Button], template=MORE_TEMPLATE):
    def __init__(self, custom_id: str, label: str = "More results") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: Any) -> MoreButton:
        return cls(match.group(0), getattr(item, "label", None) or "More results")

    async def callback(self, interaction: discord.Interaction) -> None:
        match = self.template.fullmatch(self.custom_id)
        if match is None:
            return
        await _responder(interaction).more(interaction, decode_command(match["command"]), int(match["offset"]))


class RefButton(discord.ui.DynamicItem[discord.ui.Button], template=REF_TEMPLATE):
    """Approve, Reject, Edit…: `mlops:<code>:<ref>`. The id names what to act on, never who may."""

    def __init__(self, custom_id: str, label: str = "Open", style: discord.ButtonStyle = discord.ButtonStyle.secondary
                 ) -> None:
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: Any) -> RefButton:
        return cls(match.group(0), getattr(item, "label", None) or "Open",
                   getattr(item, "style", None) or discord.ButtonStyle.secondary)

    async def callback(self, interaction: discord.Interaction) -> None:
        match = self.template.fullmatch(self.custom_id)
        if match is None:
            return
        await _responder(interaction).click(interaction, REF_ACTIONS[match["code"]], match["ref"])


class FixButton(discord.ui.DynamicItem[discord.ui.Button], template=FIX_TEMPLATE):
    """Reopens a form the member must fix (or could not open at once): `mlops:x:<token>` of a kept draft."""

    def __init__(self, custom_id: str, label: str = "Fix and resubmit") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.primary, custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: Any) -> FixButton:
        return cls(match.group(0), getattr(item, "label", None) or "Fix and resubmit")

    async def callback(self, interaction: discord.Interaction) -> None:
        match = self.template.fullmatch(self.custom_id)
        if match is None:
            return
        await _responder(interaction).reopen(interaction, match["token"])


def _on_private_message(interaction: discord.Interaction) -> bool:
    message = interaction.message
    return message is not None and message.flags.ephemeral


def _from_fix_message(interaction: discord.Interaction) -> bool:
    """Whether the interaction comes from our own private "Fix and resubmit" (or "Open the form") message.
    A modal opened from any other message (a private review list, say) leaves that message as it is."""
    message = interaction.message
    if message is None or not message.flags.ephemeral:
        return False
    return any(FIX_TEMPLATE.fullmatch(getattr(child, "custom_id", None) or "")
               for row in message.components for child in getattr(row, "children", ()))


def build_view(rendered: Rendered) -> discord.ui.View | None:
    if not rendered.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in rendered.buttons:
        view.add_item(_button(spec))
    return view


def _button(spec: ButtonSpec) -> discord.ui.Item[Any]:
    if spec.action is ButtonAction.SHARE:
        return ShareButton(spec.custom_id, spec.label)
    if spec.action is ButtonAction.MORE:
        return MoreButton(spec.custom_id, spec.label)
    if FIX_TEMPLATE.fullmatch(spec.custom_id):
        return FixButton(spec.custom_id, spec.label)
    return RefButton(spec.custom_id, spec.label, spec.style)


# -- the command group ------------------------------------------------------------------------------



def _choice(name: str, value: str) -> Choice[str] | None:
    name, value = fit(name.strip(), MAX_CHOICE), value.strip()[:MAX_CHOICE]
    return Choice(name=name, value=value) if name and value else None


def _choices(pairs: list[tuple[str, str]]) -> list[Choice[str]]:
    seen: set[str] = set()
    out: list[Choice[str]] = []
    for name, value in pairs:
        choice = _choice(name, value)
        if choice is None or choice.value in seen:
            continue
        seen.add(choice.value)
        out.append(choice)
        if len(out) == MAX_CHOICES:
            break
    return out


def _matches(current: str, *texts: str) -> bool:
    wanted = current.strip().lower()
    return not wanted or any(wanted in t.lower() for t in texts)


class MlopsGroup(app_commands.Group):
    """`/mlops <subcommand>`: one subcommand per command of the registry (bot.core.registry), its options
    typed as the registry declares them, each turned back into the text the core parses."""

    def __init__(self, responder: Responder, *, name: str = "mlops") -> None:
        super().__init__(name=name, description="MLOps learning resources: search, browse, compare, learn")
        self.responder = responder
        for command_spec in specs():
            self.add_command(self._subcommand(command_spec))

    @property
    def service(self) -> BotService:
        return self.responder.service

    def _subcommand(self, command_spec: CommandSpec) -> app_commands.Command[Any, ..., None]:
        responder = self.responder

        async def callback(interaction: discord.Interaction, **values: Any) -> None:
            await responder.command(interaction, command_spec.text(values))

        # discord.py reads a command's options from its callback's signature: this one is built from the
        # registry's options, so that a new command needs no code here.
        parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        annotation=discord.Interaction)]
        for option in command_spec.options:
            parameters.append(inspect.Parameter(
                option.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None))
        callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        callback.__name__ = callback.__qualname__ = f"mlops_{command_spec.name}"
        choices = {o.name: [Choice(name=c.replace("-", " "), value=c) for c in o.choices][:MAX_CHOICES]
                   for o in command_spec.options if o.choices}
        if choices:
            callback = app_commands.choices(**choices)(callback)
        callback = app_commands.describe(**{o.name: o.description[:100] for o in command_spec.options})(callback)
        command = app_commands.Command(name=command_spec.name, description=command_spec.summary[:100],
                                       callback=callback)
        for option in command_spec.options:
            if option.autocomplete:
                command.autocomplete(option.name)(self._completer(option.autocomplete))
        return command

    def _completer(self, what: str) -> Callable[[discord.Interaction, str], Awaitable[list[Choice[str]]]]:
        async def complete(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
            if not self.responder.serves(interaction):
                return []  # another server: an autocomplete has no way to say so, and nothing else happens
            try:
                return self._complete(what, current)
            except Exception:  # an autocomplete must answer something, always
                log.exception("discord: autocomplete failed")
                return []

        return complete

    def _complete(self, what: str, current: str) -> list[Choice[str]]:
        if what == "query":
            completions = self.service.search.complete(current[:100], limit=MAX_CHOICES)
            return _choices([(c.label, c.value) for c in completions])
        if what == "category":
            return _choices([(f"{c.title} ({c.id})", c.id) for c in self.service.catalog.categories
                             if _matches(current, c.id, c.title, *c.aliases)])
        if what == "comparison":
            return _choices([(c.title, c.id) for c in self.service.catalog.comparisons
                             if _matches(current, c.id, c.title, *c.aliases)])
        return []


def _annotation(option: Option) -> Any:
    if option.kind == "int":
        low = option.min_value if option.min_value is not None else -(2 ** 53)
        high = option.max_value if option.max_value is not None else 2 ** 53
        return app_commands.Range[int, low, high]
    return app_commands.Range[str, 1, option.max_length]


def group_name(command_name: str) -> str:
    """MLOPS_BOT_COMMAND ("/mlops") as a Discord command name; Discord wants 1-32 lowercase word characters."""
    name = command_name.strip().lstrip("/").lower()
    if name and len(name) <= 32 and all(ch.isalnum() or ch in "-_" for ch in name):
        return name
    log.warning("discord: MLOPS_BOT_COMMAND is not a valid Discord command name; using /mlops")
    return "mlops"


def build_tree(client: discord.Client, responder: Responder, *, guild_id: int | None,
               name: str = "mlops") -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)
    tree.add_command(MlopsGroup(responder, name=name),
                     guild=discord.Object(id=guild_id) if guild_id is not None else None)
    return tree


def command_payload(tree: app_commands.CommandTree, guild_id: int | None) -> list[dict[str, Any]]:
    """What `tree.sync()` sends for this scope: the definitions whose hash decides whether to sync."""
    guild = discord.Object(id=guild_id) if guild_id is not None else None
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
