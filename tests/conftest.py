"""Fixtures shared across the suite: the bundled catalog, a service over it, small catalogs on disk."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog import Catalog
from bot.core.catalog_loader import load_catalog
from bot.service import BotService

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(PACKAGED_CATALOG)


@pytest.fixture(scope="session")
def service(catalog: Catalog) -> BotService:
    return BotService(catalog, path=PACKAGED_CATALOG)


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[str], Path]:
    """Write a catalog file from an indented YAML string and return its path."""

    def write(text: str, name: str = "catalog.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a bot subprocess: no platform configured, nothing from the developer's shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "MLOPS_BOT_", "DATABASE_URL", "PORT"))}
    env.update(extra)
    return env


MINIMAL_CATALOG = """
version: 1
sections:
  - {id: tools-platforms, title: Tools & Platforms}
categories:
  - {id: feature-stores, title: Feature Stores, section: tools-platforms}
  - {id: podcasts, title: Podcasts, section: tools-platforms}
resources:
  - id: feast
    title: Feast
    kind: tool
    category: feature-stores
    url: https://docs.feast.dev/
    links: [{label: GitHub, url: https://github.com/feast-dev/feast}]
    summary: Open-source, cloud-agnostic feature store
    tags: [feature-store, open-source]
  - id: practical-ai
    title: Practical AI
    kind: podcast
    category: podcasts
    summary: Applied ML topics
"""
