"""The interactive console on a real pseudo-terminal: line editing, history, Ctrl-D."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.conftest import BIN, clean_env

PROMPT = b"you>"


class Terminal:
    """`mlops-bot run` on a pty, read and typed to as a person at a terminal would."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, slave = pty.openpty()
        env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db", HOME=str(tmp_path), TERM="xterm",
                        PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40")
        self.proc = subprocess.Popen([BIN / "mlops-bot", "run"], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, cwd=tmp_path, close_fds=True)
        os.close(slave)
        self.seen = b""

    def _read_some(self) -> None:
        ready, _, _ = select.select([self.master], [], [], 0.2)
        if ready:
            with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
                self.seen += os.read(self.master, 65536)

    def read_until(self, needle: bytes, count: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.seen.count(needle) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} x{count} not seen; got {self.seen[-1500:]!r}")
            self._read_some()

    def read_prompt_after(self, answer: bytes, timeout: float = 20) -> None:
        """Wait for a fresh prompt after the last `answer`: only then is the terminal back in raw mode
        (the prompt is redrawn on every key, so counting prompts would not do)."""
        deadline = time.monotonic() + timeout
        while PROMPT not in self.seen[self.seen.rfind(answer):]:
            if time.monotonic() > deadline:
                raise AssertionError(f"no prompt after {answer!r}; got {self.seen[-800:]!r}")
            self._read_some()

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> int:
        """Wait for the exit while draining output, so that a full terminal buffer cannot block it."""
        try:
            deadline = time.monotonic() + 20
            while self.proc.poll() is None and time.monotonic() < deadline:
                self._read_some()
            return self.proc.wait(timeout=1)
        finally:
            os.close(self.master)


def test_line_editing_history_and_ctrl_d(tmp_path):
    term = Terminal(tmp_path)
    answer = b"Week 3 (Weeks 3"
    try:
        term.read_until(PROMPT)
        # A typo, fixed in place: three steps left with the arrow key, then the missing letters.
        term.type(b"/mlops wk 3\x1b[D\x1b[D\x1b[Dee\r")
        term.read_until(answer)
        assert b"INFO" not in term.seen  # log lines stay out of the chat
        term.read_prompt_after(answer)
        term.type(b"\x1b[A\r")  # arrow up: the same line again, from history
        term.read_until(answer, count=2)
        term.read_prompt_after(answer)
        term.type(b"\x04")  # Ctrl-D leaves
        assert term.close() == 0, term.seen[-500:]
        assert b"Bye!" in term.seen
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    # Kept across sessions; prompt_toolkit stores a line repeated from history once.
    assert (tmp_path / ".mlops_bot_history").read_text().count("/mlops week 3") == 1
