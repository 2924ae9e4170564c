"""The session cookie's signing key: WEB_SESSION_SECRET, else a random key created once in
var/web_session.key (mode 0600), like the other secrets the project generates for itself."""

from __future__ import annotations

import os
import secrets

from trolydvc import config


def session_secret() -> str:
    value = config.settings().web_session_secret
    if value and value.get_secret_value():
        return value.get_secret_value()
    path = config.settings().var_dir / "web_session.key"
    try:
        stored = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = ""
    if stored:
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    # Two processes starting at once: the first file in place wins, both then use it.
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_text(encoding="utf-8").strip()
