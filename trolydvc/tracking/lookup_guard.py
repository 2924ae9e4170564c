"""Limits on dossier lookups, so the status lookup can neither be brute-forced nor used to probe
codes (issue #11).

Per sender (in memory, per process, thread-safe; a client that picks a new sender id per request
escapes it, hence the shared guard below):

- ``RateLimiter(per_window=10, window=60.0, failure_threshold=3, failure_window=600.0,
  base_delay=30.0, max_delay=900.0)``:
  ``check(sender_id) -> Decision`` before a lookup (``allowed``, ``retry_after`` seconds,
  ``reason`` "rate" or "slowdown"); ``hit(sender_id)`` counts a lookup;
  ``record_failure(sender_id)`` counts an unknown code or wrong phone digits. After
  ``failure_threshold`` failures within ``failure_window`` each further lookup must wait
  ``base_delay * 2**(extra failures)`` seconds (capped at ``max_delay``) after the last failure.
- ``default_limiter()``: the process-wide limiter used by ``trolydvc.tracking.lookup``.

For everyone (shared by every process and kept across restarts):

- ``LookupGuard(store, limits=GuardLimits(), clock=time.time)``, whatever the sender:
  * wrong phone digits per dossier code: once ``code_max_wrong`` are made within
    ``code_window`` seconds, the code's verification is locked for ``code_lock`` seconds, for
    everyone and for the right digits too;
  * wrong digits across all codes: once ``all_max_wrong`` are made within ``all_window`` seconds,
    verification is paused for everyone until that window ends;
  * unknown codes across all senders: once ``max_unknown`` are looked up within
    ``unknown_window`` seconds, every lookup is paused until that window ends (a paused lookup
    answers alike for known and unknown codes, so probing learns nothing).
  ``check(code) -> GuardCheck`` before a lookup: ``lookups`` (may anything be looked up) and
  ``verification`` (may this code's digits be tried; to tell before asking for them), from one
  read (``lookups_allowed()`` and ``verification_allowed(code)`` give each alone);
  ``record_unknown()`` after an unknown code (its refusal replaces the "not found" answer);
  ``begin_verification(code) -> Attempt | Verdict`` reserves the attempt before the
  digits are compared and ``finish_verification(attempt, correct=...)`` settles it: concurrent
  guesses, from any number of threads or processes, can never exceed the limits.
  ``unlock(code)`` lifts a code's lock (an official who checked the citizen's papers).
- Its counters live in a ``CounterStore``: ``SqlCounterStore(url=None)`` (the
  ``lookup_counters`` table, SQLite or PostgreSQL; one atomic upsert per count) or
  ``RedisCounterStore(client, prefix)`` (one hash per counter, updated by Lua scripts).
- ``default_guard(url=None)``: the guard of this process: Redis when ``REDIS_URL`` is set, else
  the database at ``url`` (default ``DATABASE_URL``); limits from ``trolydvc.config``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from sqlalchemy import Connection, Double, Engine, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from trolydvc import config
from trolydvc.db.base import get_engine
from trolydvc.db.models import LookupCounter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0
    reason: str = ""


@dataclass
class _State:
    hits: deque[float] = field(default_factory=deque)
    failures: deque[float] = field(default_factory=deque)


class RateLimiter:
    def __init__(
        self,
        per_window: int = 10,
        window: float = 60.0,
        failure_threshold: int = 3,
        failure_window: float = 600.0,
        base_delay: float = 30.0,
        max_delay: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window = window
        self.failure_threshold = failure_threshold
        self.failure_window = failure_window
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def _state(self, sender_id: str, now: float) -> _State:
        state = self._states.get(sender_id)
        if state is None:
            if len(self._states) > 50_000:
                self._prune(now)
            state = self._states[sender_id] = _State()
        while state.hits and state.hits[0] <= now - self.window:
            state.hits.popleft()
        while state.failures and state.failures[0] <= now - self.failure_window:
            state.failures.popleft()
        return state

    def _prune(self, now: float) -> None:
        horizon = now - max(self.window, self.failure_window)
        for key in [
            k
            for k, s in self._states.items()
            if (not s.hits or s.hits[-1] <= horizon)
            and (not s.failures or s.failures[-1] <= horizon)
        ]:
            del self._states[key]

    def check(self, sender_id: str) -> Decision:
        now = self.clock()
        with self._lock:
            state = self._state(sender_id, now)
            extra = len(state.failures) - self.failure_threshold
            if extra >= 0:
                delay = min(self.base_delay * 2**extra, self.max_delay)
                wait = state.failures[-1] + delay - now
                if wait > 0:
                    return Decision(False, wait, "slowdown")
            if len(state.hits) >= self.per_window:
                return Decision(False, state.hits[0] + self.window - now, "rate")
            return Decision(True)

    def hit(self, sender_id: str) -> None:
        now = self.clock()
        with self._lock:
            self._state(sender_id, now).hits.append(now)

    def record_failure(self, sender_id: str) -> None:
        now = self.clock()
        with self._lock:
            self._state(sender_id, now).failures.append(now)

    def reset(self, sender_id: str | None = None) -> None:
        with self._lock:
            if sender_id is None:
                self._states.clear()
            else:
                self._states.pop(sender_id, None)


_default: RateLimiter | None = None
_default_lock = threading.Lock()


def default_limiter() -> RateLimiter:
    global _default
    with _default_lock:
        if _default is None:
            _default = RateLimiter()
        return _default


# --- shared counters --------------------------------------------------------------------------


@dataclass(frozen=True)
class Counter:
    """A counter's state: ``count`` within the window that began at ``window_start``, and the
    time its lock ends (None or past: not locked). Times are the guard clock's seconds."""

    count: int
    window_start: float
    locked_until: float | None = None

    def locked(self, now: float) -> bool:
        return self.locked_until is not None and self.locked_until > now


