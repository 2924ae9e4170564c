"""Broadcast sender benchmark: N recipients against the fake Bot API server enforcing 30 msg/s.

Prints the sustained sending rate (target >= 29 messages/s, within 3% of Telegram's cap), the
number of recipients who got the message more than once (must be 0), the 429 answers received,
and the sender's peak memory. The fake server runs in a child process (so its memory is not
counted) with a sliding one-second window of 30 messages, 1 message/s per chat, and a simulated
network latency.

    .venv/bin/python bench/broadcast.py                 # 10,000 recipients, ~6 minutes
    .venv/bin/python bench/broadcast.py --recipients 1000 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import importlib.util
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _fake_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "fake_telegram", ROOT / "tests" / "bot" / "fake_telegram.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_telegram"] = module
    spec.loader.exec_module(module)
    return module


def realtime(enabled: bool) -> str:
    """Optionally run this process under SCHED_FIFO (needs root), so that unrelated load on a
    shared machine does not delay its timers; the sender and the server are mostly idle."""
    if not enabled:
        return "normal scheduling"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (AttributeError, PermissionError, OSError) as exc:
        return f"normal scheduling (SCHED_FIFO refused: {exc.__class__.__name__})"
    return "SCHED_FIFO"


def serve_fake(port_queue: multiprocessing.Queue, rate: int, latency: float, rt: bool) -> None:  # type: ignore[type-arg]
    realtime(rt)
    fake = _fake_module()

    async def main() -> None:
        server = fake.FakeTelegram(
            rate_limit=rate,
            per_chat_interval=1.0,
            latency=latency,
            record_arrivals=True,
            keep_calls=False,
            keep_messages=False,
        )
        await server.start()
        port_queue.put(server.port)
        await asyncio.Event().wait()

    asyncio.run(main())


def stats(port: int) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=10) as response:
        return json.loads(response.read())


async def run(args: argparse.Namespace, port: int) -> dict:  # type: ignore[type-arg]
    from bot.app import tune_interpreter

    tune_interpreter()
    from sqlalchemy import insert
    from telegram.ext import ExtBot

    from bot.broadcast import BroadcastSender, SenderOptions
    from bot.broadcast_store import create_broadcast
    from bot.pacing import PacedRateLimiter, paced_request
    from trolydvc.db import get_engine, session_scope
    from trolydvc.db.bot_models import Subscriber

    get_engine()
    with session_scope() as session:
        session.execute(
            insert(Subscriber),
            [
                {"chat_id": 1_000_000 + i, "language": "vi", "subscribed": True}
                for i in range(args.recipients)
            ],
        )
    broadcast_id = create_broadcast(
        "Thông báo: bộ phận một cửa nghỉ lễ từ 30/4 đến hết 3/5; hồ sơ trực tuyến vẫn được tiếp nhận.",
        author_id=None,
        commune=None,
    )
    starts: dict[int, float] = {}  # chat -> when its accepted request passed the limiter's gate
    written: dict[int, list[float]] = {}  # chat -> [when it was written to the connection]

    class TimedLimiter(PacedRateLimiter):
        """Notes when each request passes the limiter's last check and when it is written."""

        async def gate(self) -> list[float]:
            self.last_record = await super().gate()
            return self.last_record

        async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
            async def timed(*a, **k):  # type: ignore[no-untyped-def]
                if endpoint == "sendMessage":  # the last attempt is the accepted one
                    starts[int(data["chat_id"])] = time.monotonic()
                    written[int(data["chat_id"])] = self.last_record  # no await since the gate
                return await callback(*a, **k)

            return await super().process_request(
                timed, args, kwargs, endpoint, data, rate_limit_args
            )

    limiter = TimedLimiter(args.client_rate, 1.0)
    token = "123456:TEST-TOKEN"
    bot = ExtBot(
        token,
        base_url=f"http://127.0.0.1:{port}/bot",
        rate_limiter=limiter,
        request=paced_request(limiter, connection_pool_size=32),
    )
    last = [time.monotonic()]

    async def progress(_id: int, found: dict[str, int], final: bool) -> None:
        done = found["sent"] + found["blocked"] + found["failed"] + found["unknown"]
        print(f"  … {done}/{args.recipients}", file=sys.stderr, flush=True)

    async with bot:
        started = time.monotonic()
        result = await BroadcastSender(
            bot, limiter, SenderOptions(progress_every=30.0), progress
        ).run(broadcast_id)
        elapsed = time.monotonic() - started
    last[0] = elapsed
    return {
        "result": result,
        "elapsed": elapsed,
        "starts": starts,
        "written": {chat: record[0] for chat, record in written.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--server-rate", type=int, default=30, help="the fake server's cap (messages/s)"
    )
    parser.add_argument(
        "--client-rate", type=float, default=29.5, help="the sender's pace (messages/s)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.1, help="simulated Bot API round trip (s)"
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the sender and the fake server under SCHED_FIFO (root), isolating the timing "
        "from other jobs on a busy machine",
    )
    args = parser.parse_args()
    if args.recipients < 1:
        parser.error("--recipients must be positive")
    workdir = tempfile.mkdtemp(prefix="trolydvc-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.db"

    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(
        target=serve_fake, args=(queue, args.server_rate, args.latency, args.realtime), daemon=True
    )
    server.start()
    try:
        port = queue.get(timeout=30)
        print(
            f"broadcast to {args.recipients:,} recipients; fake Bot API: {args.server_rate} msg/s window, "
            f"1/s per chat, {args.latency * 1000:.0f} ms latency; sender pace {args.client_rate}/s; "
            f"DB {os.environ['DATABASE_URL'].split(':', 1)[0]}",
            flush=True,
        )
        print(
            f"scheduling: {realtime(args.realtime)}; machine load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        outcome = asyncio.run(run(args, port))
        server_stats = stats(port)
    finally:
        server.terminate()
        server.join(5)
    result = outcome["result"]
    span = (server_stats["last_at"] or 0) - (server_stats["first_at"] or 0)
    delivered = server_stats["delivered"]
    sustained = (delivered - 1) / span if span > 0 else 0.0
    overall = delivered / outcome["elapsed"] if outcome["elapsed"] else 0.0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    writes = sorted(outcome["written"].values())
    client_max = max(
        (bisect.bisect_left(writes, t + 1.0) - i for i, t in enumerate(writes)), default=0
    )
    arrivals = {int(k): v for k, v in server_stats["arrivals"].items()}

    def delays(times: dict[int, float]) -> str:
        found = sorted((arrivals[c] - t) * 1000 for c, t in times.items() if c in arrivals)

        def pct(q: float) -> float:
            return found[min(len(found) - 1, int(q * len(found)))] if found else 0.0

        return f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {pct(1.0):.1f} ms"

    print(
        f"sent (sender's count):        {result['sent']:,}  blocked {result['blocked']}  failed {result['failed']}  unknown {result['unknown']}"
    )
    print(f"delivered (server's count):   {delivered:,} to {server_stats['chats']:,} chats")
    print(f"duplicates:                   {server_stats['duplicates']}  (target 0)")
    print(
        f"429 answers:                  {server_stats['rate_limited']}  (max {server_stats['max_in_window']} in any 1 s window)"
    )
    print(f"sender's own writes:          at most {client_max} in any 1 s window")
    print(f"gate→server delay:            {delays(outcome['starts'])}")
    print(f"written→server delay:         {delays(outcome['written'])}")
    print(
        f"sustained rate:               {sustained:.2f} messages/s  (target >= 29, cap {args.server_rate})"
    )
    print(f"whole run incl. setup/finish: {overall:.2f} messages/s over {outcome['elapsed']:.1f} s")
    print(f"sender peak memory (RSS):     {peak_mb:.0f} MB")
    ok = server_stats["duplicates"] == 0 and delivered == args.recipients and sustained >= 29.0
    print("RESULT:", "OK" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
