"""Rules that keep the code easy to change, checked over the whole codebase."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN_IN_CORE = ("slack_bolt", "slack_sdk", "discord", "aiohttp", "sqlalchemy", "psycopg", "sqlite3",
                     "bot.adapters", "bot.storage", "bot.service", "bot.cli", "bot.settings", "pydantic")
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "discord", "aiohttp")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((REPO / "bot" / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_sdk_driver_or_outer_layer(path):
    bad = {name for name in imports_of(path) for f in FORBIDDEN_IN_CORE if name == f or name.startswith(f + ".")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_adapters_do_not_import_each_other():
    adapters = REPO / "bot" / "adapters"
    for package in ("slack", "discord"):
        other = "discord" if package == "slack" else "slack"
        for path in (adapters / package).rglob("*.py"):
            assert not any(n.startswith(f"bot.adapters.{other}") for n in imports_of(path)), path


def loaded_modules(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_core_and_cli_loads_no_platform_sdk():
    modules = loaded_modules(
        "import bot.core.handlers, bot.core.catalog_loader, bot.service, bot.cli, bot.runner, bot.settings\n"
        "from bot.service import BotService, Request\n"
        "from bot.catalog_file import PACKAGED_CATALOG\n"
        "BotService.from_file(PACKAGED_CATALOG).answer(Request('resource feature-store'))"
    )
    loaded = {m for m in modules for sdk in PLATFORM_SDKS if m == sdk or m.startswith(sdk + ".")}
    assert not loaded


def test_one_shot_commands_do_not_load_settings_or_a_platform_sdk(tmp_path):
    # They do read the database (approved resources are part of the catalog), but not every setting.
    modules = loaded_modules(f"import os\nos.environ['DATABASE_URL'] = 'sqlite:///{tmp_path}/x.db'\n"
                             "from bot.cli import main\nmain(['ask', 'help'])")
    assert "pydantic_settings" not in modules
    assert not {m for m in modules for sdk in PLATFORM_SDKS if m == sdk or m.startswith(sdk + ".")}


def test_nothing_reads_the_shared_folder():
    for path in [*REPO.glob("bot/**/*.py"), *REPO.glob("tests/**/*.py"), *REPO.glob("bench/**/*.py"),
                 REPO / "Makefile", REPO / ".ci" / "run"]:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/seed" not in text and "shared/eval" not in text, path


def test_catalog_ships_with_the_package():
    # data/resources.yaml is the file contributors edit; it must be the one inside the package.
    assert (REPO / "data" / "resources.yaml").resolve() == (REPO / "bot" / "data" / "resources.yaml").resolve()
