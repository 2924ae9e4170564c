"""Settings read from the environment, with embedded defaults (SQLite, local Rasa)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TROLYDVC_VAR_DIR", ROOT / "var"))
CATALOG_DIR = Path(os.environ.get("TROLYDVC_CATALOG_DIR", ROOT / "procedures_catalog"))
LOCALITY_FILE = Path(os.environ.get("TROLYDVC_LOCALITY_FILE", ROOT / "locality.yml"))
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


def database_url() -> str:
    """`DATABASE_URL` if set (PostgreSQL in production), else a SQLite file under var/."""
    url = os.environ.get("DATABASE_URL", "").strip()
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
    return os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")


def action_server_url() -> str:
    return os.environ.get("ACTION_SERVER_URL", "http://127.0.0.1:5055").rstrip("/")


def redis_url() -> str | None:
    """`REDIS_URL` if set: Rasa workers share conversations there, and the dossier lookup guard
    keeps its counters there instead of in the database."""
    return os.environ.get("REDIS_URL", "").strip() or None


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


# The dossier lookup guard (trolydvc.tracking.lookup_guard); durations in seconds.
def lookup_code_max_wrong() -> int:
    """Wrong phone digits allowed for one dossier code within `lookup_code_window()`."""
    return _positive_int("TROLYDVC_LOOKUP_CODE_MAX_WRONG", 5)


def lookup_code_window() -> float:
    return _positive("TROLYDVC_LOOKUP_CODE_WINDOW", 3600.0)


def lookup_code_lock() -> float:
    """How long a code's verification stays locked once its wrong tries are used up."""
    return _positive("TROLYDVC_LOOKUP_CODE_LOCK", 86400.0)


def lookup_all_max_wrong() -> int:
    """Wrong phone digits allowed across all codes within `lookup_all_window()`."""
    return _positive_int("TROLYDVC_LOOKUP_ALL_MAX_WRONG", 50)


def lookup_all_window() -> float:
    return _positive("TROLYDVC_LOOKUP_ALL_WINDOW", 3600.0)


def lookup_max_unknown() -> int:
    """Lookups of unknown codes allowed across all users within `lookup_unknown_window()`."""
    return _positive_int("TROLYDVC_LOOKUP_MAX_UNKNOWN", 100)


def lookup_unknown_window() -> float:
    return _positive("TROLYDVC_LOOKUP_UNKNOWN_WINDOW", 600.0)
