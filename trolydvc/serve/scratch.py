"""Throw-away servers for benchmarks and scripts: the action server, Rasa and the web app on
given ports, over a scratch SQLite database of demo dossiers, with fresh secrets, all removed on
exit. (The test suites have their own fixtures: they restore the environment with pytest's
monkeypatch.)"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trolydvc.db.migrate import upgrade
from trolydvc.serve.servers import Servers
from trolydvc.tracking.demo import load_demo_data

SECRET_NAMES = ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN", "WEB_SESSION_SECRET")


@contextmanager
def scratch_servers(
    rasa_port: int, actions_port: int, web_port: int, demo_dossiers: int = 50
) -> Iterator[Servers]:
    """Started and ready servers; this process's environment points at their database (so
    `trolydvc.db` sessions here see the same dossiers)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/dossiers.db"
        os.environ.update(DATABASE_URL=url, TROLYDVC_VAR_DIR=tmp)
        for name in SECRET_NAMES:
            # hex: a token starting with "-" could be read as an option by a command line
            os.environ[name] = secrets.token_hex(16)
        upgrade(url)
        load_demo_data(demo_dossiers)
        servers = Servers(rasa_port, actions_port, log_dir=Path(tmp), web_port=web_port)
        try:
            servers.start()
            servers.wait_ready()
            yield servers
        finally:
            servers.stop()
