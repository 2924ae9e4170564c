"""Import the national export (JSON lines) into Procedure objects, diff, and write the catalog.

Bad lines (truncated / malformed JSON, not an object, no or invalid code, duplicate code) are
reported with their line number and skipped; unknown fields are reported and ignored; the rest
is imported. Curated aliases of procedures already in the catalog are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trolydvc.catalog import parse
from trolydvc.catalog.schema import Procedure

SOURCE_DATE = "2026-07"  # publication month of the national export
# The levels of the procedures a citizen does locally (``trolydvc catalog import --local-only``);
# the shipped catalog holds every level, central (Cấp bộ) ones too.
LOCAL_LEVELS = ("Cấp xã", "Cấp tỉnh")


@dataclass
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportResult:
    procedures: list[Procedure] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # code -> what failed
    line_errors: list[LineError] = field(default_factory=list)
    skipped_levels: int = 0
    lines: int = 0


def record_to_procedure(
    rec: dict[str, Any], source_date: str = SOURCE_DATE
) -> tuple[Procedure, list[str]]:
    problems: list[str] = []
    code = parse.clean_inline(rec.get("ma_thu_tuc"))
    name = parse.clean_inline(rec.get("ten_thu_tuc"))
    if not code:
        raise ValueError("procedure without a code (ma_thu_tuc)")
    if not name:
        raise ValueError(f"{code}: procedure without a name (ten_thu_tuc)")
    methods, p = parse.parse_methods(rec.get("cach_thuc_thuc_hien"))
    problems += p
    documents, notes, p = parse.parse_documents(rec.get("thanh_phan_ho_so"))
    problems += p
    legal, p = parse.parse_legal_basis(rec.get("can_cu_phap_ly"))
    problems += p
    results, offers_submit, p = parse.parse_result(rec.get("ket_qua_xu_ly"))
    problems += p
    conditions = parse.clean(rec.get("yeu_cau_dieu_kien"))
    if conditions and conditions.strip(" .").lower() in ("không", "không có"):
        conditions = None
    url = parse.clean_inline(rec.get("detail_url"))
    if url and not parse._URL_RE.match(url):
        problems.append(f"detail_url is not a URL: {url[:60]!r}")
        url = None
    if not methods:
        problems.append("no submission methods")
    if not documents:
        problems.append("no documents")
    proc = Procedure(
        code=code,
        name=name,
        field=parse.clean_inline(rec.get("linh_vuc")),
        levels=parse.split_top_level(parse.clean_inline(rec.get("cap_thuc_hien"))),
        agencies=parse.split_names(parse.clean_inline(rec.get("co_quan_thuc_hien"))),
        competent_authority=parse.clean_inline(rec.get("co_quan_co_tham_quyen")),
        target_groups=parse.split_names(parse.clean_inline(rec.get("doi_tuong_thuc_hien"))),
        submission_methods=methods,
        documents=documents,
        document_notes=notes,
        steps=parse.parse_steps(rec.get("trinh_tu_thuc_hien")),
        legal_basis=legal,
        result=results,
        conditions=conditions,
        online=parse.online_info(methods, documents, name, conditions, offers_submit, url),
        decision_number=parse.clean_inline(rec.get("so_quyet_dinh")),
        source_url=url,
        source_date=source_date,
        aliases=[],
    )
    return proc, problems


def read_export(
    path: Path,
    *,
    levels: Iterable[str] | None = None,
    source_date: str = SOURCE_DATE,
) -> ImportResult:
    """Parse every line of the export; keep procedures whose levels meet ``levels`` (None = all)."""
    wanted = set(levels) if levels is not None else None
    result = ImportResult()
    seen: dict[str, int] = {}
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            result.lines = lineno
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                result.line_errors.append(LineError(lineno, f"malformed JSON ({exc.msg})"))
                continue
            if not isinstance(rec, dict):
                result.line_errors.append(LineError(lineno, "not a JSON object"))
                continue
            unknown = sorted(set(rec) - parse.KNOWN_FIELDS)
            if unknown:
                result.line_errors.append(
                    LineError(lineno, f"unknown field(s) ignored: {', '.join(unknown)}")
                )
            code = parse.clean_inline(rec.get("ma_thu_tuc"))
            if not code:
                result.line_errors.append(LineError(lineno, "procedure without a code"))
                continue
            if not parse._CODE_RE.match(code):
                result.line_errors.append(LineError(lineno, f"invalid code {code!r}"))
                continue
            if code in seen:
                result.line_errors.append(
                    LineError(lineno, f"duplicate code {code} (first on line {seen[code]})")
                )
                continue
            seen[code] = lineno
            if wanted is not None:
                lv = set(parse.split_top_level(parse.clean_inline(rec.get("cap_thuc_hien"))))
                if not lv & wanted:
                    result.skipped_levels += 1
                    continue
            try:
                proc, problems = record_to_procedure(rec, source_date)
            except (ValueError, ValidationError) as exc:
                result.line_errors.append(LineError(lineno, str(exc).splitlines()[0]))
                continue
            result.procedures.append(proc)
            if problems:
                result.problems[proc.code] = problems
    return result


def keep_aliases(new: list[Procedure], old: Iterable[Procedure]) -> list[Procedure]:
    """Copy curated aliases (and checklist overrides) from the current catalog onto the
    freshly imported procedures."""
    curated = {
        p.code: {"aliases": list(p.aliases), "checklist": list(p.checklist)}
        for p in old
        if p.aliases or p.checklist
    }
    return [p.model_copy(update=curated[p.code]) if p.code in curated else p for p in new]


def _short(value: Any, width: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class CatalogDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # code -> changed field names
    values: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)  # old, new

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self, names: dict[str, str] | None = None, details: bool = False) -> list[str]:
        names = names or {}
        out = [f"+ {c}  {names.get(c, '')}".rstrip() for c in self.added]
        out += [f"- {c}  {names.get(c, '')}".rstrip() for c in self.removed]
        for code, fields in sorted(self.changed.items()):
            out.append(f"~ {code}  {', '.join(fields)}")
            if details:
                for name in fields:
                    old, new = self.values.get(code, {}).get(name, (None, None))
                    out.append(f"    {name}: {_short(old)} -> {_short(new)}")
        return out

    def summary(self) -> str:
        return f"thêm {len(self.added)}, bỏ {len(self.removed)}, sửa {len(self.changed)}"


def diff_catalogs(old: Iterable[Procedure], new: Iterable[Procedure]) -> CatalogDiff:
    old_by = {p.code: p for p in old}
    new_by = {p.code: p for p in new}
    diff = CatalogDiff(
        added=sorted(set(new_by) - set(old_by)),
        removed=sorted(set(old_by) - set(new_by)),
    )
    for code in sorted(set(old_by) & set(new_by)):
        a = old_by[code].model_dump(mode="json")
        b = new_by[code].model_dump(mode="json")
        changed = [k for k in b if a.get(k) != b.get(k)]
        if changed:
            diff.changed[code] = changed
            diff.values[code] = {k: (a.get(k), b.get(k)) for k in changed}
    return diff
