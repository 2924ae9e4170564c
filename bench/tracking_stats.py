"""Benchmark: a year's statistics over 1,000,000 dossiers (target <= 2 s).

Times `compute_report(Period.year(2025))` (totals), grouped by agency, and for one agency.
Usage:
    .venv/bin/python bench/tracking_stats.py [--rows 1000000] [--backend sqlite|postgres|both]
        [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from tracking_common import AGENCIES, prepared, write_export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from trolydvc.tracking.stats import Period, compute_report, format_report

    write_export(args.rows)
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    year = Period.year(2025)
    for kind in kinds:
        with prepared(kind, args.rows, args.keep) as url:
            from trolydvc.db.base import get_engine

            get_engine(url)  # schema check (and SQLite upgrade) outside the timings
            cases = {
                "year, totals": {},
                "year, by agency": {"group_by": "agency"},
                "year, one agency": {"agency": AGENCIES[3]},
            }
            for label, kwargs in cases.items():
                times = []
                cpu0 = time.process_time()
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    report = compute_report(year, url=url, **kwargs)
                    times.append(time.perf_counter() - t0)
                cpu = (time.process_time() - cpu0) / args.repeat
                worst = max(times)
                where = "SQLite runs in this process" if kind == "sqlite" else "client side only"
                print(
                    f"stats {kind:8s} {label:17s}: received {report.totals.received:,}; "
                    f"median {statistics.median(times):.2f} s, worst {worst:.2f} s "
                    f"(target <= 2 s) {'OK' if worst <= 2 else 'ABOVE TARGET'}; "
                    f"CPU {cpu:.2f} s per report ({where}); load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            print(format_report(compute_report(year, url=url)).splitlines()[1], flush=True)


if __name__ == "__main__":
    main()
