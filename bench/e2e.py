#!/usr/bin/env python3
"""End-to-end benchmark of the assistant through Rasa's REST channel.

Simulated users hold realistic conversations (procedure questions with follow-ups, dossier
lookups, chit-chat), each user sending its next message as soon as the previous answer
arrives. For 1, 5 and 20 concurrent users it prints throughput (messages/s), latency
p50/p95/p99, and the servers' peak memory (resident set of Rasa and the action server,
including their child processes, sampled every 100 ms, plus the kernel's high-water mark).

Also printed: CPU milliseconds each server spent per message (independent of other load on
the machine; the throughput ceiling of a single Rasa process is about 1000 / that figure).

Targets on 2-core machines: p95 ≤ 100 ms at 5 users, ≥ 40 messages/s at 20 users.

Usage:
  make serve                                   # in another terminal, then:
  .venv/bin/python bench/e2e.py                # against 127.0.0.1:5005 (pids from var/serve.json)
  .venv/bin/python bench/e2e.py --start        # start a private pair on ports 5405/5455
  options: --users 1,5,20  --messages 300 (per level)  --url http://127.0.0.1:5005
           --start --workers 2 (two Rasa processes sharing conversations in Redis, REDIS_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trolydvc import config  # noqa: E402
from trolydvc.serve import PIDS_FILE, Servers, prepare_embedded_database  # noqa: E402

PROCEDURE_CONVERSATIONS = [
    ["làm giấy khai sinh cần giấy tờ gì", "còn lệ phí?", "thế nộp ở đâu?", "cảm ơn"],
    ["đăng ký kết hôn cần những gì", "mất bao lâu", "nộp online được không"],
    ["chứng thực bản sao lệ phí bao nhiêu", "nộp ở đâu vậy"],
    ["xin giấy xác nhận tình trạng hôn nhân", "cần giấy tờ gì", "bao lâu thì có"],
    ["lệ phí bao nhiêu vậy", "đăng ký thường trú"],
    ["các bước đăng ký khai tử", "có làm online được không"],
    ["thu tuc dang ky khai sinh can gi", "le phi bao nhieu"],
]
CHITCHAT_CONVERSATIONS = [
    ["xin chào", "bạn làm được gì", "tạm biệt"],
    ["hello ad", "cảm ơn nhé"],
    ["hôm nay trời đẹp quá", "bắt đầu lại"],
    ["cho tôi xem số liệu giải quyết hồ sơ năm nay"],
]


def dossier_conversations() -> list[list[str]]:
    try:
        from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4
    except ImportError:
        return [["tra cứu hồ sơ 000.00.20.H99-250310-9001"]]
    return [
        ["tôi muốn tra cứu hồ sơ", SHOWCASE[0]],
        [f"hồ sơ {SHOWCASE[1].lower()} đến đâu rồi", SHOWCASE_PHONE_LAST4],
        [SHOWCASE[2]],
    ]


def conversation_mix(rng: random.Random) -> list[str]:
    """About half procedure questions, a quarter dossier lookups, a quarter chit-chat."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(PROCEDURE_CONVERSATIONS)
    if roll < 0.75:
        return rng.choice(dossier_conversations())
    return rng.choice(CHITCHAT_CONVERSATIONS)


@dataclass
class Level:
    users: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0


async def simulated_user(
    http: httpx.AsyncClient, url: str, budget: itertools.count, limit: int, level: Level, seed: int
) -> None:
    rng = random.Random(seed)
    while True:
        sender = f"bench-{uuid.uuid4().hex[:12]}"
        for message in conversation_mix(rng):
            if next(budget) >= limit:
                return
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
                )
                ok = response.status_code == 200 and isinstance(response.json(), list)
            except (httpx.HTTPError, ValueError):
                ok = False
            level.latencies.append(time.perf_counter() - started)
            if not ok:
                level.errors += 1


async def run_level(url: str, users: int, messages: int) -> Level:
    level = Level(users)
    budget = itertools.count()
    limits = httpx.Limits(max_connections=users + 2, max_keepalive_connections=users + 2)
    # the REST channel's token (README "Security"): the environment's, else `serve`'s var/secrets.json
    headers = {"Authorization": f"Bearer {config.rasa_rest_token()}"}
    async with httpx.AsyncClient(timeout=60.0, limits=limits, headers=headers) as http:
        started = time.perf_counter()
        await asyncio.gather(
            *(simulated_user(http, url, budget, messages, level, seed=i) for i in range(users))
        )
        level.elapsed = time.perf_counter() - started
    return level


