"""Settings read from the environment, with embedded defaults (SQLite, local Rasa)."""

from __future__ import annotations

import json
import os
import secrets
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


# --- Secrets between the project's processes (README "Security") -------------------------------
# RASA_AUTH_TOKEN: Rasa's HTTP API (/status, /model/parse, /conversations/...);
# RASA_REST_TOKEN: the REST channel the bot and the terminal chat talk to;
# ACTION_SERVER_TOKEN: what Rasa sends to the action server. An operator sets them in the
# environment; otherwise `trolydvc serve` generates them once and keeps them in var/secrets.json
# (mode 0600), where the chat and the bot of the same installation find them.
SECRET_NAMES = ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN")


def secrets_file() -> Path:
    return VAR_DIR / "secrets.json"


def _stored_secrets() -> dict[str, str]:
    try:
        data = json.loads(secrets_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in SECRET_NAMES and isinstance(v, str) and v}


def _secret(name: str) -> str | None:
    return os.environ.get(name, "").strip() or _stored_secrets().get(name)


def rasa_auth_token() -> str | None:
    return _secret("RASA_AUTH_TOKEN")


def rasa_rest_token() -> str | None:
    return _secret("RASA_REST_TOKEN")


def action_server_token() -> str | None:
    return _secret("ACTION_SERVER_TOKEN")


def ensure_secrets() -> dict[str, str]:
    """Every secret of SECRET_NAMES: from the environment, else from var/secrets.json, else
    generated (32 random bytes) and added to that file, written whole with mode 0600."""
    stored = _stored_secrets()
    values = {
        name: os.environ.get(name, "").strip() or stored.get(name, "") for name in SECRET_NAMES
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        for name in missing:
            values[name] = stored[name] = secrets.token_urlsafe(32)
        path = secrets_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    return values