class CounterStore(Protocol):
    """Where a ``LookupGuard`` keeps its counters. Every method is atomic."""

    def add(self, key: str, now: float, window: float) -> Counter:
        """Unless ``key`` is locked at ``now``, count one more in its window (a new window
        starting at ``now`` when the last one has ended); the state after."""
        ...

    def subtract(self, *tries: tuple[str, float]) -> None:
        """For each (key, window_start): count one less (never below 0) if that window is still
        the key's current one. Gives back tries that were reserved but not spent."""
        ...

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        """Lock ``key`` until ``until``; its count restarts from 0 in a window beginning then."""
        ...

    def read(self, keys: list[str]) -> dict[str, Counter]:
        """The stored state of those of ``keys`` that exist (ended windows included)."""
        ...

    def delete(self, key: str) -> None: ...

    def prune(self, now: float, older_than: float) -> None:
        """Forget counters whose window began before ``older_than`` and that are not locked."""
        ...


@dataclass(frozen=True)
class _SqlStatements:
    add: Any
    subtract: Any
    lock: Any
    read: Any
    delete: Any
    prune: Any


def _sql_statements(dialect_name: str) -> _SqlStatements:
    """The store's statements, built once per dialect with named parameters: building and
    caching a statement per call cost ~3 ms of CPU per verification (profiled), reusing them
    a small fraction of that."""
    t = LookupCounter.__table__
    now = bindparam("now", type_=Double())
    window = bindparam("window", type_=Double())
    locked = t.c.locked_until > now  # NULL (never locked) is not greater: not locked
    ended = t.c.window_start + window <= now
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert
    add = (
        insert(t)
        .values(key=bindparam("k"), count=1, window_start=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "count": case((locked, t.c.count), (ended, 1), else_=t.c.count + 1),
                "window_start": case(
                    (locked, t.c.window_start), (ended, now), else_=t.c.window_start
                ),
            },
        )
        .returning(t.c.count, t.c.window_start, t.c.locked_until)
    )
    until = bindparam("until", type_=Double())
    return _SqlStatements(
        add=add,
        subtract=update(t)
        .where(t.c.key == bindparam("k"), t.c.window_start == bindparam("ws"), t.c.count > 0)
        .values(count=t.c.count - 1),
        lock=update(t)
        .where(t.c.key == bindparam("k"))
        .values(count=0, window_start=until, locked_until=until),
        read=select(t.c.key, t.c.count, t.c.window_start, t.c.locked_until).where(
            t.c.key.in_(bindparam("keys", expanding=True))
        ),
        delete=delete(t).where(t.c.key == bindparam("k")),
        prune=delete(t).where(
            t.c.window_start < bindparam("older_than", type_=Double()),
            or_(t.c.locked_until.is_(None), t.c.locked_until <= now),
        ),
    )


