"""The console backend: a real adapter for a local chat, `mlops-bot ask` and the tests."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from bot.core.reply import Button, ButtonAction, Reply
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
    if hints:
        lines.append("(" + "; ".join(hints) + ")")
    return "\n".join(line.rstrip() for line in lines).strip() + "\n"


class ConsoleChat:
    """One member at a terminal. `more` follows the last reply's More button."""

    def __init__(self, service: BotService, out: TextIO) -> None:
        self.service = service
        self.out = out
        self._more: Button | None = None

    def say(self, line: str) -> bool:
        """Answer one line; False when the member wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.lower() in QUIT_WORDS:
            return False
        if line.lower() == "more":
            if self._more is None:
                self.out.write("Nothing more to show. Try /mlops resource <query>.\n\n")
                return True
            request = Request(self._more.command, offset=self._more.offset)
        else:
            request = Request(line)
        reply = self.service.answer(request)
        self._more = next((b for b in reply.buttons if b.action is ButtonAction.MORE), None)
        self.out.write(render_text(reply) + "\n")
        self.out.flush()
        return True


WELCOME = ("mlops-bot console. Type /mlops help, /mlops resource feature-store, 'more' for the next page, "
           "'quit' or Ctrl-D to leave.\n")


def run_console(service: BotService, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
                history: Path | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    chat = ConsoleChat(service, stdout)
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
