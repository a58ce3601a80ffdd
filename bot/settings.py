"""Typed settings, read once in `main()` from the environment and `.env`, then passed down.

Secrets are `SecretStr`: their repr and str are masked, so logging a Settings object leaks nothing.
Every setting is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from bot.core.context import Community


# Read as text (not JSON, pydantic-settings' default for a set): `U01,U02` as the platforms show ids.
IdList = Annotated[frozenset[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True, frozen=True,
    )

    catalog: Path | None = Field(None, validation_alias=AliasChoices("MLOPS_BOT_CATALOG", "catalog"))
    database_url: str = Field("sqlite:///var/mlops-bot.db",
                              validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=AliasChoices("LOG_FORMAT", "log_format"))
    command_name: str = Field("/mlops", validation_alias=AliasChoices("MLOPS_BOT_COMMAND", "command_name"))
    semantic_search: bool = Field(True, validation_alias=AliasChoices("SEMANTIC_SEARCH"))

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

    # -- suggestions and review --
    slack_moderators: IdList = Field(frozenset(), validation_alias=AliasChoices("SLACK_MODERATORS"))
    discord_moderators: IdList = Field(frozenset(), validation_alias=AliasChoices("DISCORD_MODERATORS"))
    discord_moderator_roles: IdList = Field(frozenset(), validation_alias=AliasChoices("DISCORD_MODERATOR_ROLES"))
    slack_review_channel: str | None = Field(None, validation_alias=AliasChoices("SLACK_REVIEW_CHANNEL"))
    discord_review_channel: str | None = Field(None, validation_alias=AliasChoices("DISCORD_REVIEW_CHANNEL"))
    suggestions_per_day: int = Field(5, ge=0, le=1000, validation_alias=AliasChoices("SUGGESTIONS_PER_DAY"))

    # -- the weekly digest --
    digest_timezone: str = Field("UTC", validation_alias=AliasChoices("DIGEST_TIMEZONE"))
    digest_grace_hours: float = Field(24.0, gt=0, le=24 * 14, validation_alias=AliasChoices("DIGEST_GRACE"))
    study_cohort_start: dt.date | None = Field(None, validation_alias=AliasChoices("STUDY_COHORT_START"))
    digest_feeds: bool = Field(True, validation_alias=AliasChoices("DIGEST_FEEDS"))
    digest_tick_seconds: float = Field(30.0, ge=0.2, le=600, validation_alias=AliasChoices("DIGEST_TICK"))

    # -- catalog care --
    link_check_day: str | None = Field(None, validation_alias=AliasChoices("LINK_CHECK_DAY"))
    query_log_days: int = Field(90, ge=0, le=3650, validation_alias=AliasChoices("QUERY_LOG_DAYS"))

    @field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "discord_token", "slack_api_url",
        "discord_api_url", "catalog", "discord_guild_id", "discord_application_id", "slack_review_channel",
        "discord_review_channel", "study_cohort_start", "link_check_day", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `SLACK_BOT_TOKEN=`: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_moderators", "discord_moderators", "discord_moderator_roles", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        # `U01,U02` or `U01 U02`: ids as the platforms show them, in one variable.
        if isinstance(value, str):
            return frozenset(part for part in re.split(r"[\s,]+", value) if part)
        return value

    @field_validator("link_check_day")
    @classmethod
    def _weekday(cls, value: str | None) -> str | None:
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        if value is None:
            return None
        found = [d for d in days if d.startswith(value.strip().lower()[:3]) and len(value.strip()) >= 3]
        if not found or not days[days.index(found[0])].startswith(value.strip().lower()):
            raise ValueError("a day of the week, such as Monday or mon")
        return found[0]

    @field_validator("digest_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA timezone such as Europe/Berlin") from None
        return value

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

    @property
    def digest_grace(self) -> dt.timedelta:
        return dt.timedelta(hours=self.digest_grace_hours)

    def community(self) -> Community:
        from bot.core.context import Community
        from bot.core.permissions import Moderators

        return Community(
            moderators=Moderators(slack_users=self.slack_moderators, discord_users=self.discord_moderators,
                                  discord_roles=self.discord_moderator_roles),
            suggestions_per_day=self.suggestions_per_day,
            digest_timezone=self.digest_timezone,
            cohort_start=self.study_cohort_start,
        )


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
