"""The action server and Rasa as two supervised child processes, started and stopped together,
and with ``web_port`` the web app (trolydvc.web: the widget page, the dashboard) as a third.

:class:`Servers` is what `trolydvc serve`/`run` (trolydvc.serve.commands), the conversation tests
and bench/e2e.py use to start a pair on the given ports.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from trolydvc import config
from trolydvc.serve.runner import Child, ServerError, Supervisor

ROOT = config.ROOT
MODEL = ROOT / "models" / "assistant.tar.gz"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055


def _child_env(workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SANIC_HOST="127.0.0.1",  # the action server listens on loopback only
        PYTHONUNBUFFERED="1",
        # Rasa 3.6's dependencies print pages of deprecation warnings at start-up.
        PYTHONWARNINGS="ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    )
    if workers > 1:
        env["SANIC_WORKERS"] = str(workers)
    return env


class Servers(Supervisor):
    """The action server and Rasa on the given ports, started and stopped together."""

    def __init__(
        self,
        rasa_port: int = DEFAULT_RASA_PORT,
        actions_port: int = DEFAULT_ACTIONS_PORT,
        model: Path = MODEL,
        log_dir: Path | None = None,
        cors: tuple[str, ...] = ("http://localhost", "http://127.0.0.1"),
        workers: int = 1,
        web_port: int | None = None,
        **supervision: Any,
    ) -> None:
        super().__init__(log_dir=log_dir, cwd=ROOT, **supervision)
        self.rasa_port = rasa_port
        self.actions_port = actions_port
        self.model = model
        self.cors = cors
        self.workers = max(1, workers)
        self.web_port = web_port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        # RASA_AUTH_TOKEN, RASA_REST_TOKEN, ACTION_SERVER_TOKEN: given to the children through
        # their environment (never their command lines, which any local user can read); set by
        # start(), so that a Servers that never starts writes no var/secrets.json
        self.secrets: dict[str, str] = {}

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _endpoints_file(self) -> Path:
        """endpoints.yml for this pair, in a private temporary directory (it holds the database
        URL and the sender key of the conversation log)."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="trolydvc-")
        path = Path(self._tmp.name) / "endpoints.yml"
        # plain scalar: Rasa expands ${...} only there
        text = (
            f'action_endpoint:\n  url: "{self.actions_url}/webhook"\n'
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
        )
        if self.workers > 1:
            text += _redis_stores_yaml()
        text += f"event_broker: {json.dumps(conversation_log_broker(config.database_url()))}\n"
        path.write_text(text)
        return path

    def _commands(self) -> tuple[list[str], list[str]]:
        """The command lines of the action server and of Rasa (and nothing else)."""
        actions = [
            sys.executable, "-m", "trolydvc.action_server", "--actions", "actions",
            "--port", str(self.actions_port),
        ]  # fmt: skip
        # `rasa run` through trolydvc.rasa_server: same arguments, one fix (see that module).
        rasa = [
            str(RASA_PYTHON), "-m", "trolydvc.rasa_server", "run",
            "-m", str(self.model),
            "--enable-api",
            "--cors", *self.cors,
            "-i", "127.0.0.1",
            "-p", str(self.rasa_port),
            "--endpoints", str(self._endpoints_file()),
            "--credentials", str(ROOT / "credentials.yml"),
        ]  # fmt: skip
        return actions, rasa

    def start(self) -> None:
        if not self.model.is_file():
            raise ServerError(
                f"Chưa có mô hình đã huấn luyện tại {self.model}; hãy chạy `make train` trước"
            )
        if not RASA_BIN.exists():
            raise ServerError(f"Không tìm thấy {RASA_BIN}; hãy chạy `make setup` trước")
        ports = [self.actions_port, self.rasa_port] + ([self.web_port] if self.web_port else [])
        for port in ports:
            if _port_busy(port):
                raise ServerError(f"Cổng {port} đang được dùng (có một `serve` khác đang chạy?)")
        self.secrets = config.ensure_secrets()
        env = _child_env(self.workers)
        env.update(self.secrets)
        actions, rasa = self._commands()
        self.children = [
            Child("actions", "Máy chủ action", actions, f"{self.actions_url}/health", env=env),
            # Rasa's / answers as soon as the server runs; ready means the model is loaded.
            Child("rasa", "Rasa", rasa, f"{self.rasa_url}/", ready=self._rasa_ready, env=env),
        ]
        if self.web_port:
            self.children.append(self._web_child(env))
        super().start()

    # --- the web app (issue #15) ------------------------------------------------------------
    def _web_child(self, env: dict[str, str]) -> Child:
        web = web_command(self.web_port or 0, self.rasa_url)
        return Child("web", "Trang web", web, f"{self.web_url}/healthz", env=env)

    def _rasa_ready(self, http: httpx.Client) -> bool:
        try:
            response = http.get(
                f"{self.rasa_url}/status",
                headers={"Authorization": f"Bearer {self.secrets['RASA_AUTH_TOKEN']}"},
            )
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    def stop(self, timeout: float | None = None) -> None:
        super().stop(timeout)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def cli_command(*arguments: str) -> list[str]:
    """A `trolydvc` subcommand in this interpreter (not whichever `trolydvc` PATH finds)."""
    return [sys.executable, "-m", "trolydvc.cli", *arguments]


def web_command(port: int, rasa_url: str) -> list[str]:
    """The web app (trolydvc.web) on ``port``, talking to Rasa at ``rasa_url``."""
    return cli_command("web", "--port", str(port), "--rasa-url", rasa_url)


def conversation_log_broker(database_url: str) -> dict[str, Any]:
    """The event_broker section of Rasa's endpoints: the conversation log
    (trolydvc.conversation_log) in the project's database, with the key of its sender hashes and
    the retention period of conversations."""
    from trolydvc import conversation_log
    from trolydvc.tracking.privacy import phone_key

    return {
        "type": "trolydvc.conversation_log.ConversationLogBroker",
        "url": conversation_log.rasa_database_url(database_url),
        "sender_key": conversation_log.sender_key(phone_key()),
        "retention_days": config.settings().conversation_retention_days,
    }


def _redis_stores_yaml() -> str:
    """Tracker and lock stores in Redis (REDIS_URL), which several Rasa workers must share.
    Conversations expire after an hour of silence (nothing kept longer than needed)."""
    url = urlparse(config.settings().redis_url or "redis://127.0.0.1:6379/0")
    common = {
        "type": "redis",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int((url.path or "/0").lstrip("/") or 0),
        "key_prefix": "trolydvc",
    }
    if url.password:
        common["password"] = url.password
    stores = {"tracker_store": {**common, "record_exp": 3600}, "lock_store": common}
    # JSON is valid YAML and quotes every string safely.
    return "".join(f"{name}: {json.dumps(conf)}\n" for name, conf in stores.items())


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
