"""Typed settings, read once in `main()` from the environment and `.env`, then passed down.

Secrets are `SecretStr`: their repr and str are masked, so logging a Settings object leaks nothing.
Every setting is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True, frozen=True,
    )

    catalog: Path | None = Field(None, validation_alias=AliasChoices("MLOPS_BOT_CATALOG", "catalog"))
    database_url: str = Field("sqlite:///var/mlops-bot.db",
                              validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    command_name: str = Field("/mlops", validation_alias=AliasChoices("MLOPS_BOT_COMMAND", "command_name"))

    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_api_url: str | None = Field(None, validation_alias=AliasChoices("SLACK_API_URL"))
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("HOST", "host"))
    port: int = Field(3000, ge=0, le=65535, validation_alias=AliasChoices("PORT", "port"))

    discord_token: SecretStr | None = Field(None, validation_alias=AliasChoices("DISCORD_TOKEN"))
    discord_guild_id: int | None = Field(None, validation_alias=AliasChoices("DISCORD_GUILD_ID"))
    discord_application_id: int | None = Field(None, validation_alias=AliasChoices("DISCORD_APPLICATION_ID"))
    discord_api_url: str | None = Field(None, validation_alias=AliasChoices("DISCORD_API_URL"))

    @field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "discord_token", "slack_api_url",
        "discord_api_url", "catalog", "discord_guild_id", "discord_application_id", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `SLACK_BOT_TOKEN=`: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def slack_http_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret and not self.slack_app_token)

    @property
    def slack_socket_configured(self) -> bool:
        return bool(self.slack_bot_token and self.slack_app_token)

    @property
    def slack_configured(self) -> bool:
        return self.slack_http_configured or self.slack_socket_configured

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None


def load_settings(**overrides: object) -> Settings:
    """Read the environment and `.env`; a wrong value raises ConfigError naming the setting."""
    from pydantic import ValidationError

    from bot.env_file import check_env_file
    from bot.errors import ConfigError

    if overrides.get("_env_file", ".env") is not None:
        check_env_file(Path(str(overrides.get("_env_file", ".env"))))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        names = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        # Only the setting's name: pydantic's own message would echo the (maybe secret) value.
        raise ConfigError(f"invalid setting(s): {names}", user_message=f"Invalid setting(s): {names}") from None
