"""Settings: every environment variable the project reads, in one pydantic-settings object, with
embedded defaults (SQLite, local Rasa). README.md ("Settings") lists them.

``settings()`` reads the environment at call time (tests and the CLI change it between calls); the
parsed object is cached per set of values, so a call costs a few microseconds, not the ~1 ms of
parsing. An empty variable counts as unset; surrounding spaces are ignored.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PositiveFloat, PositiveInt, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"
NATIONAL_EXPORT = ROOT.parent / "shared" / "data" / "tthc_national.jsonl"
# The repository's code that a trained model runs (config.yml names its components, which import
# the rest) and the Rasa it runs on: a change to any of them makes a trained model stale.
MODEL_CODE_INPUTS = (
    "trolydvc/textnorm.py",
    "trolydvc/nlu_components.py",
    "trolydvc/nlu_models.py",
    "constraints/rasa.txt",
)


def _env(name: str, default: object, description: str) -> object:
    return Field(default, validation_alias=name, description=description)


class Settings(BaseSettings):
    """One field per environment variable (the alias is the variable's name)."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True, str_strip_whitespace=True, extra="ignore", populate_by_name=False
    )

    # Storage and data
    var_dir: Path = _env("TROLYDVC_VAR_DIR", ROOT / "var", "local data, logs, caches")
    catalog_dir: Path = _env(
        "TROLYDVC_CATALOG_DIR", ROOT / "procedures_catalog", "the procedure catalog"
    )
    locality_file: Path = _env("TROLYDVC_LOCALITY_FILE", ROOT / "locality.yml", "the deployment")
    database_url: str = _env("DATABASE_URL", "", "PostgreSQL URL; unset: SQLite under var/")
    phone_key: SecretStr = _env("TROLYDVC_PHONE_KEY", SecretStr(""), "key of the phone hashes")
    redis_url: str | None = _env(
        "REDIS_URL", None, "Redis: Rasa workers' shared stores, the lookup guard's counters"
    )
    # Dossier verification (trolydvc.tracking.lookup_guard); durations in seconds
    lookup_code_max_wrong: PositiveInt = _env(
        "TROLYDVC_LOOKUP_CODE_MAX_WRONG", 5, "wrong phone digits allowed per code per window"
    )
    lookup_code_window: PositiveFloat = _env("TROLYDVC_LOOKUP_CODE_WINDOW", 3600.0, "that window")
    lookup_code_lock: PositiveFloat = _env(
        "TROLYDVC_LOOKUP_CODE_LOCK", 86400.0, "how long a code's verification stays locked"
    )
    lookup_all_max_wrong: PositiveInt = _env(
        "TROLYDVC_LOOKUP_ALL_MAX_WRONG", 50, "wrong digits across all codes per window"
    )
    lookup_all_window: PositiveFloat = _env("TROLYDVC_LOOKUP_ALL_WINDOW", 3600.0, "that window")
    lookup_max_unknown: PositiveInt = _env(
        "TROLYDVC_LOOKUP_MAX_UNKNOWN", 100, "unknown codes looked up, all users, per window"
    )
    lookup_unknown_window: PositiveFloat = _env(
        "TROLYDVC_LOOKUP_UNKNOWN_WINDOW", 600.0, "that window"
    )
    # Servers
    rasa_url: str = _env("RASA_URL", "http://127.0.0.1:5005", "where clients reach Rasa")
    rasa_workers: int = _env("RASA_WORKERS", 1, "default of `trolydvc serve --workers`")
    # Telegram bot
    telegram_bot_token: SecretStr = _env("TELEGRAM_BOT_TOKEN", SecretStr(""), "from @BotFather")
    telegram_api_base_url: str = _env("TELEGRAM_API_BASE_URL", "", "a self-hosted Bot API")
    telegram_file_base_url: str = _env("TELEGRAM_FILE_BASE_URL", "", "its file URL")
    rasa_timeout: float = _env("RASA_TIMEOUT", 15.0, "seconds the bot waits for Rasa")
    webhook_url: str | None = _env("WEBHOOK_URL", None, "webhook mode instead of polling")
    webhook_secret: SecretStr | None = _env("WEBHOOK_SECRET", None, "webhook secret token")
    webhook_listen: str = _env("WEBHOOK_LISTEN", "127.0.0.1", "webhook listen address")
    webhook_port: int = _env("WEBHOOK_PORT", 8443, "webhook listen port")
    officials_chat_id: int | None = _env("OFFICIALS_CHAT_ID", None, "officials' group chat")
    telegram_rate_limit: float = _env("TELEGRAM_RATE_LIMIT", 29.5, "messages per second")
    telegram_per_chat_interval: float = _env("TELEGRAM_PER_CHAT_INTERVAL", 1.0, "seconds")
    handoff_timeout: float = _env("HANDOFF_TIMEOUT", 4 * 3600.0, "seconds before auto-close")
    # Tests and benchmarks
    ci: str = _env("CI", "", "true: tests needing PostgreSQL or Redis fail instead of skipping")
    test_rasa_port: int = _env("TROLYDVC_TEST_RASA_PORT", 5305, "the conversation tests' Rasa")
    test_actions_port: int = _env("TROLYDVC_TEST_ACTIONS_PORT", 5355, "their action server")
    test_pg_admin_url: str = _env(
        "TROLYDVC_TEST_PG_ADMIN_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "the server for scratch PostgreSQL databases",
    )
    bench_dir: Path = _env("TROLYDVC_BENCH_DIR", ROOT / "var" / "bench", "benchmark data")
    bench_pg_admin_url: str = _env(
        "TROLYDVC_BENCH_PG_ADMIN_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "the server for the benchmarks' PostgreSQL databases",
    )

    @property
    def in_ci(self) -> bool:
        return self.ci.lower() in ("1", "true", "yes")


