"""Settings, read once from CALLHISTORY_* environment variables."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_SECRET = "dev-only-insecure-secret-change-me-in-production"  # noqa: S105 - the documented development default


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'callhistory.db'}"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CALLHISTORY_{name}", default)


def _env_positive(name: str, default: int) -> int:
    value = _env_int(name, default)
    if value < 1:
        raise ValueError(f"CALLHISTORY_{name} must be at least 1, got {value}")
    return value


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"CALLHISTORY_{name}")
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"CALLHISTORY_{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(f"CALLHISTORY_{name}")
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"CALLHISTORY_{name} must be a number, got {raw!r}") from exc


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"CALLHISTORY_{name}")
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"CALLHISTORY_{name} must be true or false, got {raw!r}")
    return value in _TRUE


# An origin as browsers send it: scheme://host[:port], nothing after.
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def _env_origins(name: str) -> tuple[str, ...]:
    raw = os.environ.get(f"CALLHISTORY_{name}", "")
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(
                f"CALLHISTORY_{name}: {origin!r} is not an origin (scheme://host[:port])"
            )
    return origins


_COUNT_PER_PERIOD = re.compile(
    r"^\s*(\d+)\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?\s*$", re.IGNORECASE
)


def _env_count_per_period(name: str, default: str) -> str:
    """'20/5 minutes' (any number of seconds, minutes, hours or days); '0': no limit."""
    raw = os.environ.get(f"CALLHISTORY_{name}")
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value == "0":
        return value
    found = _COUNT_PER_PERIOD.match(value)
    if found is None or int(found.group(1)) < 1 or int(found.group(3) or 1) < 1:
        raise ValueError(
            f"CALLHISTORY_{name} must be a count per period like {default!r} (0: no limit), "
            f"got {raw!r}"
        )
    return value


class UnsafeSettings(ValueError):
    """Settings that must not reach production; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"  # or "production"
    database_url: str = field(default_factory=_default_database_url)
    database_pool_size: int = 20  # PostgreSQL connections per process
    secret_key: str = DEFAULT_SECRET
    # Fernet keys for secrets at rest, comma-separated: the first encrypts, all decrypt;
    # empty: one derived from secret_key (see secrets_box.py)
    secrets_key: str = ""
    token_ttl_seconds: int = 24 * 3600
    key_cache_seconds: float = 1.0
    max_window_days: int = 30
    max_page_size: int = 50
    instance_id: str = "local"
    instance_name: str = field(default_factory=socket.gethostname)
    default_time_zone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "info"
    recording_url_template: str = ""
    # Where the recordings are (recordings/sources.py): a folder, or the PBX's web server
    recordings_dir: str = ""
    recordings_pbx_root: str = ""  # the folder as the PBX's paths name it; empty: the same
    recordings_base_url: str = ""
    recording_link_seconds: int = 900
    max_cdr_bytes: int = 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    redis_url: str = ""
    rate_limit_api: str = "3000/30 minutes"
    rate_limit_ingest: str = "3000000/30 minutes"
    # Failed credentials (auth/attempts.py): per client address, and per account
    auth_failures_per_ip: str = "20/5 minutes"
    auth_failures_per_account: str = "10/15 minutes"
    worker: str = "on"  # "off": `serve` does not run the webhook/export worker in-process
    export_dir: str = field(default_factory=lambda: str(Path.cwd() / "exports"))
    export_link_ttl_seconds: int = 3600
    # Retention (see retention.py): 0 keeps that kind forever.
    retention_deliveries_days: int = 30  # delivered webhook deliveries
    retention_parked_days: int = 90  # parked ones: longer, someone may redeliver them
    retention_changes_days: int = 90  # the change feed (sync cursors older than this expire)
    retention_interval_seconds: int = 3600  # how often the worker prunes; 0: never (CLI only)
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API; "*": any
    webhook_allow_private: bool = False  # webhooks may call private addresses (LAN receivers)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            environment=_env("ENVIRONMENT", "development").strip().lower(),
            database_url=_env("DATABASE_URL", "") or _default_database_url(),
            database_pool_size=_env_positive("DATABASE_POOL_SIZE", 20),
            secret_key=_env("SECRET_KEY", DEFAULT_SECRET),
            secrets_key=_env("SECRETS_KEY", ""),
            token_ttl_seconds=_env_int("TOKEN_TTL_SECONDS", 24 * 3600),
            key_cache_seconds=_env_float("KEY_CACHE_SECONDS", 1.0),
            max_window_days=_env_int("MAX_WINDOW_DAYS", 30),
            max_page_size=_env_int("MAX_PAGE_SIZE", 50),
            instance_id=_env("INSTANCE_ID", "local"),
            instance_name=_env("INSTANCE_NAME", "") or socket.gethostname(),
            default_time_zone=_env("DEFAULT_TIME_ZONE", "Asia/Ho_Chi_Minh"),
            log_level=_env("LOG_LEVEL", "info"),
            recording_url_template=_env("RECORDING_URL_TEMPLATE", ""),
            recordings_dir=_env("RECORDINGS_DIR", ""),
            recordings_pbx_root=_env("RECORDINGS_PBX_ROOT", ""),
            recordings_base_url=_env("RECORDINGS_BASE_URL", ""),
            recording_link_seconds=_env_positive("RECORDING_LINK_SECONDS", 900),
            max_cdr_bytes=_env_int("MAX_CDR_BYTES", 1024 * 1024),
            max_body_bytes=_env_int("MAX_BODY_BYTES", 16 * 1024 * 1024),
            redis_url=_env("REDIS_URL", ""),
            rate_limit_api=_env("RATE_LIMIT_API", "3000/30 minutes"),
            rate_limit_ingest=_env("RATE_LIMIT_INGEST", "3000000/30 minutes"),
            auth_failures_per_ip=_env_count_per_period("AUTH_FAILURES_PER_IP", "20/5 minutes"),
            auth_failures_per_account=_env_count_per_period(
                "AUTH_FAILURES_PER_ACCOUNT", "10/15 minutes"
            ),
            worker=_env("WORKER", "on").strip().lower(),
            export_dir=_env("EXPORT_DIR", "") or str(Path.cwd() / "exports"),
            export_link_ttl_seconds=_env_int("EXPORT_LINK_TTL_SECONDS", 3600),
            retention_deliveries_days=_env_int("RETENTION_DELIVERIES_DAYS", 30),
            retention_parked_days=_env_int("RETENTION_PARKED_DAYS", 90),
            retention_changes_days=_env_int("RETENTION_CHANGES_DAYS", 90),
            retention_interval_seconds=_env_int("RETENTION_INTERVAL_SECONDS", 3600),
            cors_origins=_env_origins("CORS_ORIGINS"),
            webhook_allow_private=_env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        )


def check_production(settings: Settings) -> None:
    """In production, refuse the development secret (anyone could mint tokens with it)
    and short ones."""
    if settings.environment not in ("development", "production"):
        raise UnsafeSettings("CALLHISTORY_ENVIRONMENT must be development or production")
    if settings.environment != "production":
        return
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32:
        raise UnsafeSettings(
            "CALLHISTORY_SECRET_KEY must be set to a random value of at least 32 characters "
            "in production (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
