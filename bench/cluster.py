#!/usr/bin/env python3
"""The cluster against one process, side by side, in one run.

Three set-ups answer the same simulated users as bench/e2e.py (its conversation mix and load
generator), through the REST channel, at 5 and 20 concurrent users:

- ``single``: one Rasa process and one action server (trolydvc.serve.Servers), conversations in
  Rasa's in-memory tracker store, no nginx -- what `make serve` runs;
- ``cluster-1``: nginx -> 1 Rasa replica (SQL tracker store on PostgreSQL, Redis lock store) ->
  1 action server -- what `make cluster` runs, with one replica;
- ``cluster-2``: the same with 2 replicas and 2 action servers.

It prints msg/s and p50/p95 per set-up and level, the CPU milliseconds each kind of process spent
per message (which do not depend on the machine's other load), then each cluster's ratios to
``single``.
Targets on a 2-core machine: the cluster keeps p95 <= 100 ms at 5 users and >= 80 msg/s at 20.

Needs PostgreSQL (a scratch database is created and dropped; demo dossiers loaded) and Redis
(--redis-url, default DB 15; the keys starting with "trolydvc" are deleted before and after).

Usage: .venv/bin/python bench/cluster.py [--messages 300] [--users 5,20] [--base-port 5480]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from e2e import Level, cpu_seconds, run_level  # noqa: E402

from trolydvc import config  # noqa: E402
from trolydvc.cluster import Cluster, Ports  # noqa: E402
from trolydvc.serve import Servers  # noqa: E402
from trolydvc.serve.runner import Supervised  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


def measure(name: str, servers: Supervised, url: str, users: list[int], messages: int) -> dict:
    print(f"[{name}] starting…", flush=True)
    try:
        servers.start()
        servers.wait_ready()
        if isinstance(servers, Cluster):
            servers.warm_up()
        asyncio.run(run_level(url, 2, 30))  # warm-up, as bench/e2e.py
        results = {}
        pids = servers.pids()
        for n in users:
            before = cpu_seconds(pids)
            level: Level = asyncio.run(run_level(url, n, messages))
            after = cpu_seconds(pids)
            count = max(len(level.latencies), 1)
            # CPU ms per message, by role: independent of the other load on the machine
            roles: dict[str, float] = {}
            for process in pids:
                role = process.split("-")[0]
                roles[role] = (
                    roles.get(role, 0.0) + (after[process] - before[process]) * 1000 / count
                )
            rate = len(level.latencies) / level.elapsed
            p50, p95 = pct(level.latencies, 50), pct(level.latencies, 95)
            mean = statistics.fmean(level.latencies) * 1000
            results[n] = (rate, p50, p95, level.errors)
            cpu = " ".join(f"{role} {ms:.1f}" for role, ms in roles.items())
            print(
                f"{name:>10} | {n:>5} | {rate:>7.1f} | {p50:>7.1f} | {p95:>7.1f} | "
                f"{mean:>7.1f} | {level.errors:>6} | {cpu} | total {sum(roles.values()):.1f}",
                flush=True,
            )
        return results
    finally:
        servers.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per level")
    parser.add_argument("--users", default="5,20")
    parser.add_argument("--base-port", type=int, default=5480)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    users = [int(x) for x in args.users.split(",") if x.strip()]
    b = args.base_port

    from trolydvc.db.base import reset_engines
    from trolydvc.db.scratch import scratch_postgres
    from trolydvc.tracking import privacy
    from trolydvc.tracking.demo import load_demo_data

    store = redis.Redis.from_url(args.redis_url)

    def clear_redis() -> None:
        for key in store.scan_iter(match="trolydvc*", count=1000):
            store.delete(key)

    clear_redis()
    with (
        scratch_postgres("trolydvc_bench_cluster", admin_url=config.settings().bench_pg_admin_url)
        as url,
        tempfile.TemporaryDirectory(prefix="trolydvc-bench-") as tmp,
    ):  # fmt: skip
        os.environ.update(
            DATABASE_URL=url,
            REDIS_URL=args.redis_url,
            TROLYDVC_PHONE_KEY=os.environ.get("TROLYDVC_PHONE_KEY") or "bench-key",
            **{n: secrets.token_urlsafe(16) for n in config.SECRET_NAMES},
        )
        privacy._key.cache_clear()
        reset_engines()
        load_demo_data(200, url=url)
        logs = Path(tmp) / "single-log"
        print(
            f"cluster benchmark: {args.messages} messages per level, CPU cores: {os.cpu_count()}, "
            f"load average now: {os.getloadavg()[0]:.1f}"
        )
        print(
            "    set-up | users |   msg/s |  p50 ms |  p95 ms | mean ms | errors "
            "| CPU ms per message by process (not PostgreSQL, Redis)"
        )
        figures = {
            "single": measure(
                "single", Servers(b, b + 50, log_dir=logs), f"http://127.0.0.1:{b}", users,
                args.messages,
            ),
        }  # fmt: skip
        for replicas in (1, 2):
            ports = Ports(f"127.0.0.1:{b + 79}", b + 4, b + 54, b + 49, b + 89)
            cluster = Cluster(ports, replicas, var_dir=Path(tmp) / f"c{replicas}")
            figures[f"cluster-{replicas}"] = measure(
                f"cluster-{replicas}", cluster, ports.entry_url, users, args.messages
            )
        clear_redis()
    print("\nratios to `single` (msg/s: higher is better; p95: lower is better)")
    for name in ("cluster-1", "cluster-2"):
        for n in users:
            rate, _, p95, _ = figures[name][n]
            base_rate, _, base_p95, _ = figures["single"][n]
            print(
                f"{name:>10} | {n:>3} users | msg/s x{rate / base_rate:.2f} | p95 x{p95 / base_p95:.2f}"
            )
    print("targets (cluster, 2 cores): p95 <= 100 ms at 5 users; >= 80 msg/s at 20 users")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
