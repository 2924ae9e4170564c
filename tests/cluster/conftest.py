"""The cluster (`trolydvc cluster`) started as a real process on loopback: nginx, two Rasa
replicas on the SQL tracker store of a scratch PostgreSQL database, the Redis lock store (Redis
DB 7; the keys starting with "trolydvc" deleted before and after), two action servers.

Ports, from TROLYDVC_TEST_RASA_PORT (R): the entry on R + 79, Rasa on R + 4.., action servers on
R + 54.., nginx's loopback entry to them on R + 69, the bot on R + 89: clear of the ports that
tests/serve and tests/e2e derive from the same base. Without nginx, PostgreSQL or Redis the
tests skip (fail with CI=true)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from trolydvc.config import ROOT, settings

REDIS_TEST_URL = "redis://127.0.0.1:6379/7"
WEBHOOK_SECRET = "cluster-webhook-secret"
START_TIMEOUT = 300.0


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_TEST_URL)


def clear_redis() -> None:
    """Delete the keys the cluster writes (locks: trolydvc:*, lookup counters:
    trolydvc:lookup:*), nothing else of that database."""
    client = redis_client()
    for key in client.scan_iter(match="trolydvc*", count=1000):
        client.delete(key)


def parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (children, their children, ...)."""
    found, frontier = [], [root]
    while frontier:
        above = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and parent(int(entry)) == above:
                found.append(int(entry))
                frontier.append(int(entry))
    return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str = "") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


class TelegramThread:
    """tests/bot/fake_telegram.FakeTelegram (an aiohttp server) on its own event loop thread."""

    def __init__(self) -> None:
        from tests.bot.fake_telegram import FakeTelegram

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(FakeTelegram().start(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class ClusterProcess:
    """One run of `trolydvc cluster` in its own process group, restartable on the same files."""

    env: dict[str, str]
    var_dir: Path
    base: int
    telegram: Any = None  # the fake Telegram Bot API the bot talks to
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))

    @property
    def entry(self) -> str:
        return f"http://127.0.0.1:{self.base + 79}"

    @property
    def rest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['RASA_REST_TOKEN']}"}

    @property
    def log(self) -> Path:
        return self.var_dir / f"cluster-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        b = self.base
        command = [
            sys.executable, "-m", "trolydvc.cli", "cluster",
            "--listen", f"127.0.0.1:{b + 79}",
            "--replicas", "2",
            "--rasa-port", str(b + 4), "--actions-port", str(b + 54),
            "--actions-entry-port", str(b + 69), "--bot-port", str(b + 89),
            "--web-port", str(b + 80),
        ]  # fmt: skip
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"trolydvc cluster exited: {self.log.read_text()[-3000:]}")
            if "Sẵn sàng" in self.log.read_text(encoding="utf-8", errors="replace"):
                return
            time.sleep(1.0)
        pytest.fail(f"the cluster was not ready within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    @property
    def ports(self) -> list[int]:
        """Every port the cluster listens on."""
        b = self.base
        return [b + 79, b + 4, b + 5, b + 54, b + 55, b + 69, b + 80, b + 89]

    def kill(self) -> None:
        """SIGKILL `trolydvc cluster` (only it: supervisord runs in a session of its own)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def processes(self) -> dict[str, int]:
        data = json.loads((self.var_dir / "cluster.json").read_text())
        return {p["name"]: p["pid"] for p in data["processes"]}

    def say(self, sender: str, text: str) -> httpx.Response:
        return self.http.post(
            f"{self.entry}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers=self.rest_headers,
        )

    def texts(self, sender: str, text: str) -> str:
        response = self.say(sender, text)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return "\n".join(m.get("text", "") for m in response.json())

    def logs(self) -> str:
        return "\n".join(
            p.read_text(encoding="utf-8", errors="replace")
            for p in (self.var_dir / "cluster" / "log").glob("*.log")
        )


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, require_service: Callable[[str], Any]
) -> Iterator[ClusterProcess]:
    from trolydvc.db.base import reset_engines
    from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
    from trolydvc.serve import MODEL
    from trolydvc.tracking import privacy
    from trolydvc.tracking.demo import load_demo_data

    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run scripts/train.py first")
    try:
        redis_client().ping()
    except redis.RedisError as exc:
        require_service(f"Redis {REDIS_TEST_URL}: {type(exc).__name__}")
    clear_redis()
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        require_service("nginx is not installed (`make nginx`)")
    var_dir = tmp_path_factory.mktemp("cluster")
    databases = ExitStack()
    try:
        url = databases.enter_context(scratch_postgres("trolydvc_cluster"))
    except PostgresUnavailable as exc:
        require_service(str(exc))
    mp = pytest.MonkeyPatch()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        REDIS_URL=REDIS_TEST_URL,
        TROLYDVC_VAR_DIR=str(var_dir),
        TROLYDVC_PHONE_KEY="cluster-test-key",
        TROLYDVC_LOOKUP_CODE_MAX_WRONG="3",
        PYTHONPATH=str(ROOT),
        **{n: secrets.token_urlsafe(16) for n in
           ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN")},
    )  # fmt: skip
    # the bot in webhook mode, against a fake Telegram Bot API
    telegram = TelegramThread()
    env.update(
        TELEGRAM_BOT_TOKEN=telegram.server.token,
        TELEGRAM_API_BASE_URL=telegram.server.base_url,
        TELEGRAM_FILE_BASE_URL=telegram.server.base_file_url,
        WEBHOOK_URL="https://bot.example.org",
        WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    for name in ("DATABASE_URL", "TROLYDVC_PHONE_KEY", "REDIS_URL"):
        mp.setenv(name, env[name])
    privacy._key.cache_clear()
    reset_engines()
    load_demo_data(200, url=url)
    running = ClusterProcess(env, var_dir, settings().test_rasa_port, telegram=telegram.server)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        running.http.close()
        telegram.stop()
        mp.undo()
        privacy._key.cache_clear()
        reset_engines()
        clear_redis()
        databases.close()  # drops the scratch database


@pytest.fixture
def user() -> Callable[[], str]:
    return lambda: f"cl-{uuid.uuid4().hex[:10]}"
