"""Guesses wrong phone digits for one dossier code through a LookupGuard, in its own process
(tests/tracking/test_lookup_guard.py runs several at once, and one as a "restart").

Usage: python guard_process.py sql|redis TARGET PREFIX CODE TRIES
  TARGET: the database URL (sql) or the Redis URL (redis); PREFIX: the Redis key prefix (any
  word for sql). Once connected it prints "ready" and waits for a line on its standard input,
  so that several processes guess together; then it prints how many of the TRIES the guard let
  through.
"""

from __future__ import annotations

import sys

import redis

from trolydvc.tracking.lookup_guard import (
    Attempt,
    CounterStore,
    LookupGuard,
    RedisCounterStore,
    SqlCounterStore,
)


def main(backend: str, target: str, prefix: str, code: str, tries: int) -> int:
    store: CounterStore = (
        RedisCounterStore(redis.Redis.from_url(target), prefix)
        if backend == "redis"
        else SqlCounterStore(target)
    )
    store.read(["warm-up"])  # connect (and migrate SQLite) before the start
    guard = LookupGuard(store)  # the default limits, like a fresh action server
    print("ready", flush=True)
    sys.stdin.readline()
    granted = 0
    for _ in range(tries):
        attempt = guard.begin_verification(code)
        if isinstance(attempt, Attempt):
            granted += 1
            guard.finish_verification(attempt, correct=False)
    return granted


if __name__ == "__main__":
    args = sys.argv[1:]
    print(main(args[0], args[1], args[2], args[3], int(args[4])))
