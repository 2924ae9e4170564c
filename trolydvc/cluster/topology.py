"""The production topology on one machine: nginx -> N Rasa replicas -> N action servers.

Rasa replicas keep conversations in PostgreSQL (Rasa's SQL tracker store, through
trolydvc.rasa_stores, which keeps personal data out of the stored events) and take each
conversation's lock in Redis, so any replica can handle any message and a replica that dies loses
nothing. Every process runs under the project's supervisor (trolydvc.serve.runner): started
together, restarted when it dies or stops answering its health URL, all stopped on Ctrl-C/SIGTERM.
The command lines of Rasa and of the action server are trolydvc.serve.Servers' own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from trolydvc import config
from trolydvc.serve.runner import Child, ServerError, Supervisor
from trolydvc.serve.servers import (
    RASA_PYTHON,
    ROOT,
    Servers,
    _child_env,
    _port_busy,
    conversation_log_broker,
)

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
# How long a conversation's Redis lock outlives a replica killed while holding it: the longest
# turn we accept (an action call times out after 10 s, trolydvc.rasa_server) plus a margin. A
# message to that conversation meanwhile waits (it is not lost); Rasa's default is 60 s.
LOCK_LIFETIME_SECONDS = 15
REQUEST_RATE = "10r/s"


@dataclass(frozen=True)
class Ports:
    """Where each process listens; the entry is public, the rest on loopback."""

    listen: str = "127.0.0.1:8080"
    rasa: int = 5006  # first replica; the next ones follow
    actions: int = 5056  # first action server
    actions_entry: int = 5055  # nginx, loopback: Rasa -> action servers
    bot: int = 8443  # the Telegram bot's webhook (loopback)
    web: int = 0  # the web app (widget page, dashboard) behind the entry; 0: none

    @property
    def entry_url(self) -> str:
        host, _, port = self.listen.rpartition(":")
        host = "127.0.0.1" if host in ("", "0.0.0.0", "*", "[::]") else host
        return f"http://{host}:{port}"


def rasa_sql_store(database_url: str) -> dict[str, Any]:
    """The tracker_store section for DATABASE_URL (PostgreSQL; Rasa's psycopg2 driver)."""
    url = urlparse(database_url)
    if not url.scheme.startswith("postgres"):
        raise ServerError(
            "Cụm máy chủ cần DATABASE_URL trỏ tới PostgreSQL "
            "(ví dụ postgresql://postgres@127.0.0.1:5432/trolydvc)."
        )
    store: dict[str, Any] = {
        "type": "trolydvc.rasa_stores.RedactingSQLTrackerStore",
        "dialect": "postgresql",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 5432,
        "db": unquote(url.path.lstrip("/")) or "postgres",
    }
    if url.username:
        store["username"] = unquote(url.username)
    if url.password:
        store["password"] = unquote(url.password)
    return store


def redis_lock_store(redis_url: str) -> dict[str, Any]:
    url = urlparse(redis_url)
    store: dict[str, Any] = {
        "type": "trolydvc.rasa_stores.ClusterRedisLockStore",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int((url.path or "/0").lstrip("/") or 0),
        "key_prefix": "trolydvc",
    }
    if url.password:
        store["password"] = unquote(url.password)
    return store


def endpoints_yaml(ports: Ports, database_url: str, redis_url: str) -> str:
    # JSON is valid YAML and quotes every string; the header line stays a plain scalar because
    # Rasa expands ${...} only there.
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{ports.actions_entry}/webhook"\n'
        "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
        f"tracker_store: {json.dumps(rasa_sql_store(database_url))}\n"
        f"lock_store: {json.dumps(redis_lock_store(redis_url))}\n"
        f"event_broker: {json.dumps(conversation_log_broker(database_url))}\n"
    )


