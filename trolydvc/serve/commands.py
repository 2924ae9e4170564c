"""`trolydvc serve` and `trolydvc run`: the action server and Rasa as two child processes.

``serve`` keeps both in the foreground (logs to the terminal) until Ctrl-C or SIGTERM, then
stops both. ``run`` starts them in the background (logs under var/log/), waits until Rasa has
loaded its model, then opens the terminal chat — or the Telegram bot when
``TELEGRAM_BOT_TOKEN`` is set — and stops the servers when that ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from trolydvc import config
from trolydvc.chat import chat_loop
from trolydvc.serve.database import _prepare_database_or_warn
from trolydvc.serve.runner import ServerError, Supervised
from trolydvc.serve.servers import DEFAULT_ACTIONS_PORT, DEFAULT_RASA_PORT, MODEL, Servers
from trolydvc.web.cli import DEFAULT_PORT as DEFAULT_WEB_PORT

PIDS_FILE = config.VAR_DIR / "serve.json"  # read by bench/e2e.py to sample memory
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopFlag:
    """A stop request, set from a signal handler without taking a lock.

    A threading.Event takes its lock in set(): a second SIGTERM arriving while the first
    handler was inside set() deadlocked the main thread (seen with the two SIGTERMs of `make
    serve` stopped by process group: serve hung and its servers kept their ports)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True  # one attribute store: atomic, and nothing to wait for

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Whether the flag is set, checked every 0.1 s for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._set and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return self._set


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP ask to stop. The first one raises KeyboardInterrupt in the main
    thread (to get out of whatever it is blocked in: a wait, the chat's input); later ones only
    note the request, so they cannot interrupt the stop itself. `make serve` stopped by process
    group sends two SIGTERMs (make forwards its own to us), Ctrl-C pressed twice sends two SIGINTs.
    """

    def __init__(self) -> None:
        self.requested = StopFlag()
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        first = not self.requested.is_set()
        self.requested.set()
        if first:
            raise KeyboardInterrupt

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def stop_fully(servers: Supervised, stop: StopSignals) -> None:
    """Stop the servers; a stop signal arriving meanwhile does not cut it short."""
    stop.requested.set()  # from here on, signals no longer raise
    while True:
        try:
            servers.stop()
            return
        except KeyboardInterrupt:  # raised before the line above ran: stop again, to the end
            continue


class PidFile:
    """var/serve.json (bench/e2e.py samples the servers' memory) or var/cluster.json: our pid
    under ``owner``, and what the servers describe (their pids). Removed only if it is still the
    one this process wrote."""

    def __init__(self, path: Path | None = None, owner: str = "serve") -> None:
        self.path = PIDS_FILE if path is None else path
        self.owner = owner

    def write(self, servers: Supervised, **extra: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {self.owner: os.getpid(), **servers.describe(), **extra}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def remove_if_ours(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if json.loads(self.path.read_text()).get(self.owner) == os.getpid():
                self.path.unlink()


def supervise(
    servers: Supervised,
    pid_file: PidFile,
    waiting: str,
    ready: str,
    on_ready: Callable[[], None] | None = None,
    **pid_extra: Any,
) -> None:
    """Start the servers, keep them running until a stop signal, stop them; what `serve` and
    `cluster` do. ``on_ready`` runs once every server is ready, before ``ready`` is said.

    Raises click.ClickException when a server cannot be started or kept running."""
    failure: ServerError | None = None
    with StopSignals() as stop:
        started = False
        try:
            servers.start()
            started = True
            pid_file.write(servers, **pid_extra)
            click.echo(waiting, err=True)
            servers.wait_ready()
            if on_ready is not None:
                on_ready()
            pid_file.write(servers, **pid_extra)  # the servers' own pids, known by now
            click.echo(ready, err=True)
            while not stop.requested.wait(1.0):
                events = servers.check()
                for event in events:
                    click.echo(event, err=True)
                if events:
                    pid_file.write(servers, **pid_extra)
        except ServerError as exc:
            failure = exc
        except KeyboardInterrupt:
            pass
        finally:
            if stop.requested.is_set():
                click.echo("Đang dừng các máy chủ…", err=True)
            stop_fully(servers, stop)
            if started:
                pid_file.remove_if_ours()
    if failure is not None:
        raise click.ClickException(str(failure))
    click.echo("Đã dừng các máy chủ.", err=True)


F = TypeVar("F", bound=Callable[..., Any])


def _port_options(command: F) -> F:
    """--rasa-port, --actions-port and --web-port, shared by `serve` and `run`."""
    command = click.option(
        "--web-port",
        default=DEFAULT_WEB_PORT,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Cổng của trang web (khung trò chuyện, trang quản trị); 0: không chạy trang web.",
    )(command)
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
    default=lambda: config.settings().rasa_workers,
    show_default="1, or RASA_WORKERS",
    type=click.IntRange(1, 8),
    help="Số tiến trình Rasa (từ 2 trở lên thì lưu hội thoại trong Redis: REDIS_URL).",
)
def serve(rasa_port: int, actions_port: int, web_port: int, workers: int) -> None:
    """Chạy máy chủ action, Rasa (kênh REST, HTTP API) và trang web đến khi nhấn Ctrl-C hoặc có SIGTERM."""
    servers = Servers(rasa_port, actions_port, workers=workers, web_port=web_port or None)
    _prepare_database_or_warn()
    supervise(
        servers,
        PidFile(),
        waiting=f"Đang chờ Rasa nạp mô hình {MODEL.name} (khoảng 35 giây)…",
        ready=(
            f"Sẵn sàng: Rasa {servers.rasa_url} (REST: /webhooks/rest/webhook), "
            f"máy chủ action {servers.actions_url}"
            + (f", trang web {servers.web_url}/" if web_port else "")
            + ". Nhấn Ctrl-C để dừng."
        ),
        rasa_url=servers.rasa_url,
    )


@click.command()
@_port_options
def run(rasa_port: int, actions_port: int, web_port: int) -> None:
    """Khởi động các máy chủ rồi trò chuyện trong terminal.

    Nếu đã đặt TELEGRAM_BOT_TOKEN thì chạy bot Telegram thay cho trò chuyện trong terminal. Các
    máy chủ được dừng khi kết thúc.
    """
    log_dir = config.VAR_DIR / "log"
    servers = Servers(rasa_port, actions_port, log_dir=log_dir, web_port=web_port or None)
    pid_file = PidFile()
    started = False
    failure: ServerError | None = None
    with StopSignals() as stop:
        try:
            _prepare_database_or_warn()
            servers.start()
            started = True
            pid_file.write(servers, rasa_url=servers.rasa_url)
            click.echo(f"Đang khởi động trợ lý (khoảng 30–60 giây; nhật ký: {log_dir})…", err=True)
            servers.wait_ready()
            pid_file.write(servers, rasa_url=servers.rasa_url)
            if web_port:
                click.echo(f"Trang web có khung trò chuyện: {servers.web_url}/", err=True)
            if config.settings().telegram_bot_token.get_secret_value():
                _run_bot(servers.rasa_url)
            else:
                chat_loop(servers.rasa_url)
        except ServerError as exc:
            failure = exc
        except KeyboardInterrupt:
            click.echo("", err=True)
        finally:
            click.echo("Đang dừng trợ lý…", err=True)
            stop_fully(servers, stop)
            if started:
                pid_file.remove_if_ours()
    if failure is not None:
        raise click.ClickException(str(failure))


def _run_bot(rasa_url: str) -> None:
    """Run the Telegram bot (bot/cli.py, `trolydvc bot`) in the foreground."""
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
