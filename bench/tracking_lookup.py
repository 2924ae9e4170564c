"""Benchmark: dossier lookup by code with 1,000,000 dossiers (target p99 <= 5 ms).

Times the full public call (`trolydvc.tracking.lookup.lookup`: parse, query, render the
Vietnamese answer) for random known codes, verified and not, and unknown codes. Usage:
    .venv/bin/python bench/tracking_lookup.py [--rows 1000000] [--backend sqlite|postgres|both]
        [--queries 3000] [--keep]   (--keep leaves the loaded database for the next run)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time

from tracking_common import percentile, prepared, write_export


def known_codes(path, rows: int, count: int, seed: int = 11) -> list[str]:  # type: ignore[no-untyped-def]
    wanted = set(random.Random(seed).sample(range(rows), count))
    codes = []
    with open(path, encoding="utf-8") as fh:
        next(fh)
        for i, line in enumerate(fh):
            if i in wanted:
                codes.append(line.split(",", 1)[0])
    random.Random(seed).shuffle(codes)
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from trolydvc.tracking.lookup import lookup
    from trolydvc.tracking.lookup_guard import (
        GuardLimits,
        LookupGuard,
        RateLimiter,
        SqlCounterStore,
    )

    path = write_export(args.rows)
    codes = known_codes(path, args.rows, args.queries)
    limiter = RateLimiter(per_window=10**9, failure_threshold=10**9)
    # Limits out of reach: every case is timed on its normal path, the shared counters included.
    unlimited = GuardLimits(code_max_wrong=10**9, all_max_wrong=10**9, max_unknown=10**9)
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for kind in kinds:
        with prepared(kind, args.rows, args.keep) as url:
            guard = LookupGuard(SqlCounterStore(url), unlimited)
            for code in codes[:200]:  # warm up connections and caches
                lookup(code, sender_id="warm", limiter=limiter, guard=guard, url=url)
            gc.collect()
            gc.freeze()  # the loaded codes need no collecting during the measurement
            cases = {
                "known code": [(c, None) for c in codes],
                "known + verified": [(c, "0000") for c in codes[: len(codes) // 3]],
                "unknown code": [
                    (f"000.00.99.H50-250101-{i:07d}", None) for i in range(len(codes) // 3)
                ],
            }
            for label, items in cases.items():
                times = []
                cpu0 = time.process_time()
                for i, (code, digits) in enumerate(items):
                    t0 = time.perf_counter()
                    lookup(
                        code,
                        sender_id=f"s{i}",
                        phone_last4=digits,
                        limiter=limiter,
                        guard=guard,
                        url=url,
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                cpu = (time.process_time() - cpu0) / len(items) * 1000
                p99 = percentile(times, 0.99)
                print(
                    f"lookup {kind:8s} {label:17s}: n={len(times)} p50 {percentile(times, 0.5):.2f} ms,"
                    f" p95 {percentile(times, 0.95):.2f} ms, p99 {p99:.2f} ms "
                    f"(target p99 <= 5 ms) {'OK' if p99 <= 5 else 'ABOVE TARGET'}; "
                    f"{cpu:.2f} ms CPU per lookup in this process; "
                    f"load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
