"""Where the catalog lives: `--catalog`, else `MLOPS_BOT_CATALOG`, else the copy shipped in the package."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED_CATALOG = Path(__file__).resolve().parent / "data" / "resources.yaml"
CATALOG_VARIABLE = "MLOPS_BOT_CATALOG"


def catalog_path(explicit: Path | str | None = None) -> Path:
    return Path(explicit).expanduser() if explicit else PACKAGED_CATALOG


def catalog_from_environment(env_file: Path = Path(".env")) -> Path | None:
    """`MLOPS_BOT_CATALOG` from the environment or `.env`, read the way `Settings` reads it.

    One-shot commands use this instead of the full `Settings`, whose import dominates their start-up.
    The environment wins over `.env`, and a blank value means unset, as in `Settings`.
    """
    value = os.environ.get(CATALOG_VARIABLE)
    if value is None and env_file.is_file():
        from dotenv import dotenv_values  # the .env parser pydantic-settings itself uses

        from bot.env_file import check_env_file

        check_env_file(env_file)
        value = dotenv_values(env_file).get(CATALOG_VARIABLE)
    return Path(value.strip()).expanduser() if value and value.strip() else None