class SqlCounterStore:
    """Counters in the ``lookup_counters`` table (SQLite or PostgreSQL).

    ``add`` is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: atomic on both databases
    (PostgreSQL locks the row; SQLite has one writer at a time), so concurrent processes never
    both see the same count. ``url`` None follows ``DATABASE_URL`` at each call.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._statements: dict[str, _SqlStatements] = {}

    def _sql(self, engine: Engine) -> _SqlStatements:
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise RuntimeError(f"lookup counters need SQLite or PostgreSQL, not {name}")
        statements = self._statements.get(name)
        if statements is None:
            statements = self._statements[name] = _sql_statements(name)
        return statements

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[Connection, _SqlStatements]]:
        engine = get_engine(self.url)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # No wait for the WAL flush (1-2 ms a commit here): a server crash may forget
                # the last fraction of a second of counts, never corrupt them.
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn, self._sql(engine)

    def add(self, key: str, now: float, window: float) -> Counter:
        with self._write() as (conn, sql):
            row = conn.execute(sql.add, {"k": key, "now": now, "window": window}).one()
        return Counter(row.count, row.window_start, row.locked_until)

    def subtract(self, *tries: tuple[str, float]) -> None:
        if tries:
            with self._write() as (conn, sql):
                conn.execute(sql.subtract, [{"k": key, "ws": start} for key, start in tries])

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        with self._write() as (conn, sql):
            conn.execute(sql.lock, {"k": key, "until": until})

    def read(self, keys: list[str]) -> dict[str, Counter]:
        engine = get_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(self._sql(engine).read, {"keys": keys}).all()
        return {r.key: Counter(r.count, r.window_start, r.locked_until) for r in rows}

    def delete(self, key: str) -> None:
        with self._write() as (conn, sql):
            conn.execute(sql.delete, {"k": key})

    def prune(self, now: float, older_than: float) -> None:
        with self._write() as (conn, sql):
            conn.execute(sql.prune, {"now": now, "older_than": older_than})


# Each script reads and writes one hash atomically (Redis runs a script alone). Times come from
# the guard's clock (ARGV), never from Redis, so the two stores behave alike; the key expires
# (Redis time) once neither its window nor its lock can matter any more.
_ADD = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'count', 'window_start', 'locked_until')
local count, start, locked = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
if locked and locked > now then
  return {h[1], h[2], h[3]}
end
if count == nil or start + window <= now then
  count = 1
  redis.call('HSET', KEYS[1], 'count', 1, 'window_start', ARGV[1])
  start = now
else
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
end
local ends = start + window
if locked and locked > ends then ends = locked end
redis.call('EXPIRE', KEYS[1], math.ceil(ends - now) + 60)
return {tostring(count), redis.call('HGET', KEYS[1], 'window_start'), h[3] or false}
"""
_SUBTRACT = """
local h = redis.call('HMGET', KEYS[1], 'count', 'window_start')
if h[1] and tonumber(h[2]) == tonumber(ARGV[1]) and tonumber(h[1]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return 0
"""
_LOCK = """
local ends, now, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'count', 0, 'window_start', ARGV[1], 'locked_until', ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(ends + window - now) + 60)
return 0
"""


