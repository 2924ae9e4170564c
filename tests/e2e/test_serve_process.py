"""`trolydvc serve` with the real Rasa and action server: a dead action-server worker is noticed
and the server restarted, after which conversations work again; SIGKILL of `serve` takes every
child down and frees the ports. (The same behaviours over fake servers, faster and in more
variants: tests/serve/.)"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.processes import port_open
from trolydvc.config import settings
from trolydvc.serve import MODEL

pytestmark = pytest.mark.rasa

ROOT = Path(__file__).resolve().parents[2]
# Two ports above the conversation tests' pair, which may be running in this session.
RASA_PORT = settings().test_rasa_port + 2
ACTIONS_PORT = settings().test_actions_port + 2
REST_TOKEN = secrets.token_urlsafe(16)  # the REST channel's, given to serve


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def sessions_of_children(parent: int) -> list[int]:
    """Every process in the sessions led by `parent`'s children (the keepers)."""
    stats = {int(e): stat(int(e)) for e in os.listdir("/proc") if e.isdigit()}
    keepers = {pid for pid, f in stats.items() if f and int(f[1]) == parent}
    return [pid for pid, f in stats.items() if f and int(f[3]) in keepers and f[0] != "Z"]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def answer(http: httpx.Client, sender: str, text: str) -> str:
    response = http.post(
        f"http://127.0.0.1:{RASA_PORT}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"Authorization": f"Bearer {REST_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text", "") for m in response.json())


def test_serve_restarts_a_dead_action_server_and_dies_with_everything(tmp_path: Path):
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (or `make test`) first")
    err_path = tmp_path / "serve.err"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TROLYDVC_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'dossiers.db'}",
        RASA_REST_TOKEN=REST_TOKEN,
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "trolydvc.cli", "serve",
         "--rasa-port", str(RASA_PORT), "--actions-port", str(ACTIONS_PORT), "--web-port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err_path.open("wb"),
        start_new_session=True,
    )  # fmt: skip

    def stderr() -> str:
        return err_path.read_text(encoding="utf-8", errors="replace")

    def wait_output(text: str, timeout: float) -> None:
        wait_for(lambda: text in stderr() or serve.poll() is not None, timeout, text)
        assert text in stderr(), stderr()[-3000:]

    everything: list[int] = []
    try:
        wait_output("Sẵn sàng", 300)
        everything = sessions_of_children(serve.pid)
        pids = json.loads((tmp_path / "var" / "serve.json").read_text())["pids"]
        question = "làm giấy khai sinh cần giấy tờ gì"
        with httpx.Client(timeout=60.0) as http:
            assert "Giấy tờ cần nộp — thủ tục «Đăng ký khai sinh»" in answer(
                http, "serve-1", question
            )
            # The action server's Sanic worker (its largest child; the other is multiprocessing's
            # manager) dies; its main process keeps the port open, and nobody answers on it.
            spawned = [
                pid for pid in everything
                if (f := stat(pid)) and int(f[1]) == pids["actions"]
                and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]  # fmt: skip
            worker = max(spawned, key=rss_kb)
            os.kill(worker, signal.SIGKILL)
            wait_output("Máy chủ action không phản hồi", 120)
            wait_output("Máy chủ action đã hoạt động trở lại.", 120)
            assert "Giấy tờ cần nộp — thủ tục «Đăng ký khai sinh»" in answer(
                http, "serve-2", question
            )
        everything = sessions_of_children(serve.pid)
        assert len(everything) >= 4
        serve.send_signal(signal.SIGKILL)
        serve.wait()
        wait_for(lambda: not any(alive(pid) for pid in everything), 20, "the servers to exit")
        assert not port_open(RASA_PORT) and not port_open(ACTIONS_PORT)
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(30)
        for pid in everything:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
