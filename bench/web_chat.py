#!/usr/bin/env python3
"""What the web app adds to an answer: the same questions through the widget's API
(`POST /api/chat`) and straight to Rasa's REST channel, one after the other, alternating.

Starts its own action server, Rasa and web app (scratch SQLite database of demo dossiers) and
prints p50/p95 of both paths and of their paired difference. Target: the web app adds ≤ 10 ms
(median).

  PYTHONPATH=$PWD .venv/bin/python bench/web_chat.py [--rounds 100] [--rasa-port 5405 --actions-port 5455 --web-port 5480]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trolydvc.serve.scratch import scratch_servers  # noqa: E402

QUESTIONS = [
    "làm giấy khai sinh cần giấy tờ gì",
    "lệ phí đăng ký kết hôn bao nhiêu",
    "dang ky thuong tru nop o dau",
    "xin chào",
    "tra cứu hồ sơ 000.00.20.H99-250415-9002",
]


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--rasa-port", type=int, default=5405)
    parser.add_argument("--actions-port", type=int, default=5455)
    parser.add_argument("--web-port", type=int, default=5480)
    args = parser.parse_args()
    os.environ["TROLYDVC_WEB_LIMIT_SESSION"] = "100000/minute"  # measure, not limit
    os.environ["TROLYDVC_WEB_LIMIT_ADDRESS"] = "100000/minute"
    with scratch_servers(args.rasa_port, args.actions_port, args.web_port) as servers:
        rest = {"Authorization": f"Bearer {os.environ['RASA_REST_TOKEN']}"}
        # one conversation on each path, as the web app keeps one per session
        sender = f"bench-{uuid.uuid4().hex[:8]}"
        web_times: list[float] = []
        rasa_times: list[float] = []
        with httpx.Client(timeout=60) as web, httpx.Client(timeout=60) as rasa:
            for i in range(args.rounds + 5):  # the first 5 rounds warm up
                question = QUESTIONS[i % len(QUESTIONS)]
                start = time.perf_counter()
                r = web.post(f"{servers.web_url}/api/chat", json={"message": question})
                web_ms = (time.perf_counter() - start) * 1000
                r.raise_for_status()
                start = time.perf_counter()
                r = rasa.post(
                    f"{servers.rasa_url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": question},
                    headers=rest,
                )
                rasa_ms = (time.perf_counter() - start) * 1000
                r.raise_for_status()
                if i >= 5:
                    web_times.append(web_ms)
                    rasa_times.append(rasa_ms)
    for label, values in (("through /api/chat", web_times), ("straight to Rasa", rasa_times)):
        print(f"{label:18} p50 {pct(values, 50):6.1f} ms   p95 {pct(values, 95):6.1f} ms")
    # Same question, same round: the paired difference is less noisy than a difference of tails
    # on a machine shared with other work.
    paired = [w - r for w, r in zip(web_times, rasa_times, strict=True)]
    print(
        f"web app adds       p50 {pct(paired, 50):6.1f} ms   p95 {pct(paired, 95):6.1f} ms"
        "  (paired per question; target ≤ 10 ms at p50)"
    )


if __name__ == "__main__":
    main()
