"""The console backend, driven as a member would: `mlops-bot run` as a subprocess, lines on stdin."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.adapters.console import render_text
from bot.core.reply import Item, Reply
from tests.conftest import BIN, clean_env


def run_console(lines: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "mlops-bot", "run", *extra], input=lines, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db"))


def test_console_chat_answers_and_quits(tmp_path):
    done = run_console("/mlops resource feature-store\n/mlops week 3\nquit\n/mlops help\n", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("mlops-bot console.")
    assert "Resources for “feature-store”" in out
    for name in ("Feast", "Tecton", "Hopsworks"):
        assert name in out
    assert "Week 3 (Weeks 3–4): Feature Engineering" in out
    assert "Study schedule" not in out and "MLOps learning resources" not in out  # nothing after quit
    assert out.rstrip().endswith("Bye!")
    assert (tmp_path / "bot.db").exists()  # SQLite is the default storage


def test_console_more_follows_the_last_reply(tmp_path):
    done = run_console("resource mlops\nmore\nmore\n", tmp_path)
    assert "Showing 1–5 of" in done.stdout and "Showing 6–10 of" in done.stdout
    assert "Showing 11–15 of" in done.stdout


def test_console_ends_on_end_of_input(tmp_path):
    done = run_console("help", tmp_path)
    assert done.returncode == 0
    assert "/mlops resource <query>" in done.stdout
    assert done.stdout.rstrip().endswith("Bye!")


def test_console_friendly_on_bad_input(tmp_path):
    done = run_console("/mlops frobnicate\nmore\n\n" + "resource " + "x" * 10_000 + "\n", tmp_path)
    assert done.returncode == 0
    assert "I don't know that command" in done.stdout
    assert "Nothing more to show" in done.stdout
    assert "only its first 200 were used" in done.stdout
    assert "Traceback" not in done.stderr


def test_render_strips_terminal_escapes():
    reply = Reply(header="\x1b]0;pwned\x07Title", items=(Item(title="A\x1b[2J", url="https://x.org", summary="s\x9b"),))
    text = render_text(reply)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "1. A[2J  <https://x.org>" in text
