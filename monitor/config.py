"""Settings: every VIGIL_* environment variable, and nothing else reads the environment."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "xxx", "todo"}
MIN_KEY_CHARS = 16


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "vigil"


class Settings(BaseSettings):
    """Configuration of one Vigil process; the defaults give the embedded mode (SQLite, in-process worker)."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    broker_url: str = "memory://localhost/"
    result_backend: str = "cache+memory://"
    pseudonym_key: SecretStr | None = None
    model_dir: Path | None = None
    # The trigger taxonomy staff edit (read again when it changes); None: the packaged classifiers/triggers.yaml
    triggers_file: Path | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "vigil@localhost"
    smtp_starttls: bool = True
    webhook_secret: SecretStr | None = None
    webhook_timeout_s: float = 10.0
    notify_attempts: int = 3
    notify_backoff_s: float = 2.0
    # A delivery claimed this long ago with no outcome recorded lost its worker: it counts as a failed
    # attempt and is claimed again. Keep it well above one send (SMTP and webhook timeouts).
    notify_claim_timeout_s: float = 900.0
    admin_email: str | None = None  # told when an alert cannot be delivered

    http_timeout_s: float = 20.0
    http_max_bytes: int = 10 * 1024 * 1024
    max_post_chars: int = 20_000
    ingest_batch_size: int = 500
    # Post ids per classify message. The model and the upsert cost less per post in larger batches: 2,000 gave
    # 7,111 posts/s against 6,497 at 500 in `bench/pipeline_day.py --posts 50000 --classify-batch-size N` (2 worker
    # processes); a poll sends what it fetched, however few.
    classify_batch_size: int = 2000

    spike_baseline_days: int = 28
    spike_min_count: int = 5
    spike_cooldown_days: int = 3
    beat_poll_seconds: float = 60.0
    beat_spike_seconds: float = 300.0
    beat_report_seconds: float = 900.0  # how often beat checks which subscribers' weekly reports are due
    beat_sweep_seconds: float = 600.0  # how often beat sends posts left unclassified on to classification
    # A post still unclassified this long after collection was stranded. Keep it above any queue backlog: a post
    # still queued would be sent twice, and its rollups recomputed for nothing.
    sweep_grace_s: float = 3600.0
    sweep_window_hours: float = 48.0  # how far back the sweep looks (older ones: `vigil reclassify`)
    report_attempts: int = 5  # a failed report run is retried until it has made this many attempts
    report_backoff_s: float = 300.0  # doubling after each failed attempt
    report_stale_s: float = 1800.0  # a run still rendering after this long lost its worker: claim it again
    report_overdue_s: float = 3600.0  # a report not sent this long after it was due is an admin alert

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_page_size_max: int = 200  # posts, alerts and other lists never return more rows than this
    api_statement_timeout_ms: int = 5000  # PostgreSQL cancels any one request's query after this
    api_rate_limit_per_minute: int = 600  # requests per token (or per client address before login)
    rate_limit_redis_url: str | None = None  # shared counters across API processes; in-memory when None
    session_secret: SecretStr | None = None  # signs dashboard cookies; a random one per process when None
    cookie_secure: bool = False  # set behind HTTPS so the session cookie is never sent in clear

    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("model_dir", "triggers_file", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value):
        """An empty path is no path (compose passes "" for a variable left unset), not the working directory."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("pseudonym_key", "webhook_secret", "smtp_password", "session_secret")
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty value is no value (compose passes "" for a variable left unset); a placeholder is refused."""
        if value is None or not value.get_secret_value().strip():
            return None
        if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("refusing a placeholder secret; generate one with `openssl rand -hex 32`")
        return value

    @field_validator("pseudonym_key", "webhook_secret", "session_secret")
    @classmethod
    def _refuse_short_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Our own keys (not the mail server's password) need MIN_KEY_CHARS: with a short one anyone could
        recompute pseudonyms or forge signatures. Runs after _refuse_placeholders, so "" is already None."""
        if value is not None and len(value.get_secret_value()) < MIN_KEY_CHARS:
            raise ValueError(f"a key needs at least {MIN_KEY_CHARS} characters; generate one with "
                             "`openssl rand -hex 32`")
        return value

    @property
    def embedded(self) -> bool:
        """True when no servers are configured: SQLite and an in-process worker."""
        return self.broker_url.startswith("memory://")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'vigil.db'}"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def author_key(self) -> bytes:
        """The HMAC key for author pseudonyms; the embedded mode keeps a generated one in the data dir."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        if not self.sqlalchemy_url.startswith("sqlite"):
            raise RuntimeError("VIGIL_PSEUDONYM_KEY must be set when using a server database")
        key_file = self.data_dir / "pseudonym.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


_current: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def use_settings(settings: Settings | None) -> None:
    """Replace the process's settings (the demo runs on its own data dir); None re-reads the environment."""
    global _current
    _current = settings
