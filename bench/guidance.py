"""Benchmark of the guidance answers over every procedure of the catalog.

Usage: .venv/bin/python bench/guidance.py [-v]

Prints, for all procedures and for the 100 most asked:
- the first documents reply's length in characters (p50, p95, max); target ≤ 1,200 for p95 of
  all procedures and for every one of the 100 most asked (a phone screen);
- the share of procedures (with documents) whose core papers (submitted by everyone: without
  a condition, asked alike by every case, or one for each of the in-person and online
  channels: the paper form or the e-form)
  are identified; target ≥ 95 %; the same counting
  procedures whose papers all sit under one stated case (listed with that case named); and
  the share whose first reply lists core papers or offers the questions that decide them;
- the share of processing times shown with a unit (table, or the official text for a bare
  number), and how many bare numbers have a unit stated in the text that agrees (all of them
  must be shown with it) or conflicting units (never shown);
- the share of online answers with a numbered walkthrough, over the procedures that can be
  submitted online.

"Most asked" is measured, not guessed: the procedures that the labelled citizen questions
(tests/catalog/questions.yml) ask about, by number of questions, then those with curated
aliases (procedures_catalog/, curated for the most asked), by number of aliases; the first 100.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions import render  # noqa: E402
from actions.topics import TOPICS, Question  # noqa: E402
from trolydvc.catalog import Procedure, load_catalog  # noqa: E402
from trolydvc.catalog.guidance import (  # noqa: E402
    checklist,
    papers_for_everyone,
    questions_needed,
    stated_time,
)
from trolydvc.locality import load_locality  # noqa: E402

TARGET_FIRST_REPLY = render.FIRST_REPLY_CHARS


def most_asked(procs: list[Procedure], n: int = 100) -> list[Procedure]:
    questions = yaml.safe_load((ROOT / "tests/catalog/questions.yml").read_text(encoding="utf-8"))[
        "questions"
    ]
    asked = Counter(q["code"] for q in questions)
    ranked = sorted(
        (p for p in procs if asked[p.code] or p.aliases),
        key=lambda p: (-asked[p.code], -len(p.aliases), p.code),
    )
    return ranked[:n]


def percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(procs: list[Procedure], verbose: bool = False) -> dict[str, object]:
    loc = load_locality()
    documents = TOPICS["documents"]
    lengths: list[int] = []
    long: list[str] = []
    with_docs = core = core_or_single = core_or_questions = 0
    times = times_with_unit = bare = bare_stated = 0
    online = walkthrough = 0
    for proc in procs:
        text = documents.render(proc, Question("", loc)).text
        lengths.append(len(text))
        if len(text) > TARGET_FIRST_REPLY:
            long.append(f"{proc.code} ({len(text)})")
        if proc.documents:
            with_docs += 1
            cl = checklist(proc)
            everyone = papers_for_everyone(cl, proc)
            core += everyone
            core_or_single += everyone or cl.single_case is not None
            core_or_questions += everyone or bool(questions_needed(cl, proc))
        for method in proc.submission_methods:
            pt = method.processing_time
            if pt.value is None and pt.unit is None:
                continue
            times += 1
            is_bare = render._bare_number(pt)
            stated = stated_time(proc, pt) if is_bare else None
            bare += is_bare
            bare_stated += stated is not None
            shown = render.time_with_unit(proc, pt) or ""
            times_with_unit += pt.unit is not None or (stated is not None and shown != pt.text)
        if proc.online.availability != "none" or proc.methods("online"):
            online += 1
            walkthrough += "Các bước:\n1. " in render.online_answer(proc, loc)
    if verbose and long:
        print("  longer than the target:", ", ".join(long))
    return {
        "procedures": len(procs),
        "first reply p50": int(statistics.median(lengths)),
        "first reply p95": percentile(lengths, 0.95),
        "first reply max": max(lengths),
        f"first reply > {TARGET_FIRST_REPLY}": len(long),
        "core papers identified": f"{core / with_docs:.1%} of {with_docs}",
        "core papers or the one stated case's papers": f"{core_or_single / with_docs:.1%}",
        "core papers or deciding questions": f"{core_or_questions / with_docs:.1%}",
        "times with a unit": f"{times_with_unit / times:.1%} of {times}",
        "bare numbers with a unit stated in the text": f"{bare_stated} of {bare}",
        "online answers with a walkthrough": f"{walkthrough / online:.1%} of {online}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="List the long replies.")
    args = parser.parse_args()
    procs = load_catalog().procedures
    top = most_asked(procs)
    for title, group in (("All procedures", procs), (f"The {len(top)} most asked", top)):
        print(title)
        for key, value in measure(group, args.verbose).items():
            print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
