"""Benchmark: import of a 1,000,000-row canonical CSV into SQLite and PostgreSQL.

Targets: >= 20,000 rows/s into SQLite, >= 50,000 rows/s into PostgreSQL. Also times a re-import
of the same file (every row unchanged). First it times a dry run (parsing and validation only, one
process, no database) as a reference for the machine's speed: the import rates scale with it, so
figures from different machines compare through it. Usage:
    .venv/bin/python bench/tracking_import.py [--rows 1000000] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from tracking_common import backend, load, write_export

TARGETS = {"sqlite": 20_000, "postgres": 50_000}


def server_cpu() -> float | None:
    """CPU seconds used so far by the local PostgreSQL processes (Linux /proc), else None.

    Includes other sessions' work: compare runs on a quiet server.
    """
    total = 0
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                data = stat.read_text()
            except OSError:
                continue
            name = data[data.index("(") + 1 : data.rindex(")")]
            if name.startswith("postgres"):
                fields = data[data.rindex(")") + 2 :].split()
                total += int(fields[11]) + int(fields[12])
    except (OSError, ValueError):
        return None
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    path = write_export(args.rows)
    from trolydvc.tracking.importer import import_file

    dry = import_file(path, dry_run=True)
    print(
        f"dry run (parse + validate, no database): {dry.seconds / dry.records * 1e6:.2f} µs/row "
        f"(machine reference); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for kind in kinds:
        with backend(kind) as url:
            t0, server0 = os.times(), server_cpu()
            rate = load(url, args.rows)
            t1 = os.times()
            cpu = t1.user + t1.system - t0.user - t0.system
            # The import of a big file parses in a forked child process.
            child = t1.children_user + t1.children_system - t0.children_user - t0.children_system
            children = f" + {child:.1f} s in its parsing child" if child >= 0.05 else ""
            server1 = server_cpu()
            server = (
                f"; PostgreSQL processes used {server1 - server0:.1f} s CPU"
                if kind == "postgres" and server0 is not None and server1 is not None
                else ""
            )
            verdict = "OK" if rate >= TARGETS[kind] else "BELOW TARGET"
            print(
                f"import {kind:8s}: {args.rows:,} rows, {rate:,.0f} rows/s "
                f"(target >= {TARGETS[kind]:,}) {verdict}; this process used {cpu:.1f} s CPU "
                f"({cpu / args.rows * 1e6:.1f} µs/row){children}{server}; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            t0 = time.perf_counter()
            rate2 = load(url, args.rows)
            print(
                f"re-import {kind:5s}: {rate2:,.0f} rows/s (unchanged rows, "
                f"{time.perf_counter() - t0:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
