"""Where the catalog lives: `--catalog`, else `MLOPS_BOT_CATALOG`, else the copy shipped in the package."""

from __future__ import annotations

from pathlib import Path

PACKAGED_CATALOG = Path(__file__).resolve().parent / "data" / "resources.yaml"


def catalog_path(explicit: Path | str | None = None) -> Path:
    return Path(explicit).expanduser() if explicit else PACKAGED_CATALOG
