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
  ``lookups_allowed()`` before a lookup, ``record_unknown()`` after an unknown code (its refusal
  replaces the "not found" answer); ``verification_allowed(code)`` to tell before asking for
  the digits; ``begin_verification(code) -> Attempt | Verdict`` reserves the attempt before the
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

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis
from sqlalchemy import Engine, case, delete, or_, select, update
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

    def subtract(self, key: str, window_start: float) -> None:
        """Count one less (never below 0) if the window that began at ``window_start`` is still
        the current one: gives back an attempt that was reserved but not spent."""
        ...

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        """Lock ``key`` until ``until``; its count restarts from 0 in a window beginning then."""
        ...

    def get(self, key: str, now: float, window: float) -> Counter:
        """The state at ``now`` (count 0 once the window has ended), changing nothing."""
        ...

    def delete(self, key: str) -> None: ...

    def prune(self, now: float, older_than: float) -> None:
        """Forget counters whose window began before ``older_than`` and that are not locked."""
        ...


class SqlCounterStore:
    """Counters in the ``lookup_counters`` table (SQLite or PostgreSQL).

    ``add`` is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: atomic on both databases
    (PostgreSQL locks the row; SQLite has one writer at a time), so concurrent processes never
    both see the same count. ``url`` None follows ``DATABASE_URL`` at each call.
    """

    _table = LookupCounter.__table__

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    def _engine(self) -> Engine:
        engine = get_engine(self.url)
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise RuntimeError(
                f"lookup counters need SQLite or PostgreSQL, not {engine.dialect.name}"
            )
        return engine

    def add(self, key: str, now: float, window: float) -> Counter:
        engine = self._engine()
        t = self._table
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        locked = t.c.locked_until > now  # NULL (never locked) is not greater: not locked
        ended = t.c.window_start + window <= now
        stmt = (
            dialect.insert(t)
            .values(key=key, count=1, window_start=now, locked_until=None)
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
        with engine.begin() as conn:
            row = conn.execute(stmt).one()
        return Counter(row.count, row.window_start, row.locked_until)

    def subtract(self, key: str, window_start: float) -> None:
        t = self._table
        with self._engine().begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.key == key, t.c.window_start == window_start, t.c.count > 0)
                .values(count=t.c.count - 1)
            )

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        t = self._table
        with self._engine().begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.key == key)
                .values(count=0, window_start=until, locked_until=until)
            )

    def get(self, key: str, now: float, window: float) -> Counter:
        t = self._table
        with self._engine().connect() as conn:
            row = conn.execute(
                select(t.c.count, t.c.window_start, t.c.locked_until).where(t.c.key == key)
            ).first()
        if row is None:
            return Counter(0, now)
        count = row.count if row.window_start + window > now else 0
        return Counter(count, row.window_start, row.locked_until)

    def delete(self, key: str) -> None:
        t = self._table
        with self._engine().begin() as conn:
            conn.execute(delete(t).where(t.c.key == key))

    def prune(self, now: float, older_than: float) -> None:
        t = self._table
        with self._engine().begin() as conn:
            conn.execute(
                delete(t).where(
                    t.c.window_start < older_than,
                    or_(t.c.locked_until.is_(None), t.c.locked_until <= now),
                )
            )


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
redis.call('HSET', KEYS[1], 'count', 0, 'window_start', ARGV[1], 'locked_until', ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) + tonumber(ARGV[3]) - tonumber(ARGV[2])) + 60)
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

    def subtract(self, key: str, window_start: float) -> None:
        self._subtract(keys=[self.prefix + key], args=[repr(window_start)])

    def lock(self, key: str, until: float, now: float, window: float) -> None:
        self._lock(keys=[self.prefix + key], args=[repr(until), repr(now), repr(window)])

    def get(self, key: str, now: float, window: float) -> Counter:
        count, start, locked = self.client.hmget(
            self.prefix + key, ["count", "window_start", "locked_until"]
        )
        if count is None:
            return Counter(0, now)
        start_at = float(start)
        return Counter(
            int(count) if start_at + window > now else 0,
            start_at,
            float(locked) if locked else None,
        )

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

    # -- probing ---------------------------------------------------------------------------
    def lookups_allowed(self) -> Verdict:
        now = self.clock()
        lim = self.limits
        unknown = self.store.get(_UNKNOWN, now, lim.unknown_window)
        if unknown.count >= lim.max_unknown:
            return Verdict(False, "probing", unknown.window_start + lim.unknown_window - now)
        return Verdict(True)

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
    def verification_allowed(self, code: str) -> Verdict:
        """Whether ``code``'s phone digits may be tried now (changes nothing)."""
        now = self.clock()
        lim = self.limits
        own = self.store.get(_code_key(code), now, lim.code_window)
        if own.locked(now):
            assert own.locked_until is not None
            return Verdict(False, "locked", own.locked_until - now)
        wrong = self.store.get(_WRONG, now, lim.all_window)
        if wrong.count >= lim.all_max_wrong:
            return Verdict(False, "paused", wrong.window_start + lim.all_window - now)
        return Verdict(True)

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
            self.store.subtract(key, own.window_start)
            return Verdict(False, "locked", lim.code_lock)
        wrong = self.store.add(_WRONG, now, lim.all_window)
        if wrong.count > lim.all_max_wrong:
            self.store.subtract(_WRONG, wrong.window_start)
            self.store.subtract(key, own.window_start)
            return Verdict(False, "paused", wrong.window_start + lim.all_window - now)
        return Attempt(code, own.count, own.window_start, wrong.window_start)

    def finish_verification(self, attempt: Attempt, *, correct: bool) -> Verdict:
        """Settle a reserved try: the right digits give it back; wrong ones keep it, and the
        last allowed wrong one locks the code."""
        lim = self.limits
        key = _code_key(attempt.code)
        if correct:
            self.store.subtract(key, attempt.code_window_start)
            self.store.subtract(_WRONG, attempt.all_window_start)
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
        self._reservations += 1
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
