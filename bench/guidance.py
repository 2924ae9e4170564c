"""Benchmark of the guidance answers over every procedure of the catalog.

Usage: .venv/bin/python bench/guidance.py [-v]

Prints, for all procedures and for the 100 most asked:
- the first documents reply's length in characters (p50, p95, max); target ≤ 1,200 for p95 of
  all procedures and for every one of the 100 most asked (a phone screen);
- "core papers identified", over the procedures with documents (target ≥ 95 %): the checklist
  names what every citizen hands in (trolydvc.catalog.guidance.papers_for_everyone), by one of
  these rules, each counted on its own line: papers without a condition ("plain"; a heading
  over part of the one dossier, "Nhóm 1 gồm …", "Bao gồm", or a note on what a paper is, "Trong
  phiếu nêu rõ …", is not a condition); papers that
  every alternative case the data states asks for alike, the same short name or form file
  ("common"); only an application of one kind that every alternative asks for, each in its own
  wording, shown as e.g. "Đơn đề nghị (mẫu theo trường hợp)" ("application"); a paper for each
  of the in-person and online channels, the paper form or the e-form ("form per channel");
  where the data lists only papers to show, those without a condition ("only to show");
- what the rest get, never counted as core: the first reply asking which alternative case is
  the citizen's (its text lists them under "Trường hợp của Bạn là:" with a button each,
  checked on the rendered reply); the papers of the one case the data states, named in the
  heading; the share whose first reply offers the questions that decide the papers (button
  «Giấy tờ theo trường hợp của tôi») or lists core papers;
- the share of processing times shown with a unit (table, or the official text for a bare
  number); how many bare numbers have a unit stated in the text that agrees, and how many of
  those the time answer shows with it (all of them must be); how many have conflicting units
  in the text (never shown);
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
    Checklist,
    checklist,
    papers_for_everyone,
    questions_needed,
    stated_time,
    stated_times,
)
from trolydvc.catalog.schema import TIME_UNIT_LABELS  # noqa: E402
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
    with_docs = core = asks = single = core_or_questions = 0
    rules: Counter[str] = Counter()
    missing: list[str] = []
    times = times_with_unit = bare = bare_stated = stated_shown = conflicts = 0
    online = walkthrough = 0
    for proc in procs:
        answer = documents.render(proc, Question("", loc))
        text = answer.text
        lengths.append(len(text))
        if len(text) > TARGET_FIRST_REPLY:
            long.append(f"{proc.code} ({len(text)})")
        if proc.documents:
            with_docs += 1
            cl = checklist(proc)
            everyone = papers_for_everyone(cl, proc)
            core += everyone
            if everyone:
                rules[_rule(cl)] += 1
            elif ASKS in text and len(answer.buttons) > len(cl.alternatives):
                asks += 1
            elif cl.single_case is not None:
                single += 1
            else:
                missing.append(proc.code)
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
            conflicts += is_bare and len({s.unit for s in stated_times(proc, pt)}) > 1
            shown = render.time_with_unit(proc, pt) or ""
            label = TIME_UNIT_LABELS[stated.unit] if stated is not None else None
            stated_shown += label is not None and shown.endswith(label)
            times_with_unit += pt.unit is not None or (stated is not None and shown != pt.text)
        if proc.online.availability != "none" or proc.methods("online"):
            online += 1
            walkthrough += "Các bước:\n1. " in render.online_answer(proc, loc)
    if verbose and long:
        print("  longer than the target:", ", ".join(long))
    if verbose and missing:
        print("  neither core papers nor a question nor one stated case:", ", ".join(missing))
    share = lambda n: f"{n / with_docs:.1%}"  # noqa: E731
    return {
        "procedures": len(procs),
        "first reply p50": int(statistics.median(lengths)),
        "first reply p95": percentile(lengths, 0.95),
        "first reply max": max(lengths),
        f"first reply > {TARGET_FIRST_REPLY}": len(long),
        "core papers identified": f"{share(core)} of {with_docs}",
        "  by rule": ", ".join(f"{k} {rules[k]}" for k in RULES),
        "first reply asks which alternative case instead": f"{asks} ({share(asks)})",
        "the one case the data states, named": f"{single} ({share(single)})",
        "core papers identified or the case asked": share(core + asks),
        "none of these": len(missing),
        "core papers or the deciding questions offered": share(core_or_questions),
        "times with a unit": f"{times_with_unit / times:.1%} of {times}",
        "bare numbers with a unit stated in the text": f"{bare_stated} of {bare}",
        "  shown with that unit": f"{stated_shown} of {bare_stated}",
        "  with conflicting units in the text (never shown)": conflicts,
        "online answers with a walkthrough": f"{walkthrough / online:.1%} of {online}",
    }


ASKS = "Trường hợp của Bạn là:"
RULES = ("plain", "common", "application", "form per channel", "only to show")


def _rule(cl: Checklist) -> str:
    """Which rule of papers_for_everyone found what everyone hands in (RULES)."""
    if cl.core_rule:
        return {"form": "application"}.get(cl.core_rule, cl.core_rule)
    return "form per channel" if cl.by_channel else "only to show"


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
