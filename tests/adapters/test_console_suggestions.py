"""Suggestions at the console, as a member types them: a form asked field by field, review, edit, approve."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import BIN, clean_env


def chat(lines: list[str], tmp_path: Path) -> str:
    done = subprocess.run([BIN / "mlops-bot", "run"], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_a_suggestion_made_with_the_form_is_reviewed_edited_and_approved_at_the_console(tmp_path: Path):
    out = chat([
        "/mlops suggest",
        "javascript:alert(1)", "", "because",  # a link that may not be shown: asked again, the rest kept
        "https://example.com/guides/model-registry-basics",
        "/mlops review",
        "edit 1", "Model Registry Basics", "", "How to version and promote models",
        "/mlops approve 1 kind:tutorial category:experiment-tracking",
        "/mlops resource model registry basics",
    ], tmp_path)
    assert "Suggest a resource" in out and "Link: " in out
    assert "Please fix:" in out and "http(s)" in out
    assert "Suggestion #1 received" in out
    assert "Waiting for review: 1" in out and "type 'edit 1'" in out
    assert "Suggestion #1 saved" in out
    assert "Suggestion #1 approved" in out
    results = out.split("Resources for “model registry basics”")[1]
    assert results.lstrip("=\n").startswith("1. Model Registry Basics  <https://example.com/guides/model-registry")


def test_the_console_user_sees_a_duplicate_and_can_submit_it_anyway(tmp_path: Path):
    out = chat(["/mlops suggest https://docs.feast.dev/?utm_source=x", "anyway", "", "", "", "the docs' blog part"],
               tmp_path)
    assert "Already in the catalog" in out and "type 'anyway'" in out
    assert "Suggestion #1 received" in out
