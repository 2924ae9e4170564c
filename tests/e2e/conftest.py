"""Conversation tests through the REST channel of a real Rasa + action server pair.

The pair is started once per test session on non-default ports (Rasa 5305, actions 5355), with
a scratch SQLite database holding the demo dossiers and fresh secrets (RASA_AUTH_TOKEN,
RASA_REST_TOKEN, ACTION_SERVER_TOKEN) in the environment, and stopped at the end. It needs the
trained model models/assistant.tar.gz (`make test` trains it first when an input changed).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from trolydvc.config import settings

RASA_PORT = settings().test_rasa_port
ACTIONS_PORT = settings().test_actions_port


@dataclass
class Assistant:
    url: str
    log_dir: Path
    http: httpx.Client
    servers: Any  # trolydvc.serve.Servers: its processes, ports and secrets

    @property
    def rest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.servers.secrets['RASA_REST_TOKEN']}"}

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.servers.secrets['RASA_AUTH_TOKEN']}"}

    def say(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The replies to ``text``; ``metadata`` as the Telegram bot sends it (trolydvc.rasa_client)."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        response = self.http.post(
            f"{self.url}/webhooks/rest/webhook", json=body, headers=self.rest_headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def parse(self, text: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.url}/model/parse", json={"text": text}, headers=self.api_headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(encoding="utf-8", errors="replace") for p in self.log_dir.glob("*.log")
        )


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    from trolydvc.db.base import reset_engines
    from trolydvc.db.migrate import upgrade
    from trolydvc.serve import MODEL, ServerError, Servers
    from trolydvc.tracking import privacy
    from trolydvc.tracking.demo import load_demo_data

    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (or `make test`) first")
    tmp = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    url = f"sqlite:///{tmp / 'dossiers.db'}"
    mp.setenv("DATABASE_URL", url)  # inherited by the action server
    mp.setenv("TROLYDVC_PHONE_KEY", "e2e-test-key")
    # the dossier lookup counters go to the scratch database too, never to a real Redis
    mp.delenv("REDIS_URL", raising=False)
    for name in ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN"):
        mp.setenv(name, secrets.token_urlsafe(16))  # nothing written under var/
    privacy._key.cache_clear()
    reset_engines()
    upgrade(url)
    load_demo_data(200)  # about ten months up to today, so "năm nay" has figures
    servers = Servers(RASA_PORT, ACTIONS_PORT, log_dir=tmp / "logs")
    try:
        servers.start()
        servers.wait_ready()
    except ServerError as exc:
        servers.stop()
        mp.undo()
        pytest.fail(str(exc))
    http = httpx.Client(timeout=60.0)
    try:
        yield Assistant(servers.rasa_url, tmp / "logs", http, servers)
    finally:
        http.close()
        servers.stop()
        reset_engines()
        mp.undo()
        privacy._key.cache_clear()


@pytest.fixture
def user() -> Callable[[], str]:
    """A fresh conversation id for each call."""
    return lambda: f"e2e-{uuid.uuid4().hex[:10]}"
