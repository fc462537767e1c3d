"""Settings from the environment (HUB_*), with the embedded defaults under one data directory."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Exception queues: hours to resolve (the SLA that sets an exception's due time) and priority
# (1 first). `default` applies to queues not listed. Override with HUB_QUEUE_SLA_HOURS /
# HUB_QUEUE_PRIORITY as JSON, e.g. HUB_QUEUE_SLA_HOURS='{"credit": 2, "default": 24}'.
QUEUE_SLA_HOURS = {"credit": 4, "pricing": 4, "erp": 1, "internal": 1, "allocation": 8, "customer-service": 8,
                   "fulfillment": 8, "purchasing": 24, "payables": 24, "integration": 24, "default": 24}
QUEUE_PRIORITY = {"erp": 1, "internal": 1, "credit": 2, "pricing": 2, "allocation": 3, "customer-service": 3,
                  "fulfillment": 3, "purchasing": 3, "payables": 3, "integration": 3, "default": 3}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the embedded databases and the outbox live")
    database_url: str | None = Field(None, description="Ledger database; default SQLite in the data dir")
    erp_database_url: str | None = Field(None, description="Reference ERP; default SQLite in the data dir")
    mappings_dir: Path = Field(PROJECT_ROOT / "mappings", description="Partner mappings (YAML)")
    rules_dir: Path = Field(PROJECT_ROOT / "rules", description="Rulesets (YAML)")
    max_file_bytes: int = Field(50 * 1024 * 1024, description="Largest file accepted for intake")
    secret_key: str | None = Field(None, description="Key that encrypts webhook secrets at rest (Fernet); default: <data dir>/hub.key, made once")
    webhook_window_seconds: int = Field(300, description="How far a webhook's X-Hub-Timestamp may be from our clock")
    sftp_host_key: Path | None = Field(None, description="SFTP host key; default: <data dir>/ssh_host_ed25519_key, made once")
    sftp_max_auth_failures: int = Field(5, description="Wrong passwords from one address for one account before it is locked out")
    sftp_lockout_seconds: int = Field(300, description="How long such a lockout lasts")
    delivery_attempts: int = Field(8, description="Attempts to push an outbound file before it is dead-lettered")
    delivery_backoff_seconds: float = Field(2.0, description="First wait between push attempts; doubles each time")
    delivery_backoff_max_seconds: float = Field(300.0, description="Longest wait between push attempts")
    delivery_timeout_seconds: float = Field(30.0, description="How long one push may take")
    ack_due_hours: float = Field(24, description="Hours a partner has to acknowledge (997/999) a document we sent before it counts as overdue")
    worker_poll_seconds: float = Field(1.0, description="How often an idle worker looks for work when no notice wakes it (SQLite, or the listening connection lost)")
    lease_seconds: float = Field(60.0, description="How long a worker's claim on a file or document lasts; a dead worker's claims return after it")
    worker_batch: int | None = Field(None, description="Documents a worker claims and settles in one ledger transaction; also the most small files it splits in one step. Default: 20 on SQLite, 200 on PostgreSQL")
    max_attempts: int = Field(5, description="Claims of a file or document that never settled (its worker died) before it is set aside for a person")
    db_pool_size: int = Field(5, description="PostgreSQL connections each process keeps per database (and as many again when busy)")
    queue_sla_hours: dict[str, float] = Field(default_factory=lambda: dict(QUEUE_SLA_HOURS), description="Hours to resolve an exception, by queue")
    queue_priority: dict[str, int] = Field(default_factory=lambda: dict(QUEUE_PRIORITY), description="Priority of an exception (1 first), by queue")

    @model_validator(mode="after")
    def _worker_batch_for_the_database(self) -> Settings:
        """A step has a fixed cost (claims, the ERP's reference data, commits) that larger steps
        share out. On PostgreSQL a long step holds only its own rows; on SQLite it holds the one
        write lock, and receipts wait for it."""
        if self.worker_batch is None:  # from database_url, not ledger_url: a cached ledger_url would outlive a model_copy
            self.worker_batch = 20 if (self.database_url or "sqlite").startswith("sqlite") else 200
        return self

    def queue_policy(self, queue: str) -> tuple[float, int]:
        """(SLA hours, priority) of an exception queue."""
        sla, priority = self.queue_sla_hours, self.queue_priority
        return sla.get(queue, sla.get("default", 24)), priority.get(queue, priority.get("default", 3))

    @cached_property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ledger.sqlite').resolve()}"

    @cached_property
    def erp_url(self) -> str:
        return self.erp_database_url or f"sqlite:///{(self.data_dir / 'erp.sqlite').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        """Outbound files waiting for pickup, one folder per partner (the partner's SFTP `outbox/`)."""
        return self.data_dir / "outbox"

    @property
    def host_key_path(self) -> Path:
        return self.sftp_host_key or self.data_dir / "ssh_host_ed25519_key"
