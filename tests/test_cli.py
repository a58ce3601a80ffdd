"""`mlops-bot` as scripts call it: the JSON interface other tools rely on, and --help everywhere."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot import __version__
from tests.conftest import BIN, MINIMAL_CATALOG, clean_env


def cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "mlops-bot", *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env=clean_env(**env))


def test_search_json_shape():
    done = cli("search", "feature-store", "--format", "json", "--limit", "3")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == 3
    for result in results:
        assert {"id", "title", "url", "links", "kind", "score"} <= result.keys()
        assert isinstance(result["links"], list) and isinstance(result["score"], float)
    assert "feast" in [r["id"] for r in results]


def test_search_stdin_one_array_per_line_in_order():
    done = cli("search", "--stdin", "--format", "json", "--limit", "2", stdin="mlflow\n\nqqqzzzxx\ntorchserve\n")
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    arrays = [json.loads(line) for line in lines]
    assert arrays[0][0]["id"] == "mlflow"
    assert arrays[1] == [] and arrays[2] == []
    assert arrays[3][0]["id"] == "torchserve"
    assert all(len(a) <= 2 for a in arrays)


def test_search_other_catalog_by_flag_and_by_environment(write_catalog):
    path = write_catalog(MINIMAL_CATALOG)
    by_flag = json.loads(cli("search", "practical", "--format", "json", "--catalog", str(path)).stdout)
    by_env = json.loads(cli("search", "practical", "--format", "json", MLOPS_BOT_CATALOG=str(path)).stdout)
    assert [r["id"] for r in by_flag] == [r["id"] for r in by_env] == ["practical-ai"]
    assert by_flag[0]["url"] is None and by_flag[0]["links"] == []


def test_catalog_from_dotenv(write_catalog, tmp_path):
    path = write_catalog(MINIMAL_CATALOG)
    (tmp_path / ".env").write_text(f"MLOPS_BOT_CATALOG={path}\n")
    done = subprocess.run([BIN / "mlops-bot", "validate"], capture_output=True, text=True, cwd=tmp_path,
                          env=clean_env(), timeout=60)
    assert done.stdout == "OK: 2 resources, 2 categories\n"


def test_search_text_format_and_usage_errors():
    assert "Feast" in cli("search", "feast").stdout
    assert cli("search").returncode == 2
    assert cli("search", "x", "--stdin").returncode == 2
    assert cli("search", "x", "--limit", "0").returncode == 2


def test_ask_prints_one_reply():
    done = cli("ask", "/mlops", "resource", "feature-store")
    assert done.returncode == 0
    assert done.stdout.startswith("Resources for “feature-store”")


def test_version():
    assert cli("--version").stdout.strip() == f"mlops-bot {__version__}"


@pytest.mark.parametrize("command", [[], ["run"], ["ask"], ["search"], ["validate"], ["discord"],
                                     ["discord", "invite-url"]])
def test_help_everywhere(command):
    done = cli(*command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: mlops-bot")
    assert "--catalog" in done.stdout


def test_missing_catalog_is_a_clear_error():
    done = cli("ask", "help", "--catalog", "/nonexistent.yaml")
    assert done.returncode == 1
    assert "/nonexistent.yaml: file: not found" in done.stderr
    assert "Traceback" not in done.stderr
