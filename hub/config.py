"""Settings from the environment (HUB_*), with the embedded defaults under one data directory."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the embedded databases and the outbox live")
    database_url: str | None = Field(None, description="Ledger database; default SQLite in the data dir")
    erp_database_url: str | None = Field(None, description="Reference ERP; default SQLite in the data dir")
    mappings_dir: Path = Field(PROJECT_ROOT / "mappings", description="Partner mappings (YAML)")
    rules_dir: Path = Field(PROJECT_ROOT / "rules", description="Rulesets (YAML)")
    max_file_bytes: int = Field(50 * 1024 * 1024, description="Largest file accepted for intake")

    @cached_property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ledger.sqlite').resolve()}"

    @cached_property
    def erp_url(self) -> str:
        return self.erp_database_url or f"sqlite:///{(self.data_dir / 'erp.sqlite').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"
