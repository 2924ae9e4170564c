"""Benchmark of the catalog search: accuracy on the labelled questions, latency, load time.

Usage: .venv/bin/python bench/catalog_search.py [--catalog-dir DIR] [--questions FILE]
       [--out-of-catalog FILE] [-v]

Prints top-1 / top-3 accuracy over tests/catalog/questions.yml (overall, with and without
diacritics), p50 / p95 / max query latency over the whole catalog, and the catalog load time
(cold = parsing every YAML file, warm = through the var/ cache; the search index build is
reported separately).

Then the whole resolution chain as the assistant runs it: the NLU's procedure entity
(:class:`trolydvc.nlu_models.ProcedureFinder` over the names, aliases and short forms the NLU is
trained with, :func:`trolydvc.nlu_data.build_procedure_table`) and
:func:`actions.resolve.resolve_procedure` (entity, else the whole message; no context), over
the in-catalog questions and tests/catalog/out_of_catalog.yml (procedures the national export
does not have): how often it answers with the right procedure, asks back, or answers with an
unrelated procedure.

Targets: top-1 >= 97 %, top-3 >= 98 %, p95 <= 20 ms, load <= 1 s; out-of-catalog questions
answered with a procedure: 0 %.
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

from rasa_sdk import Tracker  # noqa: E402

from actions.resolve import resolve_procedure  # noqa: E402
from trolydvc import config  # noqa: E402
from trolydvc.catalog import Catalog, clear_cache, load_catalog  # noqa: E402
from trolydvc.catalog import search as catalog_search  # noqa: E402
from trolydvc.catalog.store import cache_path, load_dir  # noqa: E402
from trolydvc.nlu_data import build_procedure_table  # noqa: E402
from trolydvc.nlu_models import ProcedureFinder  # noqa: E402


def load_questions(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["questions"]


def procedure_finder(catalog: Catalog) -> ProcedureFinder:
    """The NLU's procedure table as training builds it from the generated synonyms (the spans
    annotated in the hand-written examples aside)."""
    table = build_procedure_table(catalog)
    pairs = [(form, code) for code, forms in table.synonyms.items() for form in forms]
    pairs += [(code, code) for code in table.synonyms]
    return ProcedureFinder.from_pairs(pairs)


def chain_answer(finder: ProcedureFinder, text: str) -> tuple[str | None, list[str]]:
    """(code answered or None, codes offered) for a first message, as the actions resolve it."""
    entities = [
        {"entity": "procedure", "start": s.start, "end": s.end, "value": s.code}
        for s in finder.find(text)
    ]
    tracker = Tracker(
        sender_id="bench",
        slots={"procedure": None},
        latest_message={"text": text, "intent": {"name": "inform"}, "entities": entities},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    res = resolve_procedure(tracker, use_context=False)
    return (res.procedure.code if res.procedure else None), [p.code for p in res.candidates]


def chain_figures(
    finder: ProcedureFinder, questions: list[dict], outside: list[dict]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(right, asked back, wrong) questions of the labelled set, and the out-of-catalog
    questions answered with a procedure, as messages for -v."""
    right: list[str] = []
    asked: list[str] = []
    wrong: list[str] = []
    for item in questions:
        code, offered = chain_answer(finder, item["q"])
        if code == item["code"]:
            right.append(item["q"])
        elif code is None:
            asked.append(f"  asked {item['q']!r}: want {item['code']}, offered {offered}")
        else:
            wrong.append(f"  WRONG {item['q']!r}: want {item['code']}, got {code}")
    answered: list[str] = []
    for item in outside:
        code, _ = chain_answer(finder, item["q"])
        if code is not None:
            answered.append(f"  OUT-OF-CATALOG ANSWERED {item['q']!r}: {code}")
    return right, asked, wrong, answered


# support thresholds printed in the calibration curve
CURVE = (0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", type=Path, default=config.CATALOG_DIR)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/catalog/questions.yml")
    parser.add_argument(
        "--out-of-catalog", type=Path, default=ROOT / "tests/catalog/out_of_catalog.yml"
    )
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

    # --- the whole chain: NLU procedure entity + actions.resolve ---------------------------
    finder = procedure_finder(catalog)
    outside = load_questions(args.out_of_catalog)
    m = len(outside)
    print(
        f"chain (NLU entity + actions.resolve) by support threshold (in-catalog {n}, "
        f"out-of-catalog {m}):"
    )
    print("  support>=  in: right  asked back  wrong   out-of-catalog answered")
    chosen = catalog_search.SUPPORT_MIN
    for threshold in sorted({*CURVE, chosen}):
        catalog_search.SUPPORT_MIN = threshold
        right, asked, wrong, answered = chain_figures(finder, questions, outside)
        mark = "  <- SUPPORT_MIN" if threshold == chosen else ""
        print(
            f"  {threshold:8.2f}  {len(right) / n:9.1%}  {len(asked) / n:10.1%}  "
            f"{len(wrong) / n:5.1%}   {len(answered) / m:6.1%}{mark}"
        )
    catalog_search.SUPPORT_MIN = chosen
    right, asked, wrong, answered = chain_figures(finder, questions, outside)
    print(
        f"out-of-catalog wrong-procedure rate: {len(answered) / m:.1%} (target 0%); "
        f"in-catalog top-1: {top1 / n:.1%} (target >= 97%); chain right {len(right) / n:.1%}, "
        f"asked back {len(asked) / n:.1%}, wrong {len(wrong) / n:.1%}"
    )
    if args.verbose:
        print("\n".join(asked + wrong + answered))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
