"""The console backend: a real adapter for a local chat, `mlops-bot ask` and the tests."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from bot.core.forms import Form, FormErrors, FormSubmission
from bot.core.reply import Button, ButtonAction, Reply
from bot.log_context import request_scope
from bot.service import BotService, Request

_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
QUIT_WORDS = {"quit", "exit", ":q", "/quit", "/exit"}
WIDTH = 100


def _safe(text: str) -> str:
    """Catalog and member text may hold escape sequences; a terminal must not run them."""
    return _TERMINAL_CONTROL.sub("", text)


def render_text(reply: Reply) -> str:
    lines: list[str] = []
    header = _safe(reply.header)
    lines += [header, "=" * min(len(header), WIDTH)]
    for notice in reply.notices:
        lines.append(f"! {_safe(notice)}")
    if reply.text:
        lines += [_safe(reply.text), ""]
    for field in reply.fields:
        lines.append(f"{_safe(field.name)}:")
        lines += [f"  {_safe(line)}" for line in field.value.splitlines()]
    if reply.fields:
        lines.append("")
    for number, item in enumerate(reply.items, 1):
        title = _safe(item.title)
        lines.append(f"{number}. {title}" + (f"  <{_safe(item.url)}>" if item.url else ""))
        if item.summary:
            lines.append(f"   {_safe(item.summary)}")
        if item.meta:
            lines.append("   " + " · ".join(_safe(m) for m in item.meta))
        for link in item.links:
            lines.append(f"   - {_safe(link.label)}: {_safe(link.url)}")
    if reply.items:
        lines.append("")
    if reply.footer:
        lines.append(_safe(reply.footer))
    hints = [f"type 'more' for {b.label.lower()}" for b in reply.buttons if b.action is ButtonAction.MORE]
    hints += [f"type '{_word(b)}' to {b.label.lower()}" for b in reply.buttons if not b.action.carries_command]
    if hints:
        lines.append("(" + "; ".join(hints) + ")")
    return "\n".join(line.rstrip() for line in lines).strip() + "\n"


def _word(button: Button) -> str:
    """What to type at the console for a button that carries a reference: `approve 12`, `anyway`."""
    if button.action in (ButtonAction.ANYWAY, ButtonAction.RETRY):
        return button.action.value
    return f"{button.action.value} {button.ref}"


class ConsoleChat:
    """One member at a terminal. `more` follows the last reply's More button; a form is asked for one
    field a line (an empty line keeps what the field holds); the words a reply's buttons name press them."""

    def __init__(self, service: BotService, out: TextIO, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.service = service
        self.out = out
        self.loop = loop or asyncio.new_event_loop()
        self._more: Button | None = None
        self._buttons: dict[str, Button] = {}
        self._form: Form | None = None
        self._values: dict[str, str] = {}
        self._asking: list[str] = []

    def say(self, line: str) -> bool:
        """Answer one line; False when the member wants to leave."""
        if self._form is not None:
            self._fill(line.strip())
            return True
        line = line.strip()
        if not line:
            return True
        if line.lower() in QUIT_WORDS:
            return False
        button = self._buttons.get(" ".join(line.lower().split()))
        if button is not None:
            self._show(self._run(self.service.click(Request(""), button.action, button.ref)))
        elif line.lower() == "more":
            if self._more is None:
                self.out.write("Nothing more to show. Try /mlops resource <query>.\n\n")
                return True
            self._show(self._run(self.service.handle(Request(self._more.command, offset=self._more.offset))))
        else:
            self._show(self._run(self.service.handle(Request(line))))
        return True

    def _run(self, work: object) -> object:
        with request_scope("console"):  # the task run_until_complete makes copies the scope's context
            return self.loop.run_until_complete(work)  # type: ignore[arg-type]

    def _show(self, outcome: object) -> None:
        if isinstance(outcome, Form):
            self._open(outcome, {})
            return
        if isinstance(outcome, FormErrors):
            self.out.write("Please fix:\n" + "\n".join(f"  {line}" for line in outcome.message.splitlines()) + "\n")
            self._open(outcome.form, {f.name: f.value for f in outcome.form.fields}, only=list(outcome.errors))
            return
        assert isinstance(outcome, Reply)
        self._more = next((b for b in outcome.buttons if b.action is ButtonAction.MORE), None)
        self._buttons = {_word(b): b for b in outcome.buttons if not b.action.carries_command}
        self.out.write(render_text(outcome) + "\n")
        self.out.flush()

    def _open(self, form: Form, values: dict[str, str], only: list[str] | None = None) -> None:
        self._form, self._values = form, values
        self._asking = [f.name for f in form.fields if only is None or f.name in only]
        self.out.write(f"{_safe(form.title)}\n" + (f"{_safe(form.intro)}\n" if form.intro else ""))
        self._prompt()

    def _prompt(self) -> None:
        assert self._form is not None
        field = next(f for f in self._form.fields if f.name == self._asking[0])
        current = self._values.get(field.name, field.value)
        hint = f" [{_safe(current)}]" if current else (" (optional)" if not field.required else "")
        self.out.write(f"{_safe(field.label)}{hint}: ")
        self.out.flush()

    def _fill(self, line: str) -> None:
        assert self._form is not None
        name = self._asking.pop(0)
        field = next(f for f in self._form.fields if f.name == name)
        self._values[name] = line or self._values.get(name, field.value)
        if self._asking:
            self._prompt()
            return
        form, self._form = self._form, None
        self.out.write("\n")
        self._show(self._run(self.service.submit(Request(""), FormSubmission(form.kind, form.ref, self._values))))


WELCOME = ("mlops-bot console. Type /mlops help, /mlops resource feature-store, 'more' for the next page, "
           "'quit' or Ctrl-D to leave.\n")


def run_console(service: BotService, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
                history: Path | None = None, loop: asyncio.AbstractEventLoop | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    chat = ConsoleChat(service, stdout, loop)
    stdout.write(WELCOME + "\n")
    lines: Iterable[str] = _interactive_lines(history) if stdin.isatty() and stdout.isatty() else stdin
    for line in lines:
        if not chat.say(line):
            break
    stdout.write("Bye!\n")
    return 0


def _interactive_lines(history: Path | None) -> Iterable[str]:
    """Lines with editing and history (prompt_toolkit); Ctrl-D ends, Ctrl-C clears the line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    hist = InMemoryHistory()
    if history is not None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            hist = FileHistory(str(history))
        except OSError:
            pass
    session: PromptSession[str] = PromptSession(history=hist)
    prompt: Callable[[], str] = lambda: session.prompt("you> ")  # noqa: E731
    while True:
        try:
            yield prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
