"""The production topology on one machine: nginx -> N Rasa replicas -> N action servers.

Rasa replicas keep conversations in PostgreSQL (Rasa's SQL tracker store, through
trolydvc.rasa_stores, which keeps personal data out of the stored events) and take each
conversation's lock in Redis, so any replica can handle any message and a replica that dies loses
nothing. Every process runs under supervisord (trolydvc.cluster.supervision: why supervisord, and
what is added to it): started in order, restarted when it dies or stops answering its health URL,
all stopped on Ctrl-C/SIGTERM. The command lines of Rasa, the action server and the web app are
trolydvc.serve.Servers' own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from trolydvc import config
from trolydvc.cluster.listener import probe
from trolydvc.cluster.supervision import (
    STARTRETRIES,
    STOP_GRACE,
    Program,
    Supervisord,
    render_conf,
    socket_path,
)
from trolydvc.serve.runner import READY_TIMEOUT, ServerError
from trolydvc.serve.servers import (
    RASA_PYTHON,
    ROOT,
    Servers,
    _child_env,
    _port_busy,
    cli_command,
    conversation_log_broker,
    web_command,
)

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
# How long a conversation's Redis lock outlives a replica killed while holding it: the longest
# turn we accept (an action call times out after 10 s, trolydvc.rasa_server) plus a margin. A
# message to that conversation meanwhile waits (it is not lost); Rasa's default is 60 s.
LOCK_LIFETIME_SECONDS = 15
REQUEST_RATE = "10r/s"
PURGE_INTERVAL = 3600.0  # the running cluster expires silent conversations once an hour


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


# What messages call supervisord and its event listeners (trolydvc/cluster/listener.py).
HELPER_LABELS = {
    "supervisord": "supervisord",
    "health": "Bộ kiểm tra sức khoẻ",
    "reaper": "Bộ dọn tiến trình mồ côi",
}


class Cluster:
    """nginx, ``replicas`` Rasa replicas and as many action servers, the web app (``ports.web``)
    and the bot (TELEGRAM_BOT_TOKEN), under supervisord (trolydvc.cluster.supervision); files
    under ``var_dir``/cluster, logs in its log/.

    start() returns once supervisord runs; wait_ready() waits for every program to answer;
    check(), called every second by `trolydvc cluster`, reports what supervisord and the health
    listener restarted and runs the hourly purge; stop() stops everything."""

    def __init__(
        self,
        ports: Ports | None = None,
        replicas: int = 2,
        var_dir: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.base_dir = (var_dir or config.VAR_DIR) / "cluster"
        self.log_dir = self.base_dir / "log"
        self.ports = ports or Ports()
        self.replicas = max(1, replicas)
        self.ready_timeout = ready_timeout
        self.secrets: dict[str, str] = {}
        self.programs: list[Program] = []
        self.supervisord: Supervisord | None = None
        self._rasa: dict[str, Replica] = {}  # program name -> its replica (readiness check)
        self._known: dict[str, int] = {}  # program name -> the pid last seen
        self._back: set[str] = set()  # restarted, not ready yet
        self._next_purge = 0.0
        self._http: httpx.Client | None = None

    @property
    def entry_url(self) -> str:
        return self.ports.entry_url

    @property
    def health_state(self) -> Path:
        return self.base_dir / "health.json"

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
        nginx = nginx_binary()
        subprocess.run(  # a configuration error is said here, not in a restart loop
            [nginx, "-t", "-q", "-c", str(self.base_dir / "nginx.conf")],
            check=True,
            capture_output=True,
        )
        self.programs = self._programs(nginx)
        socket = socket_path(self.base_dir)
        self.health_state.unlink(missing_ok=True)
        conf = self._write(
            "supervisord.conf",
            render_conf(
                self.programs,
                socket=socket,
                log_dir=self.log_dir,
                pid_file=self.base_dir / "supervisord.pid",
                health_state=self.health_state,
                cwd=ROOT,
            ),
        )
        self._known.clear()
        self._back.clear()
        self.supervisord = Supervisord(conf, socket, self._environment(), ROOT)
        self.supervisord.start()

    def _programs(self, nginx: str) -> list[Program]:
        """What supervisord runs, by priority: the action servers, the Rasa replicas (their
        command lines are trolydvc.serve.Servers'), nginx, the web app, the bot. The replicas
        start once the others answer (wait_ready): an action server loads the catalog before it
        serves, and with two replicas loading their models on the same 2 cores it took over 30 s,
        after which Sanic gives up on its worker and shuts down (seen in tests/cluster)."""
        programs: list[Program] = []
        self._rasa = {}
        for i in range(1, self.replicas + 1):
            replica = Replica(
                self.ports.rasa + i - 1, self.ports.actions + i - 1, self.base_dir / "endpoints.yml"
            )
            replica.secrets = self.secrets
            actions, rasa = replica._commands()
            programs.append(
                Program(f"actions-{i}", f"Máy chủ action {i}", actions, 100 + i,
                        f"{replica.actions_url}/health")
            )  # fmt: skip
            # Rasa's / answers as soon as the model is loaded and the server runs
            programs.append(
                Program(f"rasa-{i}", f"Rasa {i}", rasa, 200 + i, f"{replica.rasa_url}/",
                        autostart=False)
            )  # fmt: skip
            self._rasa[f"rasa-{i}"] = replica
        nginx_command = [nginx, "-c", str(self.base_dir / "nginx.conf"), "-g", "daemon off;"]
        nginx_health = f"http://127.0.0.1:{self.ports.actions_entry}/nginx-health"
        programs.append(Program("nginx", "nginx", nginx_command, 300, nginx_health))
        if self.ports.web:
            # the web app reaches Rasa through the entry, so a dead replica is skipped
            programs.append(
                Program("web", "Trang web", web_command(self.ports.web, self.entry_url), 400,
                        f"http://127.0.0.1:{self.ports.web}/healthz")
            )  # fmt: skip
        if config.settings().telegram_bot_token.get_secret_value():
            programs.append(self._bot_program())
        return programs

    def _bot_program(self) -> Program:
        current = config.settings()
        if not current.webhook_url or not current.webhook_secret:
            raise ServerError(
                "Với TELEGRAM_BOT_TOKEN, cụm chạy bot ở chế độ webhook: cần WEBHOOK_URL "
                "(địa chỉ https:// công khai của nginx) và WEBHOOK_SECRET."
            )
        environment = {
            "RASA_URL": self.entry_url,  # through nginx: a dead replica is skipped
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(self.ports.bot),
        }
        # The bot's webhook server answers only its secret path; a port that accepts
        # connections is its health (GET on the path: 405 from a live server).
        return Program("bot", "Bot Telegram", cli_command("bot"), 500,
                       f"tcp://127.0.0.1:{self.ports.bot}", environment)  # fmt: skip

    # --- watching -----------------------------------------------------------------------------
    def hint(self) -> str:
        return f" (xem {self.log_dir}/*.log)"

    def _label(self, name: str) -> str:
        for program in self.programs:
            if program.name == name:
                return program.label
        return HELPER_LABELS.get(name, name)

    def _supervisord(self) -> Supervisord:
        if self.supervisord is None:
            raise ServerError("Cụm máy chủ chưa được khởi động.")
        return self.supervisord

    def _infos(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every process; ServerError when supervisord is gone or has
        given up on a program (FATAL: it exited within STARTSECS, STARTRETRIES times)."""
        supervisord = self._supervisord()
        code = supervisord.poll()
        if code is not None:
            raise ServerError(f"supervisord đã dừng (mã thoát {code}){self.hint()}")
        try:
            infos = supervisord.processes()
        except (OSError, xmlrpc.client.Error) as exc:
            raise ServerError(
                f"supervisord không trả lời ({type(exc).__name__}){self.hint()}"
            ) from None
        for name, info in infos.items():
            if info["statename"] == "FATAL":
                raise ServerError(
                    f"{self._label(name)} không khởi động được sau {STARTRETRIES} lần thử"
                    f"{' (' + info['spawnerr'] + ')' if info['spawnerr'] else ''}; "
                    f"dừng tất cả các máy chủ{self.hint()}"
                )
        return infos

    def _ready(self, name: str, http: httpx.Client) -> bool:
        """Ready to serve: Rasa with its model loaded, the others answering their health URL."""
        replica = self._rasa.get(name)
        if replica is not None:
            return replica._rasa_ready(http)
        program = next((p for p in self.programs if p.name == name), None)
        return program is None or not program.health or probe(program.health, 2.0)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every program runs and is ready; start the Rasa replicas once all the
        others are."""
        timeout = self.ready_timeout if timeout is None else timeout
        logging.getLogger("httpx").setLevel(logging.WARNING)  # no log line per poll
        deadline = time.monotonic() + timeout
        ready: dict[str, int] = {}  # name -> the pid found ready
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                infos = self._infos()
                for name, info in infos.items():
                    if (
                        info["statename"] == "RUNNING"
                        and ready.get(name) != info["pid"]
                        and self._ready(name, http)
                    ):
                        ready[name] = info["pid"]
                later = [
                    p.name
                    for p in self.programs
                    if not p.autostart and infos[p.name]["statename"] == "STOPPED"
                ]
                if all(ready.get(n) == i["pid"] for n, i in infos.items() if n not in later):
                    if not later:
                        self._known = {name: info["pid"] for name, info in infos.items()}
                        return
                    for name in later:
                        self._supervisord().start_program(name)
                time.sleep(0.5)
        raise ServerError(f"Các máy chủ chưa sẵn sàng sau {timeout:.0f} giây{self.hint()}")

    def check(self) -> list[str]:
        """What happened since the last call, one line per event: a process gone (and why, when
        the health listener stopped it), a restarted process ready again, the hourly purge.
        Raises ServerError when supervisord is gone or gave up on a program."""
        infos = self._infos()
        if self._http is None:
            self._http = httpx.Client(timeout=2.0)
        events = []
        for name, info in infos.items():
            pid, known = info["pid"], self._known.get(name)
            if known and pid != known:
                events.append(self._gone(name, known))
                self._back.add(name)
            self._known[name] = pid
            if (
                name in self._back
                and info["statename"] == "RUNNING"
                and self._ready(name, self._http)
            ):
                self._back.discard(name)
                events.append(f"{self._label(name)} đã hoạt động trở lại.")
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_INTERVAL
            purged = self._purge()
            if purged:
                events.append(purged)
        return events

    def _gone(self, name: str, pid: int) -> str:
        label = self._label(name)
        try:
            reasons = json.loads(self.health_state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            reasons = {}
        entry = reasons.get(name) or {}
        if entry.get("pid") == pid:
            return f"{label} {entry.get('reason')}; đang khởi động lại…"
        return (
            f"{label} đã dừng (pid {pid}); supervisord đang khởi động lại… "
            f"(xem {self.log_dir}/supervisord.log)"
        )

    def _purge(self) -> str | None:
        from trolydvc.cluster.retention import purge_conversations

        days = config.settings().conversation_retention_days
        try:
            count = purge_conversations(days)
        except Exception as exc:  # the cluster keeps answering; the next hour tries again
            return f"Cảnh báo: chưa xoá được hội thoại cũ ({type(exc).__name__})."
        return f"Đã xoá {count} hội thoại im lặng quá {days:g} ngày." if count else None

    # --- for callers ----------------------------------------------------------------------------
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

    def pids(self) -> dict[str, int]:
        """The pid of every process supervisord runs (programs and event listeners), by name;
        not supervisord's own, whose process tree holds them all."""
        if self.supervisord is None or self.supervisord.poll() is not None:
            return {}
        try:
            infos = self.supervisord.processes()
        except (OSError, xmlrpc.client.Error):
            return {}
        return {name: info["pid"] for name, info in infos.items() if info["pid"]}

    def describe(self) -> dict[str, Any]:
        """var/cluster.json's content: every process's role and pid, supervisord's included."""
        pids = self.pids()
        processes = [{"name": "supervisord", "role": HELPER_LABELS["supervisord"],
                      "pid": self.supervisord.pid if self.supervisord else None}]  # fmt: skip
        names = [p.name for p in self.programs] + ["health", "reaper"]
        processes += [{"name": n, "role": self._label(n), "pid": pids.get(n)} for n in names]
        return {"entry": self.entry_url, "processes": processes}

    def stop(self, timeout: float | None = None) -> None:
        """Stop supervisord and, through it, every program (highest priority first). Safe to
        call again."""
        if timeout is None:
            timeout = STOP_GRACE * (len(self.programs) + 2) + 5.0
        if self.supervisord is not None:
            self.supervisord.stop(timeout)
        if self._http is not None:
            self._http.close()
            self._http = None


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
