"""`trolydvc serve` and `trolydvc run`: the action server and Rasa as two child processes.

``serve`` keeps both in the foreground (logs to the terminal) until Ctrl-C or SIGTERM, then
stops both. ``run`` starts them in the background (logs under var/log/), waits until Rasa has
loaded its model, then opens the terminal chat — or the Telegram bot when
``TELEGRAM_BOT_TOKEN`` is set — and stops the servers when that ends.

:class:`Servers` is also what the conversation tests and bench/e2e.py use to start their own
pair on other ports.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import click
import httpx

from trolydvc import config

ROOT = config.ROOT
MODEL = ROOT / "models" / "assistant.tar.gz"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
DEFAULT_RASA_PORT = 5005
DEFAULT_ACTIONS_PORT = 5055
READY_TIMEOUT = 240.0  # model load takes ~35 s, more when the machine is busy
PIDS_FILE = config.VAR_DIR / "serve.json"  # read by bench/e2e.py to sample memory


class ServerError(Exception):
    """A server did not start; the message says which and why."""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SANIC_HOST="127.0.0.1",  # the action server listens on loopback only
        PYTHONUNBUFFERED="1",
        # Rasa 3.6's dependencies print pages of deprecation warnings at start-up.
        PYTHONWARNINGS="ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    )
    return env


class Servers:
    """The action server and Rasa on the given ports, started and stopped together."""

    def __init__(
        self,
        rasa_port: int = DEFAULT_RASA_PORT,
        actions_port: int = DEFAULT_ACTIONS_PORT,
        model: Path = MODEL,
        log_dir: Path | None = None,
        cors: tuple[str, ...] = ("http://localhost", "http://127.0.0.1"),
        workers: int = 1,
    ) -> None:
        self.rasa_port = rasa_port
        self.actions_port = actions_port
        self.model = model
        self.log_dir = log_dir
        self.cors = cors
        self.workers = max(1, workers)
        self.actions: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []
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

    def _endpoints_file(self) -> Path:
        if self.actions_port == DEFAULT_ACTIONS_PORT and self.workers == 1:
            return ROOT / "endpoints.yml"
        self._tmp = tempfile.TemporaryDirectory(prefix="trolydvc-")
        path = Path(self._tmp.name) / "endpoints.yml"
        # plain scalar: Rasa expands ${...} only there
        text = (
            f'action_endpoint:\n  url: "{self.actions_url}/webhook"\n'
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
        )
        if self.workers > 1:
            text += _redis_stores_yaml()
        path.write_text(text)
        return path

    def _output(self, name: str) -> IO[bytes] | None:
        if self.log_dir is None:
            return None  # inherit the terminal
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def start(self) -> None:
        if not self.model.is_file():
            raise ServerError(
                f"Chưa có mô hình đã huấn luyện tại {self.model}; hãy chạy `make train` trước"
            )
        if not RASA_BIN.exists():
            raise ServerError(f"Không tìm thấy {RASA_BIN}; hãy chạy `make setup` trước")
        for port in (self.actions_port, self.rasa_port):
            if _port_busy(port):
                raise ServerError(f"Cổng {port} đang được dùng (có một `serve` khác đang chạy?)")
        self.secrets = config.ensure_secrets()
        env = _child_env()
        env.update(self.secrets)
        if self.workers > 1:
            env["SANIC_WORKERS"] = str(self.workers)
        actions_cmd = [
            sys.executable, "-m", "trolydvc.action_server", "--actions", "actions",
            "--port", str(self.actions_port),
        ]  # fmt: skip
        # `rasa run` through trolydvc.rasa_server: same arguments, one fix (see that module).
        rasa_cmd = [
            str(RASA_PYTHON), "-m", "trolydvc.rasa_server", "run",
            "-m", str(self.model),
            "--enable-api",
            "--cors", *self.cors,
            "-i", "127.0.0.1",
            "-p", str(self.rasa_port),
            "--endpoints", str(self._endpoints_file()),
            "--credentials", str(ROOT / "credentials.yml"),
        ]  # fmt: skip
        out = self._output("actions")
        self.actions = subprocess.Popen(
            actions_cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
        out = self._output("rasa")
        self.rasa = subprocess.Popen(
            rasa_cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait for the action server's /health and Rasa's /status with a loaded model."""
        logging.getLogger("httpx").setLevel(logging.WARNING)  # no log line per poll
        deadline = time.monotonic() + timeout
        actions_ok = rasa_ok = False
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                for name, proc in (("Máy chủ action", self.actions), ("Rasa", self.rasa)):
                    if proc is not None and proc.poll() is not None:
                        raise ServerError(
                            f"{name} đã dừng với mã thoát {proc.returncode}{self._hint()}"
                        )
                if not actions_ok:
                    actions_ok = _get_ok(http, f"{self.actions_url}/health")
                if not rasa_ok:
                    rasa_ok = _rasa_ready(http, self.rasa_url, self.secrets["RASA_AUTH_TOKEN"])
                if actions_ok and rasa_ok:
                    return
                time.sleep(0.5)
        raise ServerError(f"Các máy chủ chưa sẵn sàng sau {timeout:.0f} giây{self._hint()}")

    def _hint(self) -> str:
        return f" (xem {self.log_dir}/*.log)" if self.log_dir else ""

    def pids(self) -> dict[str, int]:
        return {
            name: proc.pid
            for name, proc in (("rasa", self.rasa), ("actions", self.actions))
            if proc is not None
        }

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM both process groups, SIGKILL what is left after `timeout` seconds."""
        procs = [p for p in (self.rasa, self.actions) if p is not None and p.poll() is None]
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for handle in self._logs:
            handle.close()
        self._logs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Servers:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _redis_stores_yaml() -> str:
    """Tracker and lock stores in Redis (REDIS_URL), which several Rasa workers must share.
    Conversations expire after an hour of silence (nothing kept longer than needed)."""
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
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
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _get_ok(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def _rasa_ready(http: httpx.Client, base_url: str, auth_token: str) -> bool:
    try:
        response = http.get(f"{base_url}/status", headers={"Authorization": f"Bearer {auth_token}"})
        return response.status_code == 200 and bool(response.json().get("model_file"))
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so the `finally` blocks stop the children."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_pids(servers: Servers) -> None:
    PIDS_FILE.parent.mkdir(parents=True, exist_ok=True)
    PIDS_FILE.write_text(
        json.dumps({"pids": servers.pids(), "rasa_url": servers.rasa_url}, indent=2) + "\n"
    )


def prepare_embedded_database(echo: bool = True) -> None:
    """With the embedded SQLite database (no DATABASE_URL): bring its schema up to date and,
    when it holds no dossier at all, load the seeded demo dossiers so lookups work out of the
    box. A PostgreSQL deployment (DATABASE_URL set) is left to its operator."""
    if os.environ.get("DATABASE_URL", "").strip():
        return
    from sqlalchemy import func, select

    from trolydvc.db.base import get_session
    from trolydvc.db.migrate import upgrade
    from trolydvc.db.models import Dossier

    upgrade()
    with get_session() as session:
        count = session.scalar(select(func.count()).select_from(Dossier)) or 0
    if count:
        return
    from trolydvc.tracking.demo import SHOWCASE_PHONE_LAST4, load_demo_data

    result = load_demo_data()
    if echo:
        click.echo(
            f"Đã nạp {result.imported} hồ sơ mẫu vào cơ sở dữ liệu nhúng. Mã để thử tra cứu "
            f"(4 số cuối điện thoại: {SHOWCASE_PHONE_LAST4}): " + ", ".join(result.showcase[:3]),
            err=True,
        )


def _prepare_database_or_warn() -> None:
    try:
        prepare_embedded_database()
    except Exception as exc:  # the assistant still answers procedure questions without it
        click.echo(f"Cảnh báo: chưa chuẩn bị được cơ sở dữ liệu hồ sơ ({exc}).", err=True)


F = TypeVar("F", bound=Callable[..., Any])


def _port_options(command: F) -> F:
    """--rasa-port and --actions-port, shared by `serve` and `run`."""
    command = click.option(
        "--actions-port",
        default=DEFAULT_ACTIONS_PORT,
        show_default=True,
        type=int,
        help="Cổng của máy chủ action.",
    )(command)
    return click.option(
        "--rasa-port", default=DEFAULT_RASA_PORT, show_default=True, type=int, help="Cổng của Rasa."
    )(command)


@click.command()
@_port_options
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 8),
    envvar="RASA_WORKERS",
    help="Số tiến trình Rasa (từ 2 trở lên thì lưu hội thoại trong Redis: REDIS_URL).",
)
def serve(rasa_port: int, actions_port: int, workers: int) -> None:
    """Chạy máy chủ action và Rasa (kênh REST, HTTP API) đến khi nhấn Ctrl-C hoặc có SIGTERM."""
    servers = Servers(rasa_port, actions_port, workers=workers)
    with _terminate_on_sigterm():
        try:
            _prepare_database_or_warn()
            servers.start()
            _write_pids(servers)
            click.echo(f"Đang chờ Rasa nạp mô hình {MODEL.name} (khoảng 35 giây)…", err=True)
            servers.wait_ready()
            click.echo(
                f"Sẵn sàng: Rasa {servers.rasa_url} (REST: /webhooks/rest/webhook), "
                f"máy chủ action {servers.actions_url}. Nhấn Ctrl-C để dừng cả hai.",
                err=True,
            )
            while all(p.poll() is None for p in (servers.rasa, servers.actions) if p):
                time.sleep(0.5)
            raise click.ClickException("Một máy chủ đã dừng bất thường; đang dừng máy chủ còn lại.")
        except ServerError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Đang dừng các máy chủ…", err=True)
        finally:
            servers.stop()
            PIDS_FILE.unlink(missing_ok=True)


@click.command()
@_port_options
def run(rasa_port: int, actions_port: int) -> None:
    """Khởi động các máy chủ rồi trò chuyện trong terminal.

    Nếu đã đặt TELEGRAM_BOT_TOKEN thì chạy bot Telegram thay cho trò chuyện trong terminal. Các
    máy chủ được dừng khi kết thúc.
    """
    log_dir = config.VAR_DIR / "log"
    servers = Servers(rasa_port, actions_port, log_dir=log_dir)
    with _terminate_on_sigterm():
        try:
            _prepare_database_or_warn()
            servers.start()
            _write_pids(servers)
            click.echo(f"Đang khởi động trợ lý (khoảng 30–60 giây; nhật ký: {log_dir})…", err=True)
            servers.wait_ready()
            if os.environ.get("TELEGRAM_BOT_TOKEN", "").strip():
                _run_bot(servers.rasa_url)
            else:
                from trolydvc.chat import chat_loop

                chat_loop(servers.rasa_url)
        except ServerError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("", err=True)
        finally:
            click.echo("Đang dừng trợ lý…", err=True)
            servers.stop()
            PIDS_FILE.unlink(missing_ok=True)


def _run_bot(rasa_url: str) -> None:
    """Run the Telegram bot (bot/cli.py, `trolydvc bot`) in the foreground."""
    try:
        import bot.cli  # noqa: F401
    except ModuleNotFoundError:
        raise click.ClickException(
            "Đã đặt TELEGRAM_BOT_TOKEN nhưng bản mã nguồn này không có bot Telegram."
        ) from None
    exe = shutil.which("trolydvc") or str(Path(sys.executable).with_name("trolydvc"))
    env = dict(os.environ, RASA_URL=rasa_url)
    proc = subprocess.Popen([exe, "bot"], env=env)
    try:
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
