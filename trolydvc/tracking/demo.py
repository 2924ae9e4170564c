"""Seeded, realistic demo dossiers so a fresh install has something to look up.

``generate_demo_rows(count=3800, *, today=None, seed=SEED) -> list[dict]`` builds canonical-CSV rows:
dossiers received by the first four communes of the deployment's locality.yml (real names: the
shipped file is Quảng Trị's, so "UBND phường Đồng Thuận", …), with national-format codes whose
agency part is ``000.00.2x.H99``: "H99" is no real province code, so demo codes never clash with
real ones and removing the demo (``.H99-``) never touches a real dossier. Procedures are taken
from the catalog (commune level, citizen-facing fields; due dates from the catalog's processing
time where it has one, else five working days), about ten months of working days up to
``today``, ~18 % online, ~97 % of resolved dossiers on time. The same seed, day and locality
give the same rows.

``SHOWCASE`` lists five dossiers with fixed codes and fixed (past) dates, one per situation
(returned on time, result ready but late, supplement needed, overdue, rejected); their registered
phone ends in ``SHOWCASE_PHONE_LAST4``.

``load_demo_data(...) -> DemoResult`` removes earlier demo dossiers (codes containing ``.H99-``)
and imports the new ones through the normal importer.
"""

from __future__ import annotations

import csv
import random
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from trolydvc.vietnam_time import VN_TZ

SEED = 20250101
DEMO_MARK = ".H99-"
AGENCY_CODES = ["000.00.20.H99", "000.00.21.H99", "000.00.22.H99", "000.00.23.H99"]
AGENCY_WEIGHTS = [0.34, 0.27, 0.24, 0.15]
# "Xã Gio Linh" -> "Gio Linh": the commune column holds the name without its kind
_KINDS = ("Xã ", "Phường ", "Thị trấn ", "Đặc khu ")


@dataclass(frozen=True)
class DemoAgency:
    code: str  # the agency part of the dossier codes, "000.00.20.H99"
    name: str  # "UBND xã Gio Linh"
    commune: str  # "Gio Linh"
    weight: float


def demo_agencies() -> list[DemoAgency]:
    """The four demo one-stop shops: the first four communes of locality.yml (repeated in
    order when it has fewer), each with its own agency code."""
    from trolydvc.locality import load_locality

    communes = load_locality().communes
    if not communes:
        raise RuntimeError("locality.yml không có xã/phường nào: không tạo được hồ sơ mẫu.")
    out = []
    for i, (code, weight) in enumerate(zip(AGENCY_CODES, AGENCY_WEIGHTS, strict=True)):
        name = communes[i % len(communes)].name
        bare = next((name[len(k) :] for k in _KINDS if name.startswith(k)), name)
        out.append(DemoAgency(code, f"UBND {name[:1].lower()}{name[1:]}", bare, weight))
    return out


PREFERRED_FIELDS = {
    "Hộ tịch": 8.0,
    "Chứng thực": 6.0,
    "Đăng ký, quản lý cư trú": 3.0,
    "Đất đai": 1.5,
    "Bảo trợ xã hội": 1.0,
    "Người có công": 0.8,
    "Nuôi con nuôi": 0.2,
    "Văn hóa cơ sở": 0.2,
}
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Kim", "Hoài", "Gia"]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dung",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Nhung",
    "Phúc",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
]
SHOWCASE_PHONE = "0912345678"
SHOWCASE_PHONE_LAST4 = SHOWCASE_PHONE[-4:]


@dataclass(frozen=True)
class DemoProcedure:
    code: str
    name: str
    field: str
    working_days: float | None
    hours: float | None
    weight: float


def _procedures() -> list[DemoProcedure]:
    from trolydvc.catalog import load_catalog

    catalog = load_catalog()
    out: list[DemoProcedure] = []
    for p in catalog:
        if not any("xã" in level.lower() for level in p.levels):
            continue
        weight = PREFERRED_FIELDS.get(p.field or "")
        if weight is None:
            continue
        days = hours = None
        for m in p.submission_methods:
            pt = m.processing_time
            if pt.value is None:
                continue
            if pt.unit == "hours":
                hours = pt.value
            else:  # working_days, days or not stated: count as working days
                days = pt.value
            break
        out.append(DemoProcedure(p.code, p.name, p.field or "", days, hours, weight))
    if not out:
        raise RuntimeError(
            "Danh mục thủ tục chưa có thủ tục cấp xã nào (procedures_catalog/). "
            "Hãy nạp danh mục trước: trolydvc catalog --help"
        )
    return out


