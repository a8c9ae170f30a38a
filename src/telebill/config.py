"""Settings from the environment (prefix `TELEBILL_`) or a `.env` file; no secret has a default."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path(user_data_dir('telebill')) / 'telebill.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TELEBILL_", env_file=".env", extra="ignore")

    database_url: str = ""

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()
