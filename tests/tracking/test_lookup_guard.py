"""The shared lookup guard: wrong phone digits per code and across codes, unknown codes.

Each guard test runs against the real stores: a SQLite file, a scratch PostgreSQL database and
the Redis server (a key prefix of its own, deleted afterwards). Where PostgreSQL or Redis is
missing the test is skipped, except under CI=true where it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import pytest
import redis
from sqlalchemy import text

from trolydvc import config
from trolydvc.db.base import get_engine
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
from trolydvc.tracking.importer import import_file
from trolydvc.tracking.lookup import _contact, lookup
from trolydvc.tracking.lookup_guard import (
    Attempt,
    CounterStore,
    GuardLimits,
    LookupGuard,
    RateLimiter,
    RedisCounterStore,
    SqlCounterStore,
    Verdict,
)

EXAMPLE_LOCALITY = Path(__file__).resolve().parents[1] / "fixtures" / "locality_example.yml"

REDIS_URL = os.environ.get("TROLYDVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).resolve().parents[2]
CODE = "000.00.20.H50-221107-0001"
OTHER = "000.00.20.H50-221107-0002"
RIGHT = "5678"  # CODE's registered phone ends so
NOW = datetime(2022, 11, 8, 12, 0)
HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector,note\n"
)
ROWS = (
    f"{CODE},1.001193,Đăng ký khai sinh,Nguyễn Văn An,0912345678,07/11/2022 08:30,"
    "09/11/2022 17:00,,,Đang xử lý,Trực tiếp,UBND xã A,Hộ tịch,\n"
    f"{OTHER},1.000894,Đăng ký kết hôn,Trần Thị Bình,0987654321,07/11/2022 09:00,"
    "08/11/2022 17:00,,,Đang xử lý,Trực tiếp,UBND xã A,Hộ tịch,\n"
)


def unavailable(what: str, exc: Exception) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is needed by these tests: {exc}")
    pytest.skip(f"{what} not reachable: {exc}")


class Clock:
    """An injectable clock: seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    """One real store, and how to open it again (as another process or a restart would)."""

    kind: str  # "sql" or "redis"
    target: str  # database URL or Redis URL
    prefix: str  # Redis key prefix

    def store(self) -> CounterStore:
        if self.kind == "redis":
            return RedisCounterStore(redis.Redis.from_url(self.target), self.prefix)
        return SqlCounterStore(self.target)


