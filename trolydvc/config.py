"""Settings read from the environment, with embedded defaults (SQLite, local Rasa)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TROLYDVC_VAR_DIR", ROOT / "var"))
CATALOG_DIR = Path(os.environ.get("TROLYDVC_CATALOG_DIR", ROOT / "procedures_catalog"))
LOCALITY_FILE = Path(os.environ.get("TROLYDVC_LOCALITY_FILE", ROOT / "locality.yml"))
LOCALES_DIR = ROOT / "locales"
NATIONAL_EXPORT = Path(
    os.environ.get(
        "TROLYDVC_NATIONAL_EXPORT", ROOT.parent / "shared" / "data" / "tthc_national.jsonl"
    )
)
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
