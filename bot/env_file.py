"""The `.env` file, checked before pydantic-settings or python-dotenv read it: both decode it as
UTF-8 and would end the bot with a UnicodeDecodeError traceback that names neither file nor line."""

from __future__ import annotations

from pathlib import Path

from bot.errors import ConfigError


def check_env_file(path: Path) -> None:
    """Raise ConfigError naming the file and line of the first byte that is not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        # Never the line itself: it may be a secret.
        raise ConfigError(f"{path}:{line}: byte 0x{data[exc.start]:02x} at column {column} is not UTF-8; "
                          "save the file as UTF-8", user_message=f"{path} is not UTF-8 (line {line}).") from None
