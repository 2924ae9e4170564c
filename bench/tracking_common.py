"""Shared helpers of the tracking benchmarks: a synthetic export and scratch databases.

Not a test: run the bench/tracking_*.py scripts by hand (each takes a few minutes).
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trolydvc.config import settings  # noqa: E402

BENCH_DIR = settings().bench_dir
PG_ADMIN_URL = settings().bench_pg_admin_url
HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)
AGENCIES = [f"UBND xã Số {i}" for i in range(1, 41)]
SECTORS = [
    "Hộ tịch",
    "Chứng thực",
    "Đất đai",
    "Cư trú",
    "Bảo trợ xã hội",
    "Người có công",
    "Xây dựng",
    "Kinh doanh",
    "Văn hóa",
    "Nông nghiệp",
]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Châu", "Phạm Minh Dũng", "Võ Thị Hạnh"]


def export_path(rows: int) -> Path:
    return BENCH_DIR / f"dossiers_{rows}.csv"


def write_export(rows: int, seed: int = 7) -> Path:
    """A canonical CSV of `rows` dossiers received during 2025 (cached in var/bench/)."""
    path = export_path(rows)
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, 7, 30)
    seconds_per_row = 365 * 24 * 3600 / rows
    tmp = path.with_suffix(".tmp")
    t0 = time.perf_counter()
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for i in range(rows):
            received = start + timedelta(seconds=int(i * seconds_per_row))
            due = received + timedelta(days=rng.choice((1, 3, 5, 7, 15)))
            r = rng.random()
            resolved = returned = ""
            if r < 0.9:
                done = received + (due - received) * (rng.random() * (1.3 if r < 0.03 else 1.0))
                resolved = done.strftime("%Y-%m-%d %H:%M")
                if r < 0.8:
                    status = "Đã trả kết quả"
                    returned = (done + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")
                else:
                    status = "Đã có kết quả"
            elif r < 0.96:
                status = "Đang xử lý"
            elif r < 0.98:
                status = "Chờ bổ sung"
            else:
                status = "Từ chối"
            channel = "Trực tuyến" if rng.random() < 0.18 else "Trực tiếp"
            agency_no = i % len(AGENCIES)
            code = f"000.00.{agency_no:02d}.H50-{received:%y%m%d}-{i:07d}"
            fh.write(
                f"{code},1.{i % 9000 + 1000:06d},Thủ tục số {i % 500},{NAMES[i % 5]},"
                f"09{rng.randrange(10**8):08d},{received:%Y-%m-%d %H:%M},{due:%d/%m/%Y},"
                f"{resolved},{returned},{status},{channel},{AGENCIES[agency_no]},"
                f"{SECTORS[i % len(SECTORS)]}\n"
            )
    tmp.rename(path)
    print(f"wrote {rows:,} rows to {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


@contextlib.contextmanager
def scratch_sqlite(name: str) -> Iterator[str]:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    try:
        yield f"sqlite:///{path}"
    finally:
        from trolydvc.db.base import reset_engines

        reset_engines()
        for suffix in ("", "-wal", "-shm", ".migrate.lock"):
            Path(str(path) + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    from trolydvc.db.scratch import scratch_postgres as scratch

    with scratch("trolydvc_bench", admin_url=PG_ADMIN_URL) as url:
        yield url


@contextlib.contextmanager
def backend(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with scratch_sqlite("tracking_bench") as url:
            yield url
    else:
        with scratch_postgres() as url:
            yield url


def load(url: str, rows: int) -> float:
    """Import the synthetic export into `url`; returns rows per second."""
    from trolydvc.tracking.importer import import_file

    path = write_export(rows)
    result = import_file(path, url=url, batch_size=20000)
    assert not result.errors, result.errors[:3]
    return result.records / result.seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def prepared(kind: str, rows: int, keep: bool) -> Iterator[str]:
    """A database of `kind` holding the synthetic export of `rows` dossiers.

    With keep=True it is left in place (var/bench/tracking_<rows>.db or the PostgreSQL database
    trolydvc_bench_<rows>) and reused by the next run; otherwise it is removed at the end.
    """
    from trolydvc.db.base import reset_engines
    from trolydvc.db.migrate import upgrade

    if kind == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"tracking_{rows}.db"
        url = f"sqlite:///{path}"
        ready = path.with_suffix(".ready")

        def drop() -> None:
            for suffix in ("", "-wal", "-shm", ".migrate.lock"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            ready.unlink(missing_ok=True)

        if not ready.exists():
            drop()
            print(
                f"loading {rows:,} dossiers into SQLite: {load(url, rows):,.0f} rows/s", flush=True
            )
            ready.touch()
        try:
            yield url
        finally:
            reset_engines()
            if not keep:
                drop()
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"trolydvc_bench_{rows}"
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists:
            count = (
                create_engine(url).connect().execute(text("SELECT count(*) FROM dossiers")).scalar()
            )
            if count != rows:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(url)  # a kept database may predate the newest migration
    if not exists:
        print(
            f"loading {rows:,} dossiers into PostgreSQL: {load(url, rows):,.0f} rows/s", flush=True
        )
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE dossiers"))
    try:
        yield url
    finally:
        reset_engines()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
