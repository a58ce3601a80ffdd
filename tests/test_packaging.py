"""A plain (non-editable) install ships the catalog: `mlops-bot` works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def test_non_editable_install_finds_the_bundled_catalog(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(REPO)], check=True, capture_output=True, timeout=300)
    packaged = target / "bot" / "data" / "resources.yaml"
    assert packaged.is_file() and not packaged.is_symlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The installed copy must win over the checkout: run from another directory with only it on the path.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_BOT_", "PYTHON"))}
    env["PYTHONPATH"] = str(target)
    done = subprocess.run([sys.executable, "-c", "import bot.cli, sys; print(bot.cli.__file__); "
                           "sys.exit(bot.cli.main(['ask', 'resource feature-store']))"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(target))
    assert "Feast" in done.stdout