def _add_working_days(start: datetime, days: float) -> datetime:
    whole = max(0, round(days))
    current = start
    while whole > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            whole -= 1
    return datetime.combine(current.date(), time(17, 0))


def _due(received: datetime, proc: DemoProcedure) -> datetime:
    if proc.hours is not None:
        due = received + timedelta(hours=proc.hours)
        return due if due.time() <= time(17, 0) else _add_working_days(received, 1)
    days = proc.working_days if proc.working_days is not None else 5
    if days <= 0:
        return datetime.combine(received.date(), time(17, 0))
    return _add_working_days(received, days)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _phone(rng: random.Random) -> str:
    return rng.choice(["09", "03", "08", "07"]) + f"{rng.randrange(10**8):08d}"


def _fmt(dt: datetime | None) -> str:
    return "" if dt is None else dt.strftime("%Y-%m-%d %H:%M")


def generate_demo_rows(
    count: int = 3800, *, today: date | None = None, seed: int = SEED
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    procedures = _procedures()
    agencies = demo_agencies()
    weights = [p.weight for p in procedures]
    today = today or datetime.now(VN_TZ).date()
    now = datetime.combine(today, time(17, 30))
    days = [today - timedelta(days=i) for i in range(300, 0, -1)]
    days = [d for d in days if d.weekday() < 5]
    sequences: dict[tuple[str, date], int] = {}
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        day = rng.choice(days)
        chosen = rng.choices(agencies, weights=[a.weight for a in agencies])[0]
        agency, commune = chosen.name, chosen.commune
        key = (chosen.code, day)
        sequences[key] = sequences.get(key, 0) + 1
        code = f"{chosen.code}-{day:%y%m%d}-{sequences[key]:04d}"
        proc = rng.choices(procedures, weights=weights)[0]
        received = datetime.combine(day, time(7, 30)) + timedelta(minutes=rng.randrange(0, 540))
        due = _due(received, proc)
        r = rng.random()
        channel = "online" if r < 0.178 else ("postal" if r < 0.2 else "direct")
        status, resolved, returned, note = "processing", None, None, ""
        span = max(due - received, timedelta(hours=1))
        outcome = rng.random()
        if outcome < 0.004:
            status, note = "withdrawn", ""
        elif outcome < 0.01:
            status = "rejected"
            note = "Hồ sơ chưa đủ điều kiện giải quyết; chi tiết trong thông báo gửi kèm."
        elif due <= now or rng.random() < 0.55:
            late = rng.random() < 0.027
            if late:
                resolved = due + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
            else:
                resolved = received + span * rng.uniform(0.2, 1.0)
            if resolved > now:  # not finished yet
                status, resolved = "processing", None
            else:
                status = "resolved"
                if rng.random() < 0.85:
                    returned = resolved + timedelta(hours=rng.uniform(0.5, 72))
                    if returned <= now:
                        status = "returned"
                    else:
                        returned = None
        if status == "processing":
            x = rng.random()
            if x < 0.12:
                status = "supplement_requested"
                note = "Bổ sung giấy tờ theo phiếu yêu cầu bổ sung, hoàn thiện hồ sơ."
            elif x < 0.3:
                status = "received"
        rows.append(
            {
                "code": code,
                "procedure_code": proc.code,
                "procedure_name": proc.name,
                "applicant_name": _name(rng),
                "applicant_phone": _phone(rng),
                "received_at": _fmt(received),
                "due_at": _fmt(due),
                "resolved_at": _fmt(resolved),
                "returned_at": _fmt(returned),
                "status": status,
                "channel": channel,
                "agency": agency,
                "sector": proc.field,
                "commune": commune,
                "note": note,
            }
        )
    return rows + _showcase(procedures, agencies)


SHOWCASE_SPECS = [
    # code, procedure code wanted, status, received, due, resolved, returned, channel, note
    (
        "000.00.20.H99-250310-9001",
        "1.001193",
        "returned",
        "2025-03-10 08:15",
        "2025-03-11 17:00",
        "2025-03-11 10:30",
        "2025-03-11 15:00",
        "direct",
        "",
    ),
    (
        "000.00.20.H99-250415-9002",
        "1.000894",
        "resolved",
        "2025-04-15 09:40",
        "2025-04-16 17:00",
        "2025-04-18 09:00",
        "",
        "direct",
        "",
    ),
    (
        "000.00.21.H99-250520-9003",
        "1.004222",
        "supplement_requested",
        "2025-05-20 14:05",
        "2025-05-29 17:00",
        "",
        "",
        "online",
        "Bổ sung giấy tờ chứng minh chỗ ở hợp pháp theo phiếu yêu cầu bổ sung.",
    ),
    (
        "000.00.22.H99-250612-9004",
        "1.004873",
        "processing",
        "2025-06-12 10:20",
        "2025-06-17 17:00",
        "",
        "",
        "direct",
        "",
    ),
    (
        "000.00.23.H99-250701-9005",
        "1.000656",
        "rejected",
        "2025-07-01 08:05",
        "2025-07-02 17:00",
        "",
        "",
        "postal",
        "Hồ sơ chưa đủ điều kiện giải quyết; chi tiết trong thông báo gửi kèm.",
    ),
]
SHOWCASE = [spec[0] for spec in SHOWCASE_SPECS]


def _showcase(procedures: list[DemoProcedure], agencies: list[DemoAgency]) -> list[dict[str, Any]]:
    by_code = {p.code: p for p in procedures}
    by_agency = {a.code: a for a in agencies}
    rows = []
    for i, (code, proc_code, status, rec, due, res, ret, channel, note) in enumerate(
        SHOWCASE_SPECS
    ):
        proc = by_code.get(proc_code) or procedures[i % len(procedures)]
        agency = by_agency[code.split("-")[0]]
        rows.append(
            {
                "code": code,
                "procedure_code": proc.code,
                "procedure_name": proc.name,
                "applicant_name": [
                    "Nguyễn Văn An",
                    "Trần Thị Bình",
                    "Lê Hoàng Châu",
                    "Phạm Minh Dũng",
                    "Võ Thị Hạnh",
                ][i],
                "applicant_phone": SHOWCASE_PHONE,
                "received_at": rec,
                "due_at": due,
                "resolved_at": res,
                "returned_at": ret,
                "status": status,
                "channel": channel,
                "agency": agency.name,
                "sector": proc.field,
                "commune": agency.commune,
                "note": note,
            }
        )
    return rows


@dataclass
class DemoResult:
    removed: int
    imported: int
    errors: int
    showcase: list[str]
    in_progress_examples: list[str]


def load_demo_data(
    count: int = 3800,
    *,
    today: date | None = None,
    seed: int = SEED,
    url: str | None = None,
    replace: bool = True,
) -> DemoResult:
    from sqlalchemy import delete

    from trolydvc.config import VAR_DIR
    from trolydvc.db.base import session_scope
    from trolydvc.db.models import Dossier
    from trolydvc.tracking.importer import CSV_COLUMNS, OPTIONAL_COLUMNS, import_file

    rows = generate_demo_rows(count, today=today, seed=seed)
    removed = 0
    if replace:
        with session_scope(url) as session:
            removed = session.execute(
                delete(Dossier).where(Dossier.code.contains(DEMO_MARK))
            ).rowcount
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".csv", dir=VAR_DIR, delete=False, encoding="utf-8", newline=""
    ) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS + OPTIONAL_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        tmp = Path(fh.name)
    try:
        result = import_file(tmp, url=url)
    finally:
        tmp.unlink(missing_ok=True)
    examples = [
        r["code"]
        for r in rows
        if r["status"] == "processing"
        and r["due_at"] >= _fmt(datetime.combine(today or datetime.now(VN_TZ).date(), time(17, 30)))
    ][:3]
    return DemoResult(
        removed,
        result.inserted + result.updated + result.unchanged,
        len(result.errors),
        list(SHOWCASE),
        examples,
    )
