"""Limits on dossier lookups: per-sender rate limiting (in memory, per process, thread-safe).

- ``RateLimiter(per_window=10, window=60.0, failure_threshold=3, failure_window=600.0,
  base_delay=30.0, max_delay=900.0)``:
  ``check(sender_id) -> Decision`` before a lookup (``allowed``, ``retry_after`` seconds,
  ``reason`` "rate" or "slowdown"); ``hit(sender_id)`` counts a lookup;
  ``record_failure(sender_id)`` counts an unknown code or wrong phone digits. After
  ``failure_threshold`` failures within ``failure_window`` each further lookup must wait
  ``base_delay * 2**(extra failures)`` seconds (capped at ``max_delay``) after the last failure.
- ``default_limiter()``: the process-wide limiter used by ``trolydvc.tracking.lookup``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


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
