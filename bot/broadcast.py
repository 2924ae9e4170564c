"""Officials' announcements to subscribers: stored deliveries and a paced, resumable sender.

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
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, update

from bot.ratelimit import PacedRateLimiter, retry_after_seconds
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Broadcast, Delivery, Subscriber

log = logging.getLogger("bot.broadcast")
_DB_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broadcast-db")

FINAL = ("sent", "blocked", "failed", "unknown")


# ---- storage --------------------------------------------------------------------------------
def audience_filter(commune: str | None) -> Any:
    """Subscribed chats; for one commune, those of that commune and those subscribed to all."""
    condition = Subscriber.subscribed.is_(True)
    if commune is not None:
        condition = and_(
            condition, or_(Subscriber.commune == commune, Subscriber.commune.is_(None))
        )
    return condition


def audience_size(commune: str | None) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Subscriber).where(audience_filter(commune))
            )
            or 0
        )


def create_broadcast(
    text: str,
    *,
    author_id: int | None,
    commune: str | None,
    scheduled_at: datetime | None = None,
    progress_chat_id: int | None = None,
    language: str = "vi",
) -> int:
    with session_scope() as session:
        row = Broadcast(
            text=text,
            author_id=author_id,
            audience_commune=commune,
            status="scheduled" if scheduled_at else "draft",
            scheduled_at=scheduled_at,
            progress_chat_id=progress_chat_id,
            language=language,
        )
        session.add(row)
        session.flush()
        return row.id


def start_broadcast(broadcast_id: int) -> int:
    """Create the delivery rows (once) and mark the broadcast `sending`; returns the audience size."""
    with session_scope() as session:
        row = session.get(Broadcast, broadcast_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no broadcast {broadcast_id}")
        if row.status in ("draft", "scheduled"):
            recipients = select(
                literal(broadcast_id, Delivery.broadcast_id.type), Subscriber.id, Subscriber.chat_id
            ).where(audience_filter(row.audience_commune))
            session.execute(
                insert(Delivery).from_select(
                    [Delivery.broadcast_id, Delivery.subscriber_id, Delivery.chat_id], recipients
                )
            )
            row.status = "sending"
            row.started_at = utcnow()
            row.total_count = (
                session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.broadcast_id == broadcast_id)
                )
                or 0
            )
        return row.total_count


def recover_in_doubt(broadcast_id: int, resend: bool = False) -> int:
    """Rows left `sending` by a sender that died abruptly become `unknown` (or `pending` again
    with `resend`, accepting a possible duplicate); returns how many."""
    status = "pending" if resend else "unknown"
    with session_scope() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "sending")
            .values(status=status, last_error="sender stopped abruptly while sending")
        )
        return result.rowcount or 0


def due_rows(
    broadcast_id: int, limit: int, exclude: set[int], now: datetime
) -> list[tuple[int, int]]:
    with session_scope() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.chat_id)
            .where(
                Delivery.broadcast_id == broadcast_id,
                Delivery.status == "pending",
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .order_by(Delivery.id)
            .limit(limit + len(exclude))
        ).all()
    return [(r[0], r[1]) for r in rows if r[0] not in exclude][:limit]


def next_retry_at(broadcast_id: int) -> datetime | None:
    """When the earliest pending row becomes due (None: nothing pending)."""
    with session_scope() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "pending")
        )
        if not pending:
            return None
        earliest = session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.broadcast_id == broadcast_id, Delivery.status == "pending"
            )
        )
        return earliest or utcnow()


def mark_sending(delivery_ids: list[int]) -> set[int]:
    """Claim pending rows just before sending them; returns the ids actually claimed."""
    if not delivery_ids:
        return set()
    with session_scope() as session:
        claimed = session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == "pending")
            .values(status="sending")
            .returning(Delivery.id)
        ).all()
        return set(claimed)


@dataclass
class Outcome:
    delivery_id: int
    chat_id: int
    status: str  # sent | blocked | failed | unknown | retry | release (never sent: back to pending)
    error: str | None = None
    retry_in: float = 0.0
    counts_attempt: bool = True


def backoff_delay(attempts: int, base: float, maximum: float) -> float:
    return min(maximum, base * 2 ** max(0, attempts - 1))


_DELIVERIES = Delivery.__table__
_RECORD = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.status == "sending")
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next", type_=Delivery.next_attempt_at.type),
        sent_at=bindparam("b_sent", type_=Delivery.sent_at.type),
    )
)


def record(
    outcomes: list[Outcome],
    max_attempts: int = 5,
    backoff_base: float = 1.0,
    backoff_max: float = 60.0,
) -> None:
    """Store the outcomes of sent (or released) rows in one transaction (one executemany)."""
    if not outcomes:
        return
    now = utcnow()
    with session_scope() as session:
        attempts = dict(
            session.execute(
                select(Delivery.id, Delivery.attempts).where(
                    Delivery.id.in_([o.delivery_id for o in outcomes])
                )
            ).all()
        )
        params: list[dict[str, Any]] = []
        blocked_chats = []
        for outcome in outcomes:
            tries = attempts.get(outcome.delivery_id, 0)
            if outcome.counts_attempt and outcome.status != "release":
                tries += 1
            status, next_at, sent_at, error = outcome.status, None, None, outcome.error
            if status == "retry" and outcome.counts_attempt and tries >= max_attempts:
                status = "failed"
            if status == "retry":
                delay = (
                    outcome.retry_in
                    if not outcome.counts_attempt
                    else backoff_delay(tries, backoff_base, backoff_max)
                )
                status, next_at = "pending", now + timedelta(seconds=delay)
            elif status == "release":
                status = "pending"
            elif status == "sent":
                sent_at = now
            elif status == "blocked":
                blocked_chats.append(outcome.chat_id)
            params.append(
                {
                    "b_id": outcome.delivery_id,
                    "b_status": status,
                    "b_attempts": tries,
                    "b_error": error,
                    "b_next": next_at,
                    "b_sent": sent_at,
                }
            )
        session.execute(_RECORD, params)
        if blocked_chats:
            session.execute(
                update(Subscriber)
                .where(Subscriber.chat_id.in_(blocked_chats))
                .values(subscribed=False, updated_at=now)
            )


def counts(broadcast_id: int) -> dict[str, int]:
    with session_scope() as session:
        rows = session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.broadcast_id == broadcast_id)
            .group_by(Delivery.status)
        ).all()
    found = {status: 0 for status in ("pending", "sending", *FINAL)}
    found.update({status: n for status, n in rows})
    return found


def finish_broadcast(broadcast_id: int) -> dict[str, int]:
    found = counts(broadcast_id)
    with session_scope() as session:
        row = session.get(Broadcast, broadcast_id)
        if row is not None:
            row.status = "done"
            row.finished_at = utcnow()
            row.sent_count, row.blocked_count = found["sent"], found["blocked"]
            row.failed_count, row.unknown_count = found["failed"], found["unknown"]
    return found


@dataclass(frozen=True)
class BroadcastInfo:
    id: int
    text: str
    status: str
    commune: str | None
    scheduled_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None
    language: str
    total: int


def get_broadcast(broadcast_id: int) -> BroadcastInfo | None:
    with session_scope() as session:
        row = session.get(Broadcast, broadcast_id)
        if row is None:
            return None
        return BroadcastInfo(
            row.id,
            row.text,
            row.status,
            row.audience_commune,
            row.scheduled_at,
            row.progress_chat_id,
            row.progress_message_id,
            row.language,
            row.total_count,
        )


def set_progress_message(broadcast_id: int, message_id: int) -> None:
    with session_scope() as session:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(progress_message_id=message_id)
        )


def cancel_broadcast(broadcast_id: int) -> bool:
    """Cancel a scheduled (not yet started) broadcast."""
    with session_scope() as session:
        result = session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status.in_(("draft", "scheduled")))
            .values(status="cancelled")
        )
        return bool(result.rowcount)


def broadcasts_to_run(now: datetime) -> list[int]:
    """Interrupted broadcasts (status sending) and scheduled ones that are due."""
    with session_scope() as session:
        return list(
            session.scalars(
                select(Broadcast.id)
                .where(
                    or_(
                        Broadcast.status == "sending",
                        and_(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now),
                    )
                )
                .order_by(Broadcast.id)
            ).all()
        )


# ---- the sender ------------------------------------------------------------------------------
ProgressCallback = Callable[[int, dict[str, int], bool], Any]


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
                    claiming = asyncio.ensure_future(self._db(mark_sending, [b[0] for b in batch]))
                    try:
                        claimed = await asyncio.shield(claiming)
                    except asyncio.CancelledError:
                        # Claimed but never handed to Telegram: put them back before stopping.
                        claimed = await claiming
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
                        task = asyncio.create_task(self._deliver(delivery_id, chat_id, text, slot))
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
        from telegram.constants import ParseMode
        from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

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
    ) -> None:
        self.bot = bot
        self.limiter = limiter
        self.options = options or SenderOptions()
        self.on_progress = on_progress
        self.tasks: dict[int, asyncio.Task[dict[str, int]]] = {}

    def start(self, broadcast_id: int) -> asyncio.Task[dict[str, int]]:
        task = self.tasks.get(broadcast_id)
        if task is not None and not task.done():
            return task
        sender = BroadcastSender(self.bot, self.limiter, self.options, self.on_progress)
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
