"""Benchmark of the catalog search: accuracy on the labelled questions, latency, load time.

Usage: .venv/bin/python bench/catalog_search.py [--catalog-dir DIR] [--questions FILE] [-v]

Prints top-1 / top-3 accuracy over tests/catalog/questions.yml (overall, with and without
diacritics), p50 / p95 / max query latency over the whole catalog, and the catalog load time
(cold = parsing every YAML file, warm = through the var/ cache; the search index build is
reported separately). Targets: top-1 >= 90 %, top-3 >= 98 %, p95 <= 20 ms, load <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trolydvc import config  # noqa: E402
from trolydvc.catalog import Catalog, clear_cache, load_catalog  # noqa: E402
from trolydvc.catalog.store import cache_path, load_dir  # noqa: E402


def load_questions(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["questions"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", type=Path, default=config.CATALOG_DIR)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/catalog/questions.yml")
    parser.add_argument("-v", "--verbose", action="store_true", help="List the misses.")
    args = parser.parse_args()

    # --- load times --------------------------------------------------------------------
    t0 = time.perf_counter()
    procedures, errors = load_dir(args.catalog_dir)
    cold = time.perf_counter() - t0
    clear_cache()
    cache_path(args.catalog_dir.resolve()).unlink(missing_ok=True)
    load_catalog(args.catalog_dir)  # builds the cache
    clear_cache()
    t0 = time.perf_counter()
    catalog: Catalog = load_catalog(args.catalog_dir)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    _ = catalog.index
    index_time = time.perf_counter() - t0

    # --- accuracy and latency ------------------------------------------------------------
    questions = load_questions(args.questions)
    top1 = top3 = 0
    by_kind = {True: [0, 0, 0], False: [0, 0, 0]}  # plain -> [n, top1, top3]
    latencies: list[float] = []
    misses: list[str] = []
    for item in questions:
        t0 = time.perf_counter()
        hits = catalog.search(item["q"], limit=3)
        latencies.append((time.perf_counter() - t0) * 1000)
        codes = [h.procedure.code for h in hits]
        kind = by_kind[bool(item.get("plain"))]
        kind[0] += 1
        if codes[:1] == [item["code"]]:
            top1 += 1
            kind[1] += 1
        if item["code"] in codes:
            top3 += 1
            kind[2] += 1
        if codes[:1] != [item["code"]]:
            got = ", ".join(codes) or "-"
            misses.append(
                f"  {'top3' if item['code'] in codes else 'MISS'} {item['q']!r}: "
                f"want {item['code']}, got {got}"
            )
    # latency over the whole catalog: every procedure name (folded, first 8 words) as a query
    for proc in catalog:
        q = " ".join(proc.name.split()[:8])
        t0 = time.perf_counter()
        catalog.search(q, limit=5)
        latencies.append((time.perf_counter() - t0) * 1000)
    n = len(questions)
    lat = sorted(latencies)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(f"catalog: {len(procedures)} procedures ({len(errors)} unreadable files)")
    print(
        f"load: cold (parse all YAML) {cold:.3f} s, warm (cache) {warm:.3f} s, "
        f"index build {index_time:.3f} s, warm+index {warm + index_time:.3f} s"
    )
    print(f"questions: {n} ({by_kind[True][0]} without diacritics)")
    print(f"top-1 accuracy: {top1 / n:.1%}  top-3 accuracy: {top3 / n:.1%}")
    for plain, (k, a1, a3) in sorted(by_kind.items()):
        label = "without diacritics" if plain else "with diacritics   "
        if k:
            print(f"  {label}: top-1 {a1 / k:.1%}  top-3 {a3 / k:.1%}  ({k})")
    print(
        f"latency over {len(lat)} queries: p50 {statistics.median(lat):.2f} ms, "
        f"p95 {p95:.2f} ms, max {lat[-1]:.2f} ms"
    )
    if args.verbose and misses:
        print("not top-1:")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