ENV_NAMES = tuple(str(f.validation_alias) for f in Settings.model_fields.values())


class SettingsError(ValueError):
    """An environment variable has a value of the wrong kind; the message names it."""


def settings() -> Settings:
    """The settings from the current environment."""
    return _settings_for(tuple(os.environ.get(name) for name in ENV_NAMES))


@lru_cache(maxsize=8)
def _settings_for(values: tuple[str | None, ...]) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{error['loc'][0]} không hợp lệ (nhận được {error['input']!r})"
            for error in exc.errors(include_url=False)
        )
        raise SettingsError(f"Thiết lập môi trường sai: {problems}") from None


VAR_DIR = settings().var_dir
CATALOG_DIR = settings().catalog_dir
LOCALITY_FILE = settings().locality_file


def database_url() -> str:
    """`DATABASE_URL` if set (PostgreSQL in production), else a SQLite file under var/."""
    url = settings().database_url
    if url:
        # Accept the common postgres:// spelling; SQLAlchemy wants a driver name.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'trolydvc.db'}"


def rasa_url() -> str:
    return settings().rasa_url.rstrip("/")


def redis_url() -> str | None:
    """`REDIS_URL` if set: Rasa workers share conversations there, and the dossier lookup guard
    keeps its counters there instead of in the database."""
    return settings().redis_url


# The dossier lookup guard (trolydvc.tracking.lookup_guard); durations in seconds.
def lookup_code_max_wrong() -> int:
    """Wrong phone digits allowed for one dossier code within `lookup_code_window()`."""
    return settings().lookup_code_max_wrong


def lookup_code_window() -> float:
    return settings().lookup_code_window


def lookup_code_lock() -> float:
    """How long a code's verification stays locked once its wrong tries are used up."""
    return settings().lookup_code_lock


def lookup_all_max_wrong() -> int:
    """Wrong phone digits allowed across all codes within `lookup_all_window()`."""
    return settings().lookup_all_max_wrong


def lookup_all_window() -> float:
    return settings().lookup_all_window


def lookup_max_unknown() -> int:
    """Lookups of unknown codes allowed across all users within `lookup_unknown_window()`."""
    return settings().lookup_max_unknown


def lookup_unknown_window() -> float:
    return settings().lookup_unknown_window
