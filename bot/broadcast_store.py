"""The tables behind officials' announcements: broadcasts, their deliveries, the audience.

Every database read and write of bot.broadcast's sender (claiming rows, recording outcomes in one
executemany, resuming after a stop) and of the officials' commands lives here; the async sender
itself stays in bot.broadcast. Functions are blocking: call them from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, update

from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Broadcast, Delivery, Subscriber

FINAL = ("sent", "blocked", "failed", "unknown")


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