class RedisCounterStore:
    """Counters in Redis: one hash per counter under ``prefix``, changed only by Lua scripts."""

    def __init__(self, client: redis.Redis, prefix: str = "trolydvc:lookup:") -> None:
        self.client = client
        self.prefix = prefix
        self._add = client.register_script(_ADD)
        self._subtract = client.register_script(_SUBTRACT)
        self._lock = client.register_script(_LOCK)

    @classmethod
    def from_url(cls, url: str, prefix: str = "trolydvc:lookup:") -> RedisCounterStore:
        # Short timeouts: a lookup fails with a clear apology rather than hang on a dead server.
        return cls(redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3), prefix)

    def add(self, key: str, now: float, window: float) -> Counter:
        count, start, locked = self._add(keys=[self.prefix + key], args=[repr(now), repr(window)])
        return Counter(int(count), float(start), float(locked) if locked else None)

    def subtract(self, *tries: tuple[str, float]) -> None:
        for key, start in tries:
            self._subtract(keys=[self.prefix + key], args=[repr(start)])

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        self._lock(keys=[self.prefix + key], args=[repr(until), repr(now), repr(window)])

    def read(self, keys: list[str]) -> dict[str, Counter]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.prefix + key, ["count", "window_start", "locked_until"])
        found = {}
        for key, (count, start, locked) in zip(keys, pipe.execute(), strict=True):
            if count is not None:
                found[key] = Counter(int(count), float(start), float(locked) if locked else None)
        return found

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def prune(self, now: float, older_than: float) -> None:
        """Nothing to do: every key expires by itself."""


# --- the guard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardLimits:
    code_max_wrong: int = 5
    code_window: float = 3600.0
    code_lock: float = 86400.0
    all_max_wrong: int = 50
    all_window: float = 3600.0
    max_unknown: int = 100
    unknown_window: float = 600.0

    @classmethod
    def from_settings(cls) -> GuardLimits:
        return cls(
            code_max_wrong=config.lookup_code_max_wrong(),
            code_window=config.lookup_code_window(),
            code_lock=config.lookup_code_lock(),
            all_max_wrong=config.lookup_all_max_wrong(),
            all_window=config.lookup_all_window(),
            max_unknown=config.lookup_max_unknown(),
            unknown_window=config.lookup_unknown_window(),
        )


@dataclass(frozen=True)
class Verdict:
    """``reason``: "locked" (this code's verification), "paused" (verification of every code)
    or "probing" (every lookup); ``retry_after`` in seconds; ``remaining`` wrong tries left for
    the code after a wrong one (None when not counted)."""

    allowed: bool
    reason: str = ""
    retry_after: float = 0.0
    remaining: int | None = None


@dataclass(frozen=True)
class GuardCheck:
    lookups: Verdict  # may anything be looked up ("probing" when not)
    verification: Verdict  # may this code's digits be tried ("locked" or "paused" when not)


@dataclass(frozen=True)
class Attempt:
    """A verification attempt reserved by ``begin_verification``: the counts it took."""

    code: str
    code_count: int
    code_window_start: float
    all_window_start: float


_WRONG = "wrong"  # wrong digits, all codes
_UNKNOWN = "unknown"  # unknown codes, all senders
_PRUNE_EVERY = 500  # reservations between two prunes of ended counters (per process)


def _code_key(code: str) -> str:
    return "code:" + code