def _clear_sql(url: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM lookup_counters"))


@pytest.fixture(scope="module")
def pg_guard_url() -> Iterator[str]:
    try:
        with scratch_postgres("trolydvc_test_guard") as url:
            yield url
    except PostgresUnavailable as exc:
        unavailable("PostgreSQL", exc)


@pytest.fixture
def redis_backend() -> Iterator[Backend]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    backend = Backend("redis", REDIS_URL, f"trolydvc-test-guard-{uuid.uuid4().hex[:10]}:")
    yield backend
    keys = list(client.scan_iter(match=backend.prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "redis":
        return request.getfixturevalue("redis_backend")
    if request.param == "postgres":
        url = request.getfixturevalue("pg_guard_url")
    else:
        url = f"sqlite:///{tmp_path / 'guard.db'}"
    get_engine(url)  # migrated (SQLite on first use; PostgreSQL by scratch_postgres)
    _clear_sql(url)
    return Backend("sql", url, "")


LIMITS = GuardLimits(
    code_max_wrong=5,
    code_window=3600,
    code_lock=86400,
    all_max_wrong=50,
    all_window=3600,
    max_unknown=20,
    unknown_window=600,
)


def guess(guard: LookupGuard, code: str, correct: bool) -> Verdict | None:
    """One try of a code's digits through the guard: None when refused before the comparison,
    else the settled verdict."""
    attempt = guard.begin_verification(code)
    if not isinstance(attempt, Attempt):
        return None
    return guard.finish_verification(attempt, correct=correct)


# --- the guard on each store ------------------------------------------------------------------


def test_a_code_locks_after_its_wrong_tries_and_then_refuses_the_right_digits(
    backend: Backend,
) -> None:
    clock = Clock()
    guard = LookupGuard(backend.store(), LIMITS, clock)
    remaining = [guess(guard, CODE, correct=False) for _ in range(5)]
    assert [v.remaining for v in remaining if v] == [4, 3, 2, 1, 0]
    assert remaining[-1] is not None and remaining[-1].reason == "locked"
    refused = guard.begin_verification(CODE)  # the right digits would not even be compared
    assert isinstance(refused, Verdict) and refused.reason == "locked"
    assert refused.retry_after == pytest.approx(86400)
    assert guard.verification_allowed(CODE).reason == "locked"
    assert guard.verification_allowed(OTHER).allowed  # other codes are not affected

    clock.advance(86400 - 1)
    assert guess(guard, CODE, correct=True) is None  # still locked one second before the end
    clock.advance(2)
    settled = guess(guard, CODE, correct=True)
    assert settled is not None and settled.allowed  # the lock is over: the owner gets in
    # the lock restarted the count: five new tries, not one
    assert [v.remaining for v in (guess(guard, CODE, False) for _ in range(5)) if v] == [
        4,
        3,
        2,
        1,
        0,
    ]


def test_wrong_tries_outside_the_window_are_forgotten_and_right_ones_do_not_count(
    backend: Backend,
) -> None:
    clock = Clock()
    guard = LookupGuard(backend.store(), LIMITS, clock)
    for _ in range(4):
        assert guess(guard, CODE, correct=False) is not None
    for _ in range(3):  # the owner getting it right does not use up tries
        assert guess(guard, CODE, correct=True) is not None
    last = guess(guard, CODE, correct=False)
    assert last is not None and last.reason == "locked"
    guard.unlock(CODE)  # an official lifted it
    for _ in range(4):
        assert guess(guard, CODE, correct=False) is not None
    clock.advance(3600)  # a new window
    assert [v.remaining for v in (guess(guard, CODE, False) for _ in range(4)) if v] == [4, 3, 2, 1]


def test_too_many_wrong_digits_across_codes_pause_verification_for_everyone(
    backend: Backend,
) -> None:
    clock = Clock()
    limits = GuardLimits(code_max_wrong=5, all_max_wrong=12, all_window=3600)
    guard = LookupGuard(backend.store(), limits, clock)
    for i in range(12):  # three wrong tries on each of four codes: no code gets locked
        assert guess(guard, f"{CODE}-{i // 3}", correct=False) is not None
    paused = guard.begin_verification(OTHER)
    assert isinstance(paused, Verdict) and paused.reason == "paused"
    assert paused.retry_after == pytest.approx(3600)
    assert guard.verification_allowed(OTHER).reason == "paused"
    clock.advance(1800)
    assert guard.verification_allowed(OTHER).retry_after == pytest.approx(1800)
    clock.advance(1800)
    assert guess(guard, OTHER, correct=True) is not None


def test_unknown_codes_are_limited_for_everyone(backend: Backend) -> None:
    clock = Clock()
    guard = LookupGuard(backend.store(), LIMITS, clock)
    assert all(guard.record_unknown().allowed for _ in range(20))
    assert guard.lookups_allowed().reason == "probing"
    assert guard.record_unknown().reason == "probing"
    clock.advance(600)
    assert guard.lookups_allowed().allowed and guard.record_unknown().allowed


def test_counters_survive_a_restart(backend: Backend) -> None:
    clock = Clock()
    first = LookupGuard(backend.store(), LIMITS, clock)
    for _ in range(3):
        guess(first, CODE, correct=False)
    for _ in range(20):
        first.record_unknown()
    restarted = LookupGuard(backend.store(), LIMITS, clock)  # a new store object, same storage
    assert restarted.lookups_allowed().reason == "probing"
    tries = [guess(restarted, CODE, correct=False) for _ in range(3)]
    assert [v.remaining if v else None for v in tries] == [1, 0, None]


def start_guessers(backend: Backend, count: int, tries: int) -> list[subprocess.Popen[str]]:
    """Processes that guess wrong digits for CODE, each connected and waiting for "go"."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("guard_process.py")),
                backend.kind,
                backend.target,
                backend.prefix or "-",
                CODE,
                str(tries),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.strip() == "ready", ready + (proc.stderr.read() if proc.stderr else "")
    return procs


def granted_by(procs: list[subprocess.Popen[str]]) -> list[int]:
    for proc in procs:  # all at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    granted = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        granted.append(int(out.split()[-1]))
    return granted


def test_a_lock_made_by_another_process_holds_here(backend: Backend) -> None:
    assert granted_by(start_guessers(backend, 1, 8)) == [5]  # the default limit: 5 of 8 tries
    here = LookupGuard(backend.store(), GuardLimits())  # a fresh guard, the real clock
    assert here.verification_allowed(CODE).reason == "locked"
    assert guess(here, CODE, correct=True) is None


def test_concurrent_threads_cannot_exceed_the_limit(backend: Backend) -> None:
    guard = LookupGuard(backend.store(), LIMITS)
    start = threading.Barrier(16)

    def one() -> bool:
        start.wait()
        return guess(guard, CODE, correct=False) is not None

    with ThreadPoolExecutor(16) as pool:
        granted = sum(pool.map(lambda _: one(), range(16)))
    assert granted == 5
    assert guard.verification_allowed(CODE).reason == "locked"


def test_concurrent_processes_cannot_exceed_the_limit(backend: Backend) -> None:
    granted = granted_by(start_guessers(backend, 2, 8))
    assert sum(granted) == 5, granted  # 16 tries at once, 5 allowed in all


def test_refused_tries_do_not_count(backend: Backend) -> None:
    clock = Clock()
    guard = LookupGuard(backend.store(), GuardLimits(code_max_wrong=3, all_max_wrong=4), clock)
    for _ in range(3):
        guess(guard, CODE, correct=False)  # CODE locked, 3 wrong in all
    for _ in range(10):  # hammering the locked code spends nothing of the global budget
        assert guess(guard, CODE, correct=False) is None
    assert guess(guard, OTHER, correct=False) is not None  # the 4th wrong try in all
    assert guess(guard, OTHER, correct=True) is None  # paused now
    assert guard.verification_allowed(OTHER).reason == "paused"


def test_ended_counters_are_forgotten(backend: Backend) -> None:
    clock = Clock()
    store = backend.store()
    guard = LookupGuard(store, LIMITS, clock)
    guess(guard, CODE, correct=False)
    for _ in range(5):
        guess(guard, OTHER, correct=False)  # locked for a day
    if backend.kind == "redis":  # keys expire by themselves (Redis time): once nothing matters
        client = redis.Redis.from_url(backend.target)
        assert 3600 < client.ttl(backend.prefix + "code:" + CODE) <= 3660
        assert 86400 + 3600 < client.ttl(backend.prefix + "code:" + OTHER) <= 86400 + 3660
        client.close()
        return
    clock.advance(7200)
    store.prune(clock(), clock() - 3600)
    assert store.read(["code:" + CODE, "code:" + OTHER]).keys() == {"code:" + OTHER}
    assert guard.verification_allowed(OTHER).reason == "locked"  # a lock is never pruned early


# --- the attacks, through the public lookup ---------------------------------------------------


@pytest.fixture
def dossiers(db_url: str, tmp_path: Path) -> str:
    path = tmp_path / "d.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    assert not import_file(path, url=db_url).errors
    _clear_sql(db_url)
    return db_url


@pytest.fixture(params=["sql", "redis"])
def attack_guard(
    request: pytest.FixtureRequest, dossiers: str
) -> Callable[[GuardLimits, Clock], LookupGuard]:
    """Guards over the dossiers' database (SQLite and PostgreSQL), or over Redis."""
    if request.param == "redis":
        backend = request.getfixturevalue("redis_backend")
        return lambda limits, clock: LookupGuard(backend.store(), limits, clock)
    return lambda limits, clock: LookupGuard(SqlCounterStore(dossiers), limits, clock)


def rotating(guard: LookupGuard, url: str, digits: str | None, code: str = CODE):  # type: ignore[no-untyped-def]
    """One lookup from a brand-new sender, in a fresh process's per-sender limiter: what a
    client that picks a new sender id per request gets."""
    return lookup(
        code,
        sender_id=f"attacker-{uuid.uuid4().hex}",
        phone_last4=digits,
        now=NOW,
        limiter=RateLimiter(),
        guard=guard,
        url=url,
    )


def test_rotating_senders_cannot_brute_force_the_digits(
    attack_guard: Callable[[GuardLimits, Clock], LookupGuard],
    dossiers: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the documented sample locality, whose offices have phone numbers to point to
    monkeypatch.setattr(config, "LOCALITY_FILE", EXAMPLE_LOCALITY)
    clock = Clock()
    guard = attack_guard(GuardLimits(), clock)  # the default limits
    kinds = [rotating(guard, dossiers, f"{n:04d}").kind for n in range(100)]
    assert kinds[:4] == ["wrong_phone"] * 4 and kinds[4] == "locked"
    assert set(kinds[5:]) == {"locked"}
    right = rotating(guard, dossiers, RIGHT)
    assert right.kind == "locked" and "Nguyễn Văn An" not in right.text
    assert "tạm khóa" in right.text and "0200 000 0000" in right.text  # who to contact
    assert "kể cả khi nhập đúng" in right.text
    asked = rotating(guard, dossiers, None)  # the code alone: the status, and no ask for digits
    assert asked.kind == "locked" and "Đang xử lý" in asked.text and "tạm khóa" in asked.text
    assert "Bạn cho biết 4 số cuối" not in asked.text
    clock.advance(86400)
    opened = rotating(guard, dossiers, RIGHT)
    assert opened.kind == "verified" and "Nguyễn Văn An" in opened.text


def test_the_last_tries_are_announced(
    attack_guard: Callable[[GuardLimits, Clock], LookupGuard], dossiers: str
) -> None:
    guard = attack_guard(GuardLimits(), Clock())
    texts = [rotating(guard, dossiers, "1111").text for _ in range(5)]
    assert "lần thử" not in texts[0] + texts[1] and "Bạn còn 2 lần thử" in texts[2]
    assert "Bạn còn 1 lần thử" in texts[3]
    assert "không khớp" in texts[4] and "tạm khóa khoảng 24 giờ" in texts[4]


def test_guessing_across_many_codes_hits_the_global_cap(
    attack_guard: Callable[[GuardLimits, Clock], LookupGuard], dossiers: str
) -> None:
    guard = attack_guard(GuardLimits(code_max_wrong=5, all_max_wrong=6), Clock())
    kinds = [
        rotating(guard, dossiers, f"{n:04d}", code=(CODE, OTHER)[n % 2]).kind for n in range(8)
    ]
    assert kinds == ["wrong_phone"] * 6 + ["paused"] * 2
    paused = rotating(guard, dossiers, RIGHT)
    assert paused.kind == "paused" and "Nguyễn Văn An" not in paused.text
    assert "tạm dừng với mọi người dùng" in paused.text


def test_probing_unknown_codes_pauses_every_lookup(
    attack_guard: Callable[[GuardLimits, Clock], LookupGuard], dossiers: str
) -> None:
    clock = Clock()
    guard = attack_guard(GuardLimits(max_unknown=10, unknown_window=600), clock)
    kinds = [
        rotating(guard, dossiers, None, code=f"000.00.20.H50-221107-{n:04d}").kind
        for n in range(100, 112)
    ]
    assert kinds == ["not_found"] * 10 + ["paused"] * 2
    known = rotating(guard, dossiers, None, code=CODE)
    unknown = rotating(guard, dossiers, None, code="000.00.20.H50-221107-0999")
    assert known.kind == unknown.kind == "paused"
    # the refusal is the same whether the code exists or not: probing learns nothing
    assert known.text == unknown.text and CODE not in known.text
    clock.advance(600)
    assert rotating(guard, dossiers, None, code=CODE).kind == "found"


def test_concurrent_rotating_senders_cannot_exceed_the_limit(
    attack_guard: Callable[[GuardLimits, Clock], LookupGuard], dossiers: str
) -> None:
    guard = attack_guard(GuardLimits(), Clock())
    start = threading.Barrier(12)

    def one(n: int) -> str:
        start.wait()
        return rotating(guard, dossiers, f"{n:04d}").text

    with ThreadPoolExecutor(12) as pool:
        texts = list(pool.map(one, range(12)))
    compared = [t for t in texts if "không khớp" in t]  # the digits were actually compared
    assert len(compared) == 5, texts


# --- settings -----------------------------------------------------------------------------


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GuardLimits.from_settings() == GuardLimits()  # the documented defaults
    monkeypatch.setenv("TROLYDVC_LOOKUP_CODE_MAX_WRONG", "3")
    monkeypatch.setenv("TROLYDVC_LOOKUP_CODE_LOCK", "7200")
    monkeypatch.setenv("TROLYDVC_LOOKUP_UNKNOWN_WINDOW", "60.5")
    limits = GuardLimits.from_settings()
    assert (limits.code_max_wrong, limits.code_lock, limits.unknown_window) == (3, 7200, 60.5)
    for name, bad in [("TROLYDVC_LOOKUP_ALL_MAX_WRONG", "0"), ("TROLYDVC_LOOKUP_CODE_MAX_WRONG", "2.5"),
                      ("TROLYDVC_LOOKUP_ALL_WINDOW", "-1"), ("TROLYDVC_LOOKUP_CODE_WINDOW", "một giờ")]:  # fmt: skip
        monkeypatch.setenv(name, bad)
        with pytest.raises(ValueError, match=name):
            GuardLimits.from_settings()
        monkeypatch.delenv(name)


def test_the_default_guard_uses_redis_when_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from trolydvc.tracking import lookup_guard

    monkeypatch.setattr(lookup_guard, "_guards", {})
    monkeypatch.delenv("REDIS_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    sql = lookup_guard.default_guard(url)
    assert isinstance(sql.store, SqlCounterStore) and sql.store.url == url
    assert lookup_guard.default_guard(url) is sql  # one per process
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TROLYDVC_LOOKUP_CODE_MAX_WRONG", "4")
    shared = lookup_guard.default_guard(url)
    assert isinstance(shared.store, RedisCounterStore) and shared.limits.code_max_wrong == 4


def test_an_official_unlocks_a_code_from_the_command_line(
    dossiers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from trolydvc.cli import main
    from trolydvc.tracking.lookup_guard import default_guard

    monkeypatch.delenv("REDIS_URL", raising=False)
    guard = default_guard(None)  # the CLI's: DATABASE_URL is the dossiers' database
    for n in range(5):
        rotating(guard, dossiers, f"{n:04d}")
    runner = CliRunner()
    locked = runner.invoke(main, ["dossiers", "show", CODE, "--phone-last4", RIGHT])
    assert locked.exit_code == 1 and "tạm khóa" in locked.output
    unlocked = runner.invoke(main, ["dossiers", "unlock", CODE.lower()])
    assert unlocked.exit_code == 0 and f"Đã mở khóa xác minh hồ sơ {CODE}" in unlocked.output
    shown = runner.invoke(main, ["dossiers", "show", CODE, "--phone-last4", RIGHT])
    assert shown.exit_code == 0 and "Nguyễn Văn An" in shown.output
    bad = runner.invoke(main, ["dossiers", "unlock", "???"])
    assert bad.exit_code == 1 and "chưa đúng định dạng" in bad.output


def test_contact_says_what_a_generated_locality_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped locality.yml (Quảng Trị, generated): no phone yet, and the answer says so."""
    monkeypatch.setattr(config, "LOCALITY_FILE", config.ROOT / "locality.yml")
    text = _contact()
    assert "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị" in text
    assert "Điện thoại:" not in text and "chưa có đủ địa chỉ, số điện thoại" in text
