"""Following benchmark: an import of 100,000 dossiers in which 10,000 change status and 5,000
of those are followed (one chat each).

Prints the time the notifier takes to queue the notifications (one transaction with its cursor),
the delivery rate through the bot's paced sender against the fake Bot API enforcing Telegram's
30 messages/s, and the duplicates (target 0) and missed followers (target 0) counted by the
fake server.

    .venv/bin/python bench/follow.py                         # SQLite, ~4 minutes
    .venv/bin/python bench/follow.py --dossiers 20000 --changed 2000 --followed 1000
    .venv/bin/python bench/follow.py --backend postgres

Steps: the synthetic export of bench/tracking_common.py is imported with the changed dossiers
still open (status "Đang xử lý", no result yet, due far ahead); the followers verify and follow
(the real offer + follow API); then the original export is imported again through the
importer's public API (each changed dossier now has its result or was rejected) and
`trolydvc.tracking.follow.notify` queues the messages; the paced sender delivers them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import multiprocessing
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# within the importer's plausible range (at most a year ahead), far enough not to pass
FAR_DUE = (date.today() + timedelta(days=300)).strftime("%d/%m/%Y")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracking_common import BENCH_DIR, backend, write_export  # noqa: E402

CHANGING = ("Đã trả kết quả", "Đã có kết quả", "Từ chối")  # statuses with no due date left


def _broadcast_bench():  # type: ignore[no-untyped-def]
    """bench/broadcast.py's fake Bot API process and its statistics endpoint."""
    spec = importlib.util.spec_from_file_location(
        "bench_broadcast", ROOT / "bench" / "broadcast.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage_exports(dossiers: int, changed: int) -> tuple[Path, Path, list[str]]:
    """(before, after, changed codes): `before` has the changed dossiers still open."""
    after = write_export(dossiers)
    before = BENCH_DIR / f"follow_before_{dossiers}_{changed}.csv"
    codes: list[str] = []
    with after.open(encoding="utf-8") as src, before.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        assert reader.fieldnames
        writer = csv.DictWriter(dst, reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        for row in reader:
            if len(codes) < changed and row["status"] in CHANGING:
                codes.append(row["code"])
                row.update(status="Đang xử lý", resolved_at="", returned_at="", due_at=FAR_DUE)
            writer.writerow(row)
    if len(codes) < changed:
        raise SystemExit(f"only {len(codes)} dossiers can change status in this export")
    return before, after, codes


async def deliver(broadcast_id: int, port: int, rate: float) -> tuple[dict[str, int], float]:
    from telegram.ext import ExtBot

    from bot.app import tune_interpreter
    from bot.broadcast import BroadcastSender, SenderOptions
    from bot.pacing import PacedRateLimiter, paced_request
    from trolydvc.tracking.follow import delivery_texts

    tune_interpreter()
    limiter = PacedRateLimiter(rate, 1.0)
    bot = ExtBot(
        "123456:TEST-TOKEN",
        base_url=f"http://127.0.0.1:{port}/bot",
        rate_limiter=limiter,
        request=paced_request(limiter, connection_pool_size=32),
    )

    async def progress(_id: int, found: dict[str, int], final: bool) -> None:
        done = found["sent"] + found["blocked"] + found["failed"] + found["unknown"]
        print(f"  … {done} delivered", file=sys.stderr, flush=True)

    async with bot:
        started = time.monotonic()
        sender = BroadcastSender(
            bot, limiter, SenderOptions(progress_every=30.0), progress, texts=delivery_texts
        )
        result = await sender.run(broadcast_id)
        return result, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=10_000)
    parser.add_argument("--followed", type=int, default=5_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--server-rate", type=int, default=30, help="fake server cap (msg/s)")
    parser.add_argument("--client-rate", type=float, default=29.5, help="sender pace (msg/s)")
    parser.add_argument("--latency", type=float, default=0.1, help="Bot API round trip (s)")
    args = parser.parse_args()
    if not 0 < args.followed <= args.changed <= args.dossiers:
        parser.error("need 0 < --followed <= --changed <= --dossiers")
    os.environ.setdefault("TROLYDVC_PHONE_KEY", "bench-key")
    before, after, codes = stage_exports(args.dossiers, args.changed)
    fake = _broadcast_bench()
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(
        target=fake.serve_fake, args=(queue, args.server_rate, args.latency, False), daemon=True
    )
    server.start()
    try:
        port = queue.get(timeout=30)
        with backend(args.backend) as url:
            os.environ["DATABASE_URL"] = url
            from trolydvc.tracking import follow
            from trolydvc.tracking.importer import import_file

            print(
                f"{args.dossiers:,} dossiers, {args.changed:,} change status, {args.followed:,} "
                f"followed; DB {args.backend}; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            first = import_file(before, url=url, batch_size=20000)
            assert not first.errors, first.errors[:3]
            follow.notify()  # the cursor starts past the first import's history
            followed = codes[:: max(1, len(codes) // args.followed)][: args.followed]
            chats = {code: 2_000_000 + i for i, code in enumerate(followed)}
            for code, chat in chats.items():
                assert follow.record_offer(f"tg:{chat}", code)
                assert follow.follow(chat, f"tg:{chat}", code).kind == "followed"
            second = import_file(after, url=url, batch_size=20000)
            assert not second.errors, second.errors[:3]
            print(
                f"import with the changes:  {second.records:,} records in {second.seconds:.1f} s "
                f"({second.updated:,} updated)"
            )
            started = time.perf_counter()
            report = follow.notify()
            queue_seconds = time.perf_counter() - started
            print(
                f"queue notifications:      {report.notifications:,} notifications, "
                f"{report.messages:,} messages from {report.history_rows:,} history rows in "
                f"{queue_seconds:.2f} s (one transaction with the cursor)"
            )
            again = follow.notify()
            print(f"notifier run again:       {again.notifications} more (target 0)")
            assert report.broadcast_id is not None
            result, elapsed = asyncio.run(deliver(report.broadcast_id, port, args.client_rate))
            stats = fake.stats(port)
    finally:
        server.terminate()
        server.join(5)
    arrivals = {int(chat) for chat in stats["arrivals"]}
    missed = [chat for chat in chats.values() if chat not in arrivals]
    span = (stats["last_at"] or 0) - (stats["first_at"] or 0)
    delivered = stats["delivered"]
    print(
        f"sent (sender's count):    {result['sent']:,}  failed {result['failed']}  "
        f"unknown {result['unknown']}  blocked {result['blocked']}"
    )
    print(f"delivered (server):       {delivered:,} to {stats['chats']:,} chats in {elapsed:.1f} s")
    print(
        f"delivery rate:            {(delivered - 1) / span if span > 0 else 0:.2f} messages/s "
        f"(cap {args.server_rate}; 429 answers {stats['rate_limited']}, "
        f"max {stats['max_in_window']} in any 1 s window)"
    )
    print(f"duplicates:               {stats['duplicates']}  (target 0)")
    print(f"missed followers:         {len(missed)}  (target 0)")
    return 0 if not missed and not stats["duplicates"] and not again.notifications else 1


if __name__ == "__main__":
    sys.exit(main())