class LookupGuard:
    def __init__(
        self,
        store: CounterStore,
        limits: GuardLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.limits = limits or GuardLimits()
        self.clock = clock
        self._reservations = 0

    # -- reading -----------------------------------------------------------------------------
    def check(self, code: str) -> GuardCheck:
        """Whether lookups are allowed at all, and whether ``code``'s digits may be tried, from
        one read of the store (changes nothing)."""
        now = self.clock()
        lim = self.limits
        key = _code_key(code)
        found = self.store.read([_UNKNOWN, key, _WRONG])
        unknown = self._current(found.get(_UNKNOWN), now, lim.unknown_window)
        lookups = Verdict(True)
        if unknown.count >= lim.max_unknown:
            lookups = Verdict(False, "probing", unknown.window_start + lim.unknown_window - now)
        own = self._current(found.get(key), now, lim.code_window)
        wrong = self._current(found.get(_WRONG), now, lim.all_window)
        verification = Verdict(True)
        if own.locked_until is not None and own.locked_until > now:
            verification = Verdict(False, "locked", own.locked_until - now)
        elif wrong.count >= lim.all_max_wrong:
            verification = Verdict(False, "paused", wrong.window_start + lim.all_window - now)
        return GuardCheck(lookups, verification)

    def lookups_allowed(self) -> Verdict:
        """False (reason "probing") while too many unknown codes were looked up."""
        return self.check("").lookups

    def verification_allowed(self, code: str) -> Verdict:
        """Whether ``code``'s phone digits may be tried now."""
        return self.check(code).verification

    @staticmethod
    def _current(counter: Counter | None, now: float, window: float) -> Counter:
        if counter is None:
            return Counter(0, now)
        if counter.window_start + window <= now:  # ended: only a lock may still hold
            return Counter(0, counter.window_start, counter.locked_until)
        return counter

    # -- probing ---------------------------------------------------------------------------
    def record_unknown(self) -> Verdict:
        """Count an unknown code; refused (reason "probing") when it is one too many."""
        now = self.clock()
        lim = self.limits
        unknown = self.store.add(_UNKNOWN, now, lim.unknown_window)
        if unknown.count > lim.max_unknown:
            return Verdict(False, "probing", unknown.window_start + lim.unknown_window - now)
        if unknown.count == lim.max_unknown:
            log.warning(
                "dossier lookup: %d unknown codes within %.0f s, lookups paused for everyone",
                unknown.count,
                lim.unknown_window,
            )
        return Verdict(True)

    # -- verification ----------------------------------------------------------------------
    def begin_verification(self, code: str) -> Attempt | Verdict:
        """Reserve one try of ``code``'s digits, counted as wrong until settled; a ``Verdict``
        when none is left."""
        now = self.clock()
        lim = self.limits
        key = _code_key(code)
        self._maybe_prune(now)
        own = self.store.add(key, now, lim.code_window)
        if own.locked(now):
            assert own.locked_until is not None
            return Verdict(False, "locked", own.locked_until - now)
        if own.count > lim.code_max_wrong:  # concurrent tries already hold every allowed one
            self.store.subtract((key, own.window_start))
            return Verdict(False, "locked", lim.code_lock)
        wrong = self.store.add(_WRONG, now, lim.all_window)
        if wrong.count > lim.all_max_wrong:
            self.store.subtract((_WRONG, wrong.window_start), (key, own.window_start))
            return Verdict(False, "paused", wrong.window_start + lim.all_window - now)
        if wrong.count == lim.all_max_wrong:
            log.warning(
                "dossier lookup: %d phone checks within %.0f s, verification paused for everyone",
                wrong.count,
                lim.all_window,
            )
        return Attempt(code, own.count, own.window_start, wrong.window_start)

    def finish_verification(self, attempt: Attempt, *, correct: bool) -> Verdict:
        """Settle a reserved try: the right digits give it back; wrong ones keep it, and the
        last allowed wrong one locks the code."""
        lim = self.limits
        key = _code_key(attempt.code)
        if correct:
            self.store.subtract(
                (key, attempt.code_window_start), (_WRONG, attempt.all_window_start)
            )
            return Verdict(True)
        if attempt.code_count >= lim.code_max_wrong:
            now = self.clock()
            self.store.lock(key, now + lim.code_lock, now, lim.code_window)
            log.warning(
                "dossier lookup: verification of %s locked for %.0f s after %d wrong tries",
                attempt.code,
                lim.code_lock,
                attempt.code_count,
            )
            return Verdict(False, "locked", lim.code_lock, remaining=0)
        return Verdict(True, remaining=lim.code_max_wrong - attempt.code_count)

    def unlock(self, code: str) -> None:
        self.store.delete(_code_key(code))

    def _maybe_prune(self, now: float) -> None:
        self._reservations += 1  # unlocked: a lost increment only delays a prune
        if self._reservations % _PRUNE_EVERY == 0:
            lim = self.limits
            horizon = max(lim.code_window, lim.all_window, lim.unknown_window)
            self.store.prune(now, now - horizon)


_guards: dict[str, LookupGuard] = {}


def default_guard(url: str | None = None) -> LookupGuard:
    """This process's guard for the database at ``url`` (default ``DATABASE_URL``), or for Redis
    when ``REDIS_URL`` is set; created once, with the limits of ``trolydvc.config``."""
    redis_url = config.redis_url()
    key = f"redis:{redis_url}" if redis_url else f"sql:{url or ''}"
    with _default_lock:
        guard = _guards.get(key)
        if guard is None:
            store: CounterStore = (
                RedisCounterStore.from_url(redis_url) if redis_url else SqlCounterStore(url)
            )
            guard = _guards[key] = LookupGuard(store, GuardLimits.from_settings())
        return guard
