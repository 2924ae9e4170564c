"""Outgoing request pacing: Telegram's 30 messages/s per bot and 1 message/s per chat.

`PacedRateLimiter` plugs into python-telegram-bot (`ApplicationBuilder().rate_limiter(...)`). Every
request is given a time slot: slots are spaced `1 / overall_rate` apart (evenly, no bursts, so a
server counting over any one-second window never sees more than the cap), and messages to the same
chat are at least `per_chat_interval` apart. Right before a request goes out, a gate checks the
real start times of the previous `window_cap` requests (a late timer never bunches requests). With
`paced_request(limiter)` as the bot's request object, each start time is moved to the moment the
request was actually written to the connection, so a stall between the gate and the socket (GC,
a busy event loop) delays the requests one window later instead of squeezing them into the same
second at the server. A `RetryAfter` answer pauses *all* requests for the time Telegram asks (its
flood control is per bot), then the request is retried up to `max_retries` times (callers can
lower that with `rate_limit_args={"max_retries": 0}`).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

# Opt in to python-telegram-bot's future behaviour (RetryAfter.retry_after as a timedelta); the
# code below accepts both forms, and this silences the deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram.error import RetryAfter  # noqa: E402
from telegram.ext import BaseRateLimiter
from telegram.request import HTTPXRequest

# Methods that deliver a message into a chat: these are paced per chat as well.
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVoice",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "forwardMessage",
        "copyMessage",
    }
)

_MAX_TRACKED_CHATS = 50_000
# Extra time added to the one-second window before a 31st request may start: covers the jitter
# between our start times and Telegram's arrival times.
WINDOW_MARGIN = 0.02

# The start record (see `PacedRateLimiter.gate`) of the request this task is sending, for the
# httpx hook that stamps the moment its bytes are written.
_STARTING: ContextVar[list[float] | None] = ContextVar("pacing_starting", default=None)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta deprecation: both are handled here
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PacedRateLimiter(BaseRateLimiter[dict[str, Any]]):
    def __init__(
        self,
        overall_rate: float = 29.5,
        per_chat_interval: float = 1.0,
        max_retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if overall_rate <= 0:
            raise ValueError("overall_rate must be positive")
        self.interval = 1.0 / overall_rate
        self.per_chat_interval = max(0.0, per_chat_interval)
        self.max_retries = max_retries
        self._clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        # Telegram's cap counts whole messages per second: 29.5/s pacing -> at most 30 per second.
        self.window = 1.0
        self.window_margin = WINDOW_MARGIN
        self.window_cap = max(1, math.ceil(overall_rate))
        # Start time of each of the last `window_cap` requests (one-item lists: the httpx hook
        # moves a start to when the request was really written).
        self._starts: deque[list[float]] = deque(maxlen=self.window_cap)
        self._chat_next: dict[int | str, float] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._chat_next.clear()

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (after a RetryAfter)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def _prune(self, now: float) -> None:
        if len(self._chat_next) > _MAX_TRACKED_CHATS:
            self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}

    async def gate(self) -> list[float]:
        """Never start more than `window_cap` requests in any `window` (+ a small margin).

        Slots are booked `interval` apart, but a busy event loop can wake requests late and
        together; this checks the real start times, as a server counting over a sliding window
        would, without making the next requests pay for one late wake-up. Returns the new
        request's start record (`[start time]`, updated by `mark_written`).
        """
        while True:
            now = self._clock()
            starts = self._starts
            wait = starts[0][0] + self.window + self.window_margin - now if starts else 0.0
            if len(starts) < self.window_cap or wait <= 1e-6:
                record = [now]
                starts.append(record)
                return record
            await asyncio.sleep(wait)

    def mark_written(self, record: list[float]) -> None:
        """The request of `record` was written to the connection now (possibly later than it
        passed the gate): the window counts it from now."""
        record[0] = max(record[0], self._clock())

    def httpx_kwargs(self) -> dict[str, Any]:
        """`HTTPXRequest(httpx_kwargs=...)` that reports when each request is really written."""
        return {"event_hooks": {"request": [self._on_request]}}

    async def _on_request(self, request: Any) -> None:
        record = _STARTING.get()
        if record is None:
            return
        previous = request.extensions.get("trace")

        async def trace(name: str, info: dict[str, Any]) -> None:
            # httpcore: "http11.send_request_headers.complete" (or http2.…), no await between
            # the socket write and this call.
            if name.endswith("send_request_headers.complete"):
                self.mark_written(record)
            if previous is not None:
                await previous(name, info)

        request.extensions["trace"] = trace

    def next_free(self) -> float:
        """The earliest slot a new request could get (clock time), ignoring per-chat spacing."""
        return max(self._clock(), self._next_slot, self._paused_until)

    def reserve(self, chat_id: int | str | None = None) -> float:
        """Book the next slot now without waiting; the caller starts its request at that time."""
        now = self._clock()
        slot = max(now, self._next_slot, self._paused_until)
        if chat_id is not None:
            slot = max(slot, self._chat_next.get(chat_id, 0.0))
            self._chat_next[chat_id] = slot + self.per_chat_interval
            self._prune(now)
        self._next_slot = slot + self.interval
        return slot

    async def acquire(self, chat_id: int | str | None = None) -> None:
        """Wait for this request's slot (`process_request` then passes the gate)."""
        while True:
            now = self._clock()
            ready_at = self._paused_until
            if chat_id is not None:
                ready_at = max(ready_at, self._chat_next.get(chat_id, 0.0))
            if ready_at > now:
                await asyncio.sleep(ready_at - now)
                continue
            # No await between reading and reserving: slots are handed out atomically.
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            if chat_id is not None:
                self._chat_next[chat_id] = slot + self.per_chat_interval
                self._prune(now)
            if slot > now:
                await asyncio.sleep(slot - now)
            if self._paused_until <= self._clock():
                return
            # A RetryAfter arrived while we waited: queue up again behind the pause.

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        options = rate_limit_args or {}
        retries = int(options.get("max_retries", self.max_retries))
        chat_id = data.get("chat_id") if endpoint in MESSAGE_METHODS else None
        attempt = 0
        preacquired = bool(options.get("preacquired"))
        while True:
            if not preacquired or attempt:
                await self.acquire(chat_id)
            # Booked earlier (by `acquire` or the caller): check the real start times, as late as
            # possible, right before the request is written to the connection.
            token = _STARTING.set(await self.gate())
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_after_seconds(exc))
                if attempt >= retries:
                    raise
                attempt += 1
            finally:
                _STARTING.reset(token)


def paced_request(limiter: PacedRateLimiter, **kwargs: Any) -> HTTPXRequest:
    """The bot's `HTTPXRequest` (same defaults as `ApplicationBuilder`'s: 256 connections) with
    the hook that tells `limiter` when each request is really written."""
    kwargs.setdefault("connection_pool_size", 256)
    httpx_kwargs = dict(kwargs.pop("httpx_kwargs", None) or {})
    hooks = {key: list(value) for key, value in httpx_kwargs.get("event_hooks", {}).items()}
    for key, value in limiter.httpx_kwargs()["event_hooks"].items():
        hooks.setdefault(key, []).extend(value)
    httpx_kwargs["event_hooks"] = hooks
    return HTTPXRequest(httpx_kwargs=httpx_kwargs, **kwargs)
