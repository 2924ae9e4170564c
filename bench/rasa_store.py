#!/usr/bin/env python3
"""What Rasa's conversation stores cost per message, in one process (runs in .venv-rasa).

The model is loaded once per set-up; simulated users talk to it in this process (no HTTP, no
nginx) through Agent.handle_message, which takes the conversation's lock and runs the turn as
`rasa run` does; the action server is a real one on --actions-port. Set-ups:

- ``memory``: Rasa's in-memory tracker and lock stores (`make serve`);
- ``sql``: the cluster's stores: trolydvc.rasa_stores.RedactingSQLTrackerStore on a scratch
  PostgreSQL database and ClusterRedisLockStore on Redis (--redis-url).

For each, sequentially (one user) and with --users concurrent users: CPU ms of this process per
message, wall ms per message, and the time spent inside the stores' calls (retrieve, save, the
lock's Redis calls), which block the event loop when they are synchronous.

Usage: .venv-rasa/bin/python bench/rasa_store.py [--messages 120] [--users 5] [--profile sql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import itertools
import logging
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONVERSATIONS = [
    ["làm giấy khai sinh cần giấy tờ gì", "còn lệ phí?", "thế nộp ở đâu?", "cảm ơn"],
    ["đăng ký kết hôn cần những gì", "mất bao lâu", "nộp online được không"],
    ["chứng thực bản sao lệ phí bao nhiêu", "nộp ở đâu vậy"],
    ["xin giấy xác nhận tình trạng hôn nhân", "cần giấy tờ gì", "bao lâu thì có"],
    ["các bước đăng ký khai tử", "có làm online được không"],
    ["xin chào", "bạn làm được gì", "tạm biệt"],
]
# store calls timed: (object attribute, method name)
TIMED = [
    ("tracker_store", "retrieve"),
    ("tracker_store", "save"),
    ("lock_store", "get_lock"),
    ("lock_store", "save_lock"),
    ("lock_store", "issue_ticket"),
    ("lock_store", "delete_lock"),
]


class Timings:
    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)
        key = f"{type(owner).__name__}.{name}"

        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.wall[key] += time.perf_counter() - start
                    self.calls[key] += 1

            setattr(owner, name, timed_async)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.wall[key] += time.perf_counter() - start
                    self.calls[key] += 1

            setattr(owner, name, timed)

    def reset(self) -> None:
        self.wall.clear()
        self.calls.clear()


def endpoints_text(actions_url: str, store: str, db: str, redis_url: str) -> str:
    text = (
        f'action_endpoint:\n  url: "{actions_url}"\n'
        "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
    )
    if store == "sql":
        from urllib.parse import urlparse

        redis = urlparse(redis_url)
        text += (
            "tracker_store:\n  type: trolydvc.rasa_stores.RedactingSQLTrackerStore\n"
            f"  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n  db: {db}\n"
            "  username: postgres\n"
            "lock_store:\n  type: trolydvc.rasa_stores.ClusterRedisLockStore\n"
            f"  url: {redis.hostname}\n  port: {redis.port or 6379}\n"
            f"  db: {int(redis.path.lstrip('/') or 0)}\n  key_prefix: trolydvc-bench\n"
        )
    return text


async def level(agent: Any, users: int, messages: int) -> tuple[list[float], float, float]:
    """Latencies, elapsed wall seconds and CPU seconds of this process for ``messages``."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sent = 0
    latencies: list[float] = []

    async def user(index: int) -> None:
        # as bench/e2e.py: each conversation with a new sender id
        nonlocal sent
        for number in itertools.count(index):
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for text in CONVERSATIONS[number % len(CONVERSATIONS)]:
                if sent >= messages:
                    return
                sent += 1
                start = time.perf_counter()
                await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
                latencies.append(time.perf_counter() - start)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(users)))
    return latencies, time.perf_counter() - wall, time.process_time() - cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


async def measure(name: str, endpoints: Path, args: argparse.Namespace, profile: bool) -> None:
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    agent = await load_agent(
        model_path=str(ROOT / "models" / "assistant.tar.gz"),
        endpoints=AvailableEndpoints.read_endpoints(str(endpoints)),
    )
    timings = Timings()
    for owner_name, method in TIMED:
        owner = getattr(agent, owner_name)
        if hasattr(owner, method):
            timings.wrap(owner, method)
    await level(agent, 2, 20)  # warm-up: first calls load caches in Rasa and the action server
    for users in (1, args.users):
        timings.reset()
        profiler = cProfile.Profile() if profile and users == 1 else None
        if profiler:
            profiler.enable()
        latencies, elapsed, cpu = await level(agent, users, args.messages)
        if profiler:
            profiler.disable()
        count = len(latencies)
        stores = " ".join(
            f"{key.split('.')[-1]} {timings.wall[key] * 1000 / count:.2f}"
            for key in sorted(timings.wall)
        )
        print(
            f"{name:>6} | {users:>5} | {count / elapsed:>6.1f} | {pct(latencies, 50):>6.1f} | "
            f"{pct(latencies, 95):>6.1f} | {statistics.fmean(latencies) * 1000:>6.1f} | "
            f"{cpu * 1000 / count:>6.2f} | {stores}",
            flush=True,
        )
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(40)
    with contextlib.suppress(Exception):
        agent.tracker_store.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=120)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--actions-port", type=int, default=6451)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--profile", choices=["memory", "sql"], default=None)
    parser.add_argument("--only", choices=["memory", "sql"], default=None)
    args = parser.parse_args()

    import psycopg2

    token = secrets.token_urlsafe(16)
    os.environ["ACTION_SERVER_TOKEN"] = token
    db = f"trolydvc_store_bench_{os.getpid()}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    tmp = tempfile.TemporaryDirectory(prefix="trolydvc-store-bench-")
    env = dict(os.environ, TROLYDVC_VAR_DIR=tmp.name, PYTHONPATH=str(ROOT), SANIC_HOST="127.0.0.1")
    actions = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "trolydvc.action_server",
         "--actions", "actions", "--port", str(args.actions_port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from trolydvc import rasa_server

    # as `rasa run` does at its default level (INFO); Rasa logs at DEBUG when not configured
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)
    rasa_server.install_action_response_validator()
    rasa_server.install_sequential_graph_runner()
    if os.environ.get("BENCH_NO_EVENT_CACHE") != "1":
        rasa_server.install_event_type_cache()
    rasa_server.install_shared_endpoint_sessions()
    rasa_server.install_action_failure_reply()
    try:
        import urllib.request

        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.actions_port}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        print(
            f"Rasa stores, in one process: {args.messages} messages per level; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(" store | users |  msg/s | p50 ms | p95 ms | mean ms | CPU ms | "
              "ms per message inside store calls")  # fmt: skip
        url = f"http://127.0.0.1:{args.actions_port}/webhook"
        for name in ("memory", "sql"):
            if args.only and name != args.only:
                continue
            path = Path(tmp.name) / f"{name}.yml"
            path.write_text(endpoints_text(url, name, db, args.redis_url))
            if name == "sql":
                from trolydvc.rasa_stores import ensure_schema

                ensure_schema(str(path))
            asyncio.run(measure(name, path, args, args.profile == name))
    finally:
        actions.terminate()
        actions.wait(30)
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