def render_nginx(
    ports: Ports, replicas: int, run_dir: Path, log_dir: Path, bot_path: str | None = None
) -> str:
    """deploy/nginx.conf.template with this cluster's values."""
    bot_location = ""
    if bot_path:
        bot_location = (
            f"        location = /{bot_path} {{\n"
            "            limit_except POST { deny all; }\n"
            f"            proxy_pass http://127.0.0.1:{ports.bot};\n"
            "        }\n"
        )
    values = {
        "run_dir": str(run_dir),
        "log_dir": str(log_dir),
        # as root, nginx's workers would otherwise run as `nobody`, who cannot write var/
        "user_line": "user root;" if os.geteuid() == 0 else "",
        "rate": REQUEST_RATE,
        "listen": ports.listen,
        "read_timeout": str(LOCK_LIFETIME_SECONDS + 15),
        "actions_entry_port": str(ports.actions_entry),
        "rasa_servers": "\n".join(
            f"        server 127.0.0.1:{ports.rasa + i} max_fails=1 fail_timeout=5s;"
            for i in range(replicas)
        ),
        "actions_servers": "\n".join(
            f"        server 127.0.0.1:{ports.actions + i} max_fails=1 fail_timeout=5s;"
            for i in range(replicas)
        ),
        "bot_location": bot_location,
        "web_location": (
            f"            proxy_pass http://127.0.0.1:{ports.web};\n"
            "            proxy_set_header Host $host;\n"
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"
            if ports.web
            else "            return 404;"
        ),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise ServerError("Chưa cài nginx: `make cluster` tự cài (apt-get install -y nginx).")
    return found


class Replica(Servers):
    """One Rasa replica and one action server: Servers' command lines with the cluster's
    endpoints file."""

    def __init__(self, rasa_port: int, actions_port: int, endpoints: Path) -> None:
        super().__init__(rasa_port, actions_port)
        self.endpoints = endpoints

    def _endpoints_file(self) -> Path:
        return self.endpoints


class Cluster(Supervisor):
    """nginx, ``replicas`` Rasa replicas and as many action servers, and the bot when
    TELEGRAM_BOT_TOKEN is set; files under ``var_dir``/cluster, logs in its log/."""

    def __init__(
        self,
        ports: Ports | None = None,
        replicas: int = 2,
        var_dir: Path | None = None,
        **supervision: Any,
    ) -> None:
        self.base_dir = (var_dir or config.VAR_DIR) / "cluster"
        super().__init__(log_dir=self.base_dir / "log", cwd=ROOT, **supervision)
        self.ports = ports or Ports()
        self.replicas = max(1, replicas)
        self.secrets: dict[str, str] = {}
        self.roles: dict[str, str] = {}

    @property
    def entry_url(self) -> str:
        return self.ports.entry_url

    def _environment(self) -> dict[str, str]:
        current = config.settings()
        if not current.redis_url:
            raise ServerError("Cụm máy chủ cần REDIS_URL (ví dụ redis://127.0.0.1:6379/0).")
        env = _child_env(1)
        env.pop("SANIC_WORKERS", None)  # one process each: the replicas are the parallelism
        env.update(self.secrets)
        env["DATABASE_URL"] = current.database_url
        env["REDIS_URL"] = current.redis_url  # the action servers' shared lookup limits
        env["TICKET_LOCK_LIFETIME"] = str(LOCK_LIFETIME_SECONDS)
        return env

    def _write(self, name: str, text: str, mode: int = 0o600) -> Path:
        path = self.base_dir / name
        tmp = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(path)
        return path

    def prepare(self) -> None:
        """Write the configuration files, create the tracker store's table."""
        current = config.settings()
        if not current.database_url:
            raise ServerError("Cụm máy chủ cần DATABASE_URL (PostgreSQL).")
        self.secrets = config.ensure_secrets()
        run_dir = self.base_dir / "nginx"
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        assert self.log_dir is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write(
            "endpoints.yml",
            endpoints_yaml(self.ports, current.database_url, current.redis_url or ""),
        )
        token = current.telegram_bot_token.get_secret_value()
        from bot.app import webhook_path  # python-telegram-bot: only when the bot runs

        self._write(
            "nginx.conf",
            render_nginx(
                self.ports,
                self.replicas,
                run_dir,
                self.log_dir,
                webhook_path(token) if token else None,
            ),
            0o644,
        )
        create_tracker_table(self.base_dir / "endpoints.yml", self._environment())

    def start(self) -> None:
        _, _, port = self.ports.listen.rpartition(":")
        busy = [int(port)] + [self.ports.actions_entry]
        busy += [self.ports.rasa + i for i in range(self.replicas)]
        busy += [self.ports.actions + i for i in range(self.replicas)]
        busy += [self.ports.web] if self.ports.web else []
        for number in busy:
            if _port_busy(number):
                raise ServerError(f"Cổng {number} đang được dùng (có một cụm khác đang chạy?)")
        self.prepare()
        env = self._environment()
        nginx = nginx_binary()
        subprocess.run(  # a configuration error is said here, not in a restart loop
            [nginx, "-t", "-q", "-c", str(self.base_dir / "nginx.conf")],
            check=True,
            capture_output=True,
        )
        children: list[Child] = []
        replicas = [
            Replica(self.ports.rasa + i, self.ports.actions + i, self.base_dir / "endpoints.yml")
            for i in range(self.replicas)
        ]
        for i, replica in enumerate(replicas, 1):
            actions, _ = replica._commands()
            children.append(
                Child(f"actions-{i}", f"Máy chủ action {i}", actions,
                      f"{replica.actions_url}/health", env=env)
            )  # fmt: skip
        for i, replica in enumerate(replicas, 1):
            replica.secrets = self.secrets
            _, rasa = replica._commands()
            children.append(
                Child(f"rasa-{i}", f"Rasa {i}", rasa, f"{replica.rasa_url}/",
                      ready=replica._rasa_ready, env=env)
            )  # fmt: skip
        nginx_health = f"http://127.0.0.1:{self.ports.actions_entry}/nginx-health"
        children.append(
            Child("nginx", "nginx", [nginx, "-c", str(self.base_dir / "nginx.conf"),
                  "-g", "daemon off;"], nginx_health, env=env)
        )  # fmt: skip
        if self.ports.web:
            children.append(self._web_child(env))
        if config.settings().telegram_bot_token.get_secret_value():
            children.append(self._bot_child(env))
        self.children = children
        self.roles = {child.name: child.label for child in children}
        super().start()

    def _web_child(self, env: dict[str, str]) -> Child:
        """The web app (trolydvc.web) on loopback; it reaches Rasa through the entry, so a dead
        replica is skipped as for the bot."""
        exe = shutil.which("trolydvc") or str(Path(sys.executable).with_name("trolydvc"))
        command = [exe, "web", "--port", str(self.ports.web), "--rasa-url", self.entry_url]
        return Child("web", "Trang web", command, f"http://127.0.0.1:{self.ports.web}/healthz",
                     env=env)  # fmt: skip

    def _bot_child(self, env: dict[str, str]) -> Child:
        current = config.settings()
        if not current.webhook_url or not current.webhook_secret:
            raise ServerError(
                "Với TELEGRAM_BOT_TOKEN, cụm chạy bot ở chế độ webhook: cần WEBHOOK_URL "
                "(địa chỉ https:// công khai của nginx) và WEBHOOK_SECRET."
            )
        exe = shutil.which("trolydvc") or str(Path(sys.executable).with_name("trolydvc"))
        bot_env = dict(
            env,
            RASA_URL=self.entry_url,  # through nginx: a dead replica is skipped
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(self.ports.bot),
        )
        # The bot's webhook server answers only its secret path; a port that accepts
        # connections is its health (GET on the path: 405 from a live server).
        return Child("bot", "Bot Telegram", [exe, "bot"], "", ready=self._bot_alive, env=bot_env)

    def _bot_alive(self, http: httpx.Client) -> bool:
        return _port_busy(self.ports.bot)

    def _problem(self, child: Child, http: httpx.Client) -> str | None:
        if child.name != "bot" or not child.is_ready:
            return super()._problem(child, http)
        code = child.keeper.poll() if child.keeper else None
        if code is not None:
            return f"{child.label} đã dừng (mã thoát {code})"
        if self._bot_alive(http):
            child.failures = 0
            return None
        child.failures += 1
        if child.failures < self.health_failures:
            return None
        return f"{child.label} không nhận kết nối ({child.failures} lần kiểm tra liên tiếp)"

    def warm_up(self) -> None:
        """One real action call to each action server, whose first call loads the catalog, its
        search index and locality.yml (1.2 s on an idle machine, over 10 s -- the action
        timeout -- while two Rasa replicas load on 2 busy cores), so no user waits for that."""
        tracker = {
            "sender_id": "warm-up",
            "slots": {},
            "latest_message": {
                "text": "thủ tục đăng ký khai sinh",
                "intent": {"name": "inform", "confidence": 1.0},
                "entities": [],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
        body = {"next_action": "action_inform", "sender_id": "warm-up", "tracker": tracker,
                "domain": {}, "version": "3.6.21"}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.secrets['ACTION_SERVER_TOKEN']}"}
        with httpx.Client(timeout=60.0) as http:
            for i in range(self.replicas):
                url = f"http://127.0.0.1:{self.ports.actions + i}/webhook"
                # a slow first call is what this is for; a failed one is not fatal
                with contextlib.suppress(httpx.HTTPError):
                    http.post(url, json=body, headers=headers)

    def describe(self) -> dict[str, Any]:
        """var/cluster.json's content: every process's role and pid."""
        pids = self.pids()
        return {
            "cluster": os.getpid(),
            "entry": self.entry_url,
            "processes": [
                {"name": name, "role": label, "pid": pids.get(name)}
                for name, label in self.roles.items()
            ],
        }


def create_tracker_table(endpoints: Path, env: dict[str, str]) -> None:
    """Create Rasa's events table once, before the replicas start (two replicas creating it at
    the same moment can fail on PostgreSQL's catalog), from Rasa's own model of it, with the
    index of trolydvc.rasa_stores.SESSION_INDEX."""
    result = subprocess.run(
        [str(RASA_PYTHON), "-m", "trolydvc.rasa_stores", str(endpoints)],
        cwd=ROOT,  # -m imports this repository's trolydvc
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(
            "Không tạo được bảng hội thoại của Rasa trong PostgreSQL: "
            + (result.stderr.strip().splitlines() or ["?"])[-1]
        )
