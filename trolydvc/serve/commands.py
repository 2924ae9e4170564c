"""`trolydvc serve` and `trolydvc run`: the action server and Rasa as two child processes.

``serve`` keeps both in the foreground (logs to the terminal) until Ctrl-C or SIGTERM, then
stops both. ``run`` starts them in the background (logs under var/log/), waits until Rasa has
loaded its model, then opens the terminal chat — or the Telegram bot when
``TELEGRAM_BOT_TOKEN`` is set — and stops the servers when that ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from trolydvc import config
from trolydvc.serve.database import _prepare_database_or_warn
from trolydvc.serve.runner import (
    DEFAULT_ACTIONS_PORT,
    DEFAULT_RASA_PORT,
    MODEL,
    ServerError,
    Servers,
)

PIDS_FILE = config.VAR_DIR / "serve.json"  # read by bench/e2e.py to sample memory


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