# --- memory ----------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Peak summed RSS of each server's process tree, sampled every 100 ms."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_kb = dict.fromkeys(pids, 0)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for name, pid in self.pids.items():
                rss = sum(_status_kb(p, "VmRSS") for p in _tree(pid))
                self.peak_kb[name] = max(self.peak_kb[name], rss)
            self._halt.wait(0.1)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def high_water_kb(self) -> dict[str, int]:
        return {
            name: sum(_status_kb(p, "VmHWM") for p in _tree(pid)) for name, pid in self.pids.items()
        }


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) used so far by each server's process tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for name, pid in pids.items():
        total = 0
        for p in _tree(pid):
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
        used[name] = total / ticks
    return used


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(level: Level) -> str:
    n = len(level.latencies)
    ms = [x * 1000 for x in level.latencies]
    return (
        f"{level.users:>5} | {n:>5} | {n / level.elapsed:>8.1f} | {_pct(ms, 50):>7.1f} | "
        f"{_pct(ms, 95):>7.1f} | {_pct(ms, 99):>7.1f} | {statistics.fmean(ms):>7.1f} | {level.errors}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="End-to-end REST benchmark of the assistant")
    parser.add_argument("--url", default=None, help="Rasa base URL (default 127.0.0.1:5005)")
    parser.add_argument("--start", action="store_true", help="start a private server pair")
    parser.add_argument("--users", default="1,5,20")
    parser.add_argument("--messages", type=int, default=300, help="messages per level")
    parser.add_argument(
        "--workers", type=int, default=1, help="with --start: Rasa workers (>1 needs Redis)"
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.users.split(",") if x.strip()]

    servers = None
    pids: dict[str, int] = {}
    if args.start:
        prepare_embedded_database()
        servers = Servers(
            5405, 5455, log_dir=config.VAR_DIR / "log" / "bench", workers=args.workers
        )
        print("starting Rasa and the action server (model load ~35 s)…", flush=True)
        servers.start()
        servers.wait_ready()
        url, pids = servers.rasa_url, servers.pids()
    else:
        url = (args.url or config.rasa_url()).rstrip("/")
        if PIDS_FILE.is_file():
            info = json.loads(PIDS_FILE.read_text())
            if info.get("rasa_url", "").rstrip("/") == url:
                pids = {
                    k: int(v)
                    for k, v in info.get("pids", {}).items()
                    if Path(f"/proc/{v}").exists()
                }
        try:
            status = httpx.get(
                f"{url}/status",
                timeout=5.0,
                headers={"Authorization": f"Bearer {config.rasa_auth_token()}"},
            )
            status.raise_for_status()
        except httpx.HTTPError:
            print(f"Rasa is not answering at {url}: run `make serve` first, or use --start.")
            return 2

    sampler = MemorySampler(pids) if pids else None
    try:
        asyncio.run(run_level(url, 2, 30))  # warm-up (first TensorFlow calls are slow)
        if sampler:
            sampler.start()
        print(
            f"E2E benchmark against {url}: {args.messages} messages per level, CPU cores: {os.cpu_count()}"
        )
        print(
            "users |  msgs |   msg/s  |  p50 ms |  p95 ms |  p99 ms | mean ms | errors"
            + (" | CPU ms/msg " + " ".join(pids) if pids else "")
        )
        for users in levels:
            before = cpu_seconds(pids)
            level = asyncio.run(run_level(url, users, args.messages))
            after = cpu_seconds(pids)
            line = report(level)
            if pids:
                n = max(len(level.latencies), 1)
                line += " | " + " ".join(f"{(after[k] - before[k]) * 1000 / n:6.1f}" for k in pids)
            print(line, flush=True)
    finally:
        if sampler:
            sampler.stop()
            hwm = sampler.high_water_kb()
            for name in pids:
                print(
                    f"peak memory {name:>7}: {sampler.peak_kb[name] / 1024:7.1f} MiB during the run, "
                    f"{hwm[name] / 1024:7.1f} MiB high-water mark (process lifetime)"
                )
        else:
            print(
                "peak memory: unknown (start with `make serve` or `--start` so the pids are known)"
            )
        if servers:
            servers.stop()
    print("targets: p95 ≤ 100 ms at 5 users; ≥ 40 msg/s at 20 users")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
