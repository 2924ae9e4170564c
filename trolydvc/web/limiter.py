"""Request limits of the widget's API: per browser session and per client address.

A moving window (the `limits` library, in this process's memory): the web app is one process
(issue #15), so its memory sees every request, and the counters need not outlive a restart (a
restart costs an attacker more than it gains). The per-address limit is what stops a client that
drops its cookie to get a fresh session; the dossier lookup's own guard (per dossier code, in the
database or Redis) stops brute-forcing the phone digits whatever the sender.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Refusal:
    """A refused request: seconds until it would be allowed again."""

    retry_after: int


class ChatLimiter:
    def __init__(self, per_session: str, per_address: str) -> None:
        # parse_many raises ValueError naming the bad text: a wrong setting fails at start-up
        self.per_session: list[RateLimitItem] = parse_many(per_session)
        self.per_address: list[RateLimitItem] = parse_many(per_address)
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, session: str, address: str) -> Refusal | None:
        """Count one request; a Refusal when a limit is used up (nothing counted then)."""
        checks = [(item, "session", session) for item in self.per_session]
        checks += [(item, "address", address) for item in self.per_address]
        for item, kind, key in checks:
            if not self._window.test(item, kind, key):
                reset = self._window.get_window_stats(item, kind, key).reset_time
                return Refusal(retry_after=max(1, int(reset - time.time()) + 1))
        for item, kind, key in checks:
            self._window.hit(item, kind, key)
        return None
