"""Where the catalog lives: `--catalog`, else `MLOPS_BOT_CATALOG`, else the copy shipped in the package."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED_CATALOG = Path(__file__).resolve().parent / "data" / "resources.yaml"
CATALOG_VARIABLE = "MLOPS_BOT_CATALOG"


def catalog_path(explicit: Path | str | None = None) -> Path:
    return Path(explicit).expanduser() if explicit else PACKAGED_CATALOG


DEFAULT_DATABASE_URL = "sqlite:///var/mlops-bot.db"  # also Settings' default


def setting_from_environment(name: str, env_file: Path = Path(".env")) -> str | None:
    """One setting from the environment or `.env`, read the way `Settings` reads it.

    One-shot commands use this instead of the full `Settings`, whose import dominates their start-up.
    The environment wins over `.env`, and a blank value means unset, as in `Settings`.
    """
    value = os.environ.get(name)
    if value is None and env_file.is_file():
        from dotenv import dotenv_values  # the .env parser pydantic-settings itself uses

        from bot.env_file import check_env_file

        check_env_file(env_file)
        value = dotenv_values(env_file).get(name)
    return value.strip() if value and value.strip() else None


def catalog_from_environment(env_file: Path = Path(".env")) -> Path | None:
    value = setting_from_environment(CATALOG_VARIABLE, env_file)
    return Path(value).expanduser() if value else None


def database_url_from_environment(env_file: Path = Path(".env")) -> str:
    return setting_from_environment("DATABASE_URL", env_file) or DEFAULT_DATABASE_URL
