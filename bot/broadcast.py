"""Officials' announcements to subscribers: a paced, resumable sender (its SQL: bot.broadcast_store).

A broadcast gets one `deliveries` row per recipient when it starts (the audience is fixed then).
The sender walks the pending rows in id order:

1. it books time slots from the shared `PacedRateLimiter` (evenly spaced, ≤ 30 messages in any
   second, ≤ 1/s per chat) for the rows whose slot falls within the next `claim_horizon` seconds;
2. marks those rows `sending` in one transaction (claimed just before they go out);
3. each row's task waits for its slot, passes the limiter's gate and calls sendMessage;
4. outcomes are recorded in batches: `sent`; `blocked` (403: the user blocked the bot — the
   subscriber is unsubscribed); back to `pending` with a `next_attempt_at` after a RetryAfter
   (every request is paused as Telegram asks) or a transient error (exponential backoff, up to
   `max_attempts`); `failed` for a permanent error.

Stopping the bot (or cancelling the sender) releases the claimed rows whose request has not
started (back to `pending`), lets every request already handed to Telegram finish, and records
all outcomes. Restarting resumes from the pending rows, so nobody gets the message twice and
nobody is skipped. Only a hard kill (power loss, SIGKILL) can leave rows `sending`: whether
Telegram delivered those is unknowable, so on restart they become `unknown` and are reported,
never resent (at most the rows of the last ~0.5 s). A request that timed out after it was sent is
treated the same way (`SenderOptions.resend_in_doubt` flips both to at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.broadcast_store import (
    Outcome,
    broadcasts_to_run,
    counts,
    due_rows,
    finish_broadcast,
    get_broadcast,
    mark_sending,
    next_retry_at,
    record,
    recover_in_doubt,
    start_broadcast,
)
from bot.pacing import PacedRateLimiter, retry_after_seconds
from trolydvc.db.base import utcnow

log = logging.getLogger("bot.broadcast")
_DB_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broadcast-db")


# ---- the sender ------------------------------------------------------------------------------
ProgressCallback = Callable[[int, dict[str, int], bool], Any]
# Delivery id -> its own text (followed dossiers' notifications); others get the broadcast's.
TextsLookup = Callable[[list[int]], dict[int, str]]


@dataclass
class SenderOptions:
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    fetch_size: int = 50
    progress_every: float = 5.0
    resend_in_doubt: bool = False
    # Rows are claimed (marked "sending") at most this long before their time slot.
    claim_horizon: float = 0.5
    # At most this many requests in flight (Telegram answers in ~0.1-0.3 s: 30/s needs ~10).
    max_in_flight: int = 32


@dataclass
class BroadcastSender:
    """Sends one broadcast; `await sender.run(broadcast_id)`. See the module docstring."""

    bot: Any
    limiter: PacedRateLimiter
    options: SenderOptions = field(default_factory=SenderOptions)
    on_progress: ProgressCallback | None = None
    texts: TextsLookup | None = None

    def __post_init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[asyncio.Task[None], tuple[int, int]] = {}  # not yet handed to Telegram
        self._active_ids: set[int] = set()
        self._outcomes: list[Outcome] = []
        self._flushed = asyncio.Event()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        # One thread for all the senders' writes: no lock contention on SQLite.
        return await asyncio.get_running_loop().run_in_executor(_DB_EXECUTOR, fn, *args)

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        if outcomes:
            o = self.options
            write = asyncio.ensure_future(
                self._db(record, outcomes, o.max_attempts, o.backoff_base, o.backoff_max)
            )
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                # Stopping: these outcomes are already taken from the list, so they are written
                # now or never (a cancelled executor job that had not started would not run).
                await write
                raise
            for outcome in outcomes:
                self._active_ids.discard(outcome.delivery_id)

    async def run(self, broadcast_id: int) -> dict[str, int]:
        info = await self._db(get_broadcast, broadcast_id)
        if info is None:
            raise LookupError(f"no broadcast {broadcast_id}")
        if info.status in ("draft", "scheduled"):
            await self._db(start_broadcast, broadcast_id)
        elif info.status != "sending":
            return await self._db(counts, broadcast_id)
        in_doubt = await self._db(recover_in_doubt, broadcast_id, self.options.resend_in_doubt)
        if in_doubt:
            log.warning(
                "broadcast %s: %s deliveries in doubt after an abrupt stop", broadcast_id, in_doubt
            )
        text = info.text
        horizon = self.options.claim_horizon
        last_progress = time.monotonic()
        try:
            while True:
                await self._flush()
                rows = await self._db(
                    due_rows, broadcast_id, self.options.fetch_size, set(self._active_ids), utcnow()
                )
                if not rows:
                    if self._tasks:
                        await asyncio.wait(set(self._tasks), timeout=0.05)
                        continue
                    if self._outcomes:
                        # Tasks that ended after the flush above: a transient error among them
                        # puts its delivery back to pending only once recorded, so record
                        # before deciding that nothing is left to retry.
                        continue
                    due = await self._db(next_retry_at, broadcast_id)
                    if due is None:
                        break
                    await asyncio.sleep(min(max((due - utcnow()).total_seconds(), 0.02), 1.0))
                    continue
                index = 0
                while index < len(rows):
                    # Reserve the slots that fall within the horizon, claim those rows together.
                    while len(self._tasks) >= self.options.max_in_flight:
                        await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                    wait = self.limiter.next_free() - time.monotonic() - horizon
                    if wait > 0:
                        await asyncio.sleep(wait)
                        await self._flush()
                    batch: list[tuple[int, int, float]] = []
                    limit = time.monotonic() + horizon
                    room = self.options.max_in_flight - len(self._tasks)
                    while (
                        index < len(rows)
                        and len(batch) < room
                        and (not batch or self.limiter.next_free() <= limit)
                    ):
                        delivery_id, chat_id = rows[index]
                        batch.append((delivery_id, chat_id, self.limiter.reserve(chat_id)))
                        index += 1
                    # Claiming and reading the rows' own texts form one shielded step: a stop that
                    # came between the two left claimed rows neither sent nor released ("in doubt"
                    # after the restart: seen once in tests/bot/test_postgres.py).
                    claiming = asyncio.ensure_future(self._claim([b[0] for b in batch]))
                    try:
                        claimed, own = await asyncio.shield(claiming)
                    except asyncio.CancelledError:
                        # Claimed but never handed to Telegram: put them back before stopping.
                        claimed, _ = await claiming
                        self._outcomes += [
                            Outcome(d, c, "release", counts_attempt=False)
                            for d, c, _ in batch
                            if d in claimed
                        ]
                        raise
                    for delivery_id, chat_id, slot in batch:
                        if delivery_id not in claimed:
                            continue
                        self._active_ids.add(delivery_id)
                        task = asyncio.create_task(
                            self._deliver(delivery_id, chat_id, own.get(delivery_id, text), slot)
                        )
                        self._tasks.add(task)
                        self._waiting[task] = (delivery_id, chat_id)
                        task.add_done_callback(self._tasks.discard)
                    if (
                        self.on_progress
                        and time.monotonic() - last_progress >= self.options.progress_every
                    ):
                        last_progress = time.monotonic()
                        await self._flush()
                        await self._report(broadcast_id, final=False)
        finally:
            # Stopping or crashing: messages not yet handed to Telegram go back to pending; those
            # in flight are awaited; every outcome is recorded.
            waiting = dict(self._waiting)
            for task in waiting:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            # A task cancelled before it ever ran never reached its own handler: release its
            # claimed delivery here (still in _waiting means it neither released nor sent).
            for task, (delivery_id, chat_id) in waiting.items():
                if self._waiting.pop(task, None) is not None:
                    self._outcomes.append(
                        Outcome(delivery_id, chat_id, "release", counts_attempt=False)
                    )
            await asyncio.shield(self._flush())
        result = await self._db(finish_broadcast, broadcast_id)
        await self._report(broadcast_id, final=True, found=result)
        return result

    async def _report(
        self, broadcast_id: int, *, final: bool, found: dict[str, int] | None = None
    ) -> None:
        if self.on_progress is None:
            return
        try:
            found = found or await self._db(counts, broadcast_id)
            await self.on_progress(broadcast_id, found, final)
        except Exception:
            log.exception("broadcast %s: progress report failed", broadcast_id)

    async def _claim(self, ids: list[int]) -> tuple[set[int], dict[int, str]]:
        """Mark ``ids`` sending; the ones actually claimed, and their own texts if any."""
        claimed: set[int] = await self._db(mark_sending, ids)
        own = await self._db(self.texts, sorted(claimed)) if self.texts and claimed else {}
        return claimed, own

    async def _deliver(self, delivery_id: int, chat_id: int, text: str, slot: float) -> None:
        task = asyncio.current_task()
        try:
            delay = slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.limiter.paused_for > 0:  # a RetryAfter arrived meanwhile: queue up again
                await self.limiter.acquire(chat_id)
                # (the limiter's gate runs again right before the request goes out)
        except asyncio.CancelledError:
            self._outcomes.append(Outcome(delivery_id, chat_id, "release", counts_attempt=False))
            self._waiting.pop(task, None)  # type: ignore[arg-type]
            return
        # From here on the request is (about to be) with Telegram: never abandon it half-way.
        self._waiting.pop(task, None)  # type: ignore[arg-type]
        outcome = await asyncio.shield(self._send(delivery_id, chat_id, text))
        self._outcomes.append(outcome)

    async def _send(self, delivery_id: int, chat_id: int, text: str) -> Outcome:
        try:
            await self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                rate_limit_args={"max_retries": 0, "preacquired": True},
            )
            return Outcome(delivery_id, chat_id, "sent")
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            self.limiter.pause(wait)
            return Outcome(
                delivery_id, chat_id, "retry", "429 retry after", wait, counts_attempt=False
            )
        except Forbidden as exc:
            return Outcome(delivery_id, chat_id, "blocked", f"403 {exc.message}"[:200])
        except BadRequest as exc:
            return Outcome(delivery_id, chat_id, "failed", f"400 {exc.message}"[:200])
        except TimedOut as exc:
            if isinstance(exc.__cause__, (httpx.PoolTimeout, httpx.ConnectTimeout)):
                # The request never left this machine: safe to send again.
                return Outcome(delivery_id, chat_id, "retry", "connection pool/connect timeout")
            if self.options.resend_in_doubt:
                return Outcome(delivery_id, chat_id, "retry", "timed out")
            return Outcome(delivery_id, chat_id, "unknown", "timed out: delivery unknown")
        except NetworkError as exc:
            return Outcome(delivery_id, chat_id, "retry", f"network: {exc.message}"[:200])
        except Exception as exc:  # never let one recipient stop the broadcast
            log.exception("broadcast delivery %s: unexpected error", delivery_id)
            return Outcome(delivery_id, chat_id, "failed", exc.__class__.__name__)


# ---- running broadcasts inside the bot --------------------------------------------------------
class BroadcastManager:
    """Starts, resumes and stops the senders of one Application (one task per broadcast)."""

    def __init__(
        self,
        bot: Any,
        limiter: PacedRateLimiter,
        options: SenderOptions | None = None,
        on_progress: ProgressCallback | None = None,
        texts: TextsLookup | None = None,
    ) -> None:
        self.bot = bot
        self.texts = texts
        self.limiter = limiter
        self.options = options or SenderOptions()
        self.on_progress = on_progress
        self.tasks: dict[int, asyncio.Task[dict[str, int]]] = {}

    def start(self, broadcast_id: int) -> asyncio.Task[dict[str, int]]:
        task = self.tasks.get(broadcast_id)
        if task is not None and not task.done():
            return task
        sender = BroadcastSender(self.bot, self.limiter, self.options, self.on_progress, self.texts)
        task = asyncio.create_task(sender.run(broadcast_id), name=f"broadcast-{broadcast_id}")
        self.tasks[broadcast_id] = task
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[dict[str, int]]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("broadcast sender failed: %s", exc.__class__.__name__, exc_info=exc)

    async def start_due(self) -> list[int]:
        """Resume interrupted broadcasts and start the scheduled ones that are due."""
        ids = await asyncio.to_thread(broadcasts_to_run, utcnow())
        for broadcast_id in ids:
            self.start(broadcast_id)
        return ids

    async def stop(self) -> None:
        """Stop every sender; in-flight messages are finished and recorded first."""
        running = [task for task in self.tasks.values() if not task.done()]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
