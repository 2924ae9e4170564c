"""Following a dossier (issue #16): consent, limits, and the notifier over the status history.

- A verified status lookup (the phone's last four digits matched) records a ``FollowOffer`` for
  that conversation; ``follow`` accepts only a chat whose conversation holds such an offer.
- ``notify`` reads ``dossier_status_history`` rows past its cursor (by increasing id) and, for
  each active follow of a dossier that moved to another status, and for each followed dossier
  whose due date passed without a result, writes one ``FollowNotification`` per (follow, event)
  and ONE ``deliveries`` row per follower chat (several events of one run share one message).
  The notifications, the delivery rows and the cursor are written in ONE transaction: a crash
  of the notifier either queued everything and moved the cursor, or neither. The event key is
  unique per follow, so an event is never queued twice even if the cursor were lost.
- The bot's paced sender (``bot.broadcast``) sends the delivery rows exactly once; the text of
  each comes from ``delivery_texts``.

Why the history table and not the importer: every path that changes a status appends a history
row (CSV, iGate JSON, any future one), so reading the table covers them all, and a crashed
import that rolled back wrote no history row, so it notifies nobody.

Messages hold only what the verified follower already saw: the dossier code, its status, its
due date, and where to go (the province's one-stop shop from locality.yml).
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from trolydvc.config import settings
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Broadcast, Delivery, Subscriber
from trolydvc.db.follow_models import DossierFollow, FollowCursor, FollowNotification, FollowOffer
from trolydvc.db.models import (
    CLOSED_WITHOUT_RESULT,
    OPEN_STATUSES,
    Dossier,
    DossierStatus,
    DossierStatusHistory,
)
from trolydvc.i18n import gettext, normalize_language
from trolydvc.locality import load_locality
from trolydvc.vietnam_time import VN_TZ

CURSOR = "history"
# The text of the broadcast row that carries a notifier run's deliveries (each delivery's own
# text comes from its notifications); officials' announcement lists can tell them apart by it.
BROADCAST_TEXT = "[follow] dossier status notifications"
# Statuses after which following ends by itself (a set time later).
FINAL_STATUSES = (DossierStatus.RETURNED, *CLOSED_WITHOUT_RESULT)
# How long a verified lookup lets its conversation press "Follow" (the button's life).
OFFER_TTL = timedelta(hours=24)


def _(message: str) -> str:  # marks strings for extraction; translated at use
    return message


STATUS_NAMES: dict[str, str] = {
    DossierStatus.RECEIVED: _("received"),
    DossierStatus.PROCESSING: _("being processed"),
    DossierStatus.SUPPLEMENT_REQUESTED: _("waiting for additional papers"),
    DossierStatus.RESOLVED: _("result ready"),
    DossierStatus.RETURNED: _("result returned"),
    DossierStatus.REJECTED: _("rejected"),
    DossierStatus.WITHDRAWN: _("withdrawn"),
}
NEXT_STEPS: dict[str, str] = {
    DossierStatus.RECEIVED: _("Nothing to do for now: the office has your dossier."),
    DossierStatus.PROCESSING: _("Nothing to do for now: the dossier is being processed."),
    DossierStatus.SUPPLEMENT_REQUESTED: _(
        "The office asks for additional papers. Please contact {office} to know which ones "
        "(you can also look the dossier up again with /tracuu {code})."
    ),
    DossierStatus.RESOLVED: _(
        "To collect the result, please bring the dossier receipt and your ID card to: {office}."
    ),
    DossierStatus.RETURNED: _("The result has been handed over. Following ends in {days} days."),
    DossierStatus.REJECTED: _(
        "Please contact {office} to know why and what you can do next "
        "(you can also look the dossier up again with /tracuu {code})."
    ),
    DossierStatus.WITHDRAWN: _("Following ends in {days} days."),
}


def max_per_chat() -> int:
    return settings().follow_max_per_chat


def days_after_result() -> int:
    return settings().follow_days_after_result


def follow_notify_interval() -> float:
    return settings().follow_notify_interval


def _now_local() -> datetime:
    return datetime.now(VN_TZ).replace(tzinfo=None)


def _active(now: datetime) -> Any:
    return and_(
        DossierFollow.stopped_at.is_(None),
        or_(DossierFollow.ends_at.is_(None), DossierFollow.ends_at > now),
    )


# ---- consent ----------------------------------------------------------------------------------
def record_offer(sender_id: str, code: str) -> bool:
    """Called after a verified lookup: this conversation may follow this dossier."""
    with session_scope() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        if dossier_id is None:
            return False
        offer = session.get(FollowOffer, (sender_id, dossier_id))
        if offer is None:
            session.add(FollowOffer(sender_id=sender_id, dossier_id=dossier_id))
        else:
            offer.verified_at = utcnow()
        return True


@dataclass(frozen=True)
class FollowResult:
    kind: str  # followed | already | not_verified | limit | unknown
    code: str
    count: int = 0


def follow(chat_id: int, sender_id: str, code: str, language: str = "vi") -> FollowResult:
    """Follow `code` for this chat if its conversation verified it within OFFER_TTL."""
    now = utcnow()
    with session_scope() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        if dossier_id is None:
            return FollowResult("unknown", code)
        offer = session.get(FollowOffer, (sender_id, dossier_id))
        if offer is None or offer.verified_at < now - OFFER_TTL:
            return FollowResult("not_verified", code)
        existing = session.scalar(
            select(DossierFollow).where(
                DossierFollow.chat_id == chat_id, DossierFollow.dossier_id == dossier_id
            )
        )
        if (
            existing is not None
            and existing.stopped_at is None
            and (existing.ends_at is None or existing.ends_at > now)
        ):
            return FollowResult("already", code)
        count = _count_active(session, chat_id, now)
        if count >= max_per_chat():
            return FollowResult("limit", code, count)
        if existing is None:
            existing = DossierFollow(chat_id=chat_id, dossier_id=dossier_id)
            session.add(existing)
        existing.language = normalize_language(language)
        existing.consented_at = now
        existing.after_history_id = (
            session.scalar(
                select(func.max(DossierStatusHistory.id)).where(
                    DossierStatusHistory.dossier_id == dossier_id
                )
            )
            or 0
        )
        existing.stopped_at = None
        existing.ends_at = None
        return FollowResult("followed", code, count + 1)


def _count_active(session: Session, chat_id: int, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DossierFollow)
            .where(DossierFollow.chat_id == chat_id, _active(now))
        )
        or 0
    )


@dataclass(frozen=True)
class Followed:
    code: str
    status: str
    consented_at: datetime
    ends_at: datetime | None


def followed(chat_id: int) -> list[Followed]:
    now = utcnow()
    with session_scope() as session:
        rows = session.execute(
            select(Dossier.code, Dossier.status, DossierFollow.consented_at, DossierFollow.ends_at)
            .join(Dossier, Dossier.id == DossierFollow.dossier_id)
            .where(DossierFollow.chat_id == chat_id, _active(now))
            .order_by(DossierFollow.consented_at)
        ).all()
    return [Followed(*row) for row in rows]


def unfollow(chat_id: int, code: str | None = None) -> int:
    """Stop following `code` (every dossier when None); returns how many follows ended."""
    now = utcnow()
    with session_scope() as session:
        condition = and_(DossierFollow.chat_id == chat_id, _active(now))
        if code is not None:
            condition = and_(
                condition,
                DossierFollow.dossier_id.in_(select(Dossier.id).where(Dossier.code == code)),
            )
        result = session.execute(update(DossierFollow).where(condition).values(stopped_at=now))
        return result.rowcount or 0


# ---- messages ---------------------------------------------------------------------------------
def _office_text(t: Any) -> str:
    loc = load_locality()
    offices = loc.province_offices or loc.offices
    if not offices:
        return t("the one-stop shop where you submitted the dossier")
    office = offices[0]
    details = [d for d in (office.address, office.phone) if d]
    if details:
        return f"{office.name} ({', '.join(details)})"
    return t(
        "{name} (sorry, I do not have its address and phone number yet; the place where you "
        "submitted the dossier can also help)"
    ).format(name=office.name)


def status_message(code: str, status: str, language: str, *, office: str | None = None) -> str:
    t = gettext(language)
    office = office if office is not None else _office_text(t)
    head = t("Dossier {code} is now: <b>{status}</b>.").format(
        code=html.escape(code), status=t(STATUS_NAMES.get(status, status))
    )
    step = t(NEXT_STEPS.get(status, "")).format(
        office=html.escape(office), code=html.escape(code), days=days_after_result()
    )
    return f"{head}\n{step}".strip()


def overdue_message(
    code: str, due_at: datetime, language: str, *, office: str | None = None
) -> str:
    t = gettext(language)
    office = office if office is not None else _office_text(t)
    return t(
        "Dossier {code} passed its due date ({due}) without a result. You can contact {office} "
        "to ask about it."
    ).format(code=html.escape(code), due=due_at.strftime("%d/%m/%Y"), office=html.escape(office))


def footer(language: str) -> str:
    t = gettext(language)
    return t("(Stop following: /botheodoi)")


# ---- the notifier -----------------------------------------------------------------------------
@dataclass
class NotifyReport:
    history_rows: int = 0
    notifications: int = 0
    messages: int = 0
    overdue: int = 0
    broadcast_id: int | None = None
    cursor: int = 0
    events: dict[str, int] = field(default_factory=dict)


def _ensure_cursor() -> None:
    with session_scope() as session:
        if session.get(FollowCursor, CURSOR) is None:
            session.add(FollowCursor(name=CURSOR, last_id=0))
    # (a concurrent first run may insert it too: the loser's IntegrityError is retried by
    # the caller's next run; the notifier runs from one bot and the CLI)


def _lock(session: Session) -> int:
    """Serialise notifiers and see every committed history row below the cursor's new end.

    The cursor row is updated first (PostgreSQL: a row lock; SQLite: the database's write lock).
    On PostgreSQL a SHARE lock on the history table also waits for the transactions inserting
    into it to finish: without it an import transaction that took id 10 but commits after
    another that took id 11 would be skipped by a cursor already past 11."""
    session.execute(
        update(FollowCursor).where(FollowCursor.name == CURSOR).values(updated_at=utcnow())
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE dossier_status_history IN SHARE MODE"))
    return session.scalar(select(FollowCursor.last_id).where(FollowCursor.name == CURSOR)) or 0


def _advance_cursor(session: Session, last_id: int) -> None:
    session.execute(update(FollowCursor).where(FollowCursor.name == CURSOR).values(last_id=last_id))


def notify(now: datetime | None = None, now_local: datetime | None = None) -> NotifyReport:
    """Queue the notifications of the history rows past the cursor and of passed due dates."""
    now = now or utcnow()
    now_local = now_local or _now_local()
    _ensure_cursor()
    report = NotifyReport()
    with session_scope() as session:
        last = _lock(session)
        upper = session.scalar(select(func.max(DossierStatusHistory.id))) or last
        report.cursor = max(last, upper)
        languages = dict(  # a follower's language chosen since (/ngonngu) wins
            session.execute(
                select(Subscriber.chat_id, Subscriber.language).where(
                    Subscriber.chat_id.in_(select(DossierFollow.chat_id))
                )
            ).all()
        )
        office = {lang: _office_text(gettext(lang)) for lang in ("vi", "en")}
        pending: list[tuple[DossierFollow, str, str, str]] = []  # follow, key, status, text
        if upper > last:
            report.history_rows = (
                session.scalar(
                    select(func.count()).where(
                        DossierStatusHistory.id > last, DossierStatusHistory.id <= upper
                    )
                )
                or 0
            )
            rows = session.execute(
                select(
                    DossierStatusHistory.id,
                    DossierStatusHistory.status,
                    DossierFollow,
                    Dossier.code,
                )
                .join(DossierFollow, DossierFollow.dossier_id == DossierStatusHistory.dossier_id)
                .join(Dossier, Dossier.id == DossierStatusHistory.dossier_id)
                .where(
                    DossierStatusHistory.id > last,
                    DossierStatusHistory.id <= upper,
                    DossierStatusHistory.id > DossierFollow.after_history_id,
                    _active(now),
                )
                .order_by(DossierStatusHistory.id)
            ).all()
            for history_id, status, follow_row, code in rows:
                lang = languages.get(follow_row.chat_id, follow_row.language)
                lang = normalize_language(lang)
                message = status_message(code, status, lang, office=office[lang])
                pending.append((follow_row, f"h:{history_id}", status, message))
                if status in FINAL_STATUSES and follow_row.ends_at is None:
                    follow_row.ends_at = now + timedelta(days=days_after_result())
        overdue = session.execute(
            select(DossierFollow, Dossier.code, Dossier.due_at)
            .join(Dossier, Dossier.id == DossierFollow.dossier_id)
            .where(
                _active(now),
                Dossier.status.in_([s.value for s in OPEN_STATUSES]),
                Dossier.due_at.is_not(None),
                Dossier.due_at < now_local,
            )
        ).all()
        told = set(
            session.execute(
                select(FollowNotification.follow_id, FollowNotification.event_key).where(
                    FollowNotification.status == "overdue",
                    FollowNotification.follow_id.in_([f.id for f, _, _ in overdue]),
                )
            ).all()
        )
        for follow_row, code, due_at in overdue:
            key = f"due:{due_at:%Y%m%d%H%M}"  # a due date moved later is told again when passed
            if (follow_row.id, key) in told:
                continue
            lang = normalize_language(languages.get(follow_row.chat_id, follow_row.language))
            pending.append(
                (
                    follow_row,
                    key,
                    "overdue",
                    overdue_message(code, due_at, lang, office=office[lang]),
                )
            )
            report.overdue += 1
        if pending:
            report.broadcast_id = _queue(session, pending, languages, now, report)
        _advance_cursor(session, report.cursor)
        # Offers past their life are of no use: they only said who verified what.
        session.execute(delete(FollowOffer).where(FollowOffer.verified_at < now - OFFER_TTL))
    return report


def _queue(
    session: Session,
    pending: list[tuple[DossierFollow, str, str, str]],
    languages: dict[int, str],
    now: datetime,
    report: NotifyReport,
) -> int:
    """One broadcast row for the run, one delivery per chat, one notification per event."""
    by_chat: dict[int, list[tuple[DossierFollow, str, str, str]]] = defaultdict(list)
    for item in pending:
        by_chat[item[0].chat_id].append(item)
    broadcast = Broadcast(
        text=BROADCAST_TEXT,
        status="sending",
        started_at=now,
        total_count=len(by_chat),
        language="vi",
    )
    session.add(broadcast)
    session.flush()
    deliveries = [Delivery(broadcast_id=broadcast.id, chat_id=chat) for chat in by_chat]
    session.add_all(deliveries)
    session.flush()
    notes = []
    for delivery in deliveries:
        for follow_row, key, status, message in by_chat[delivery.chat_id]:
            notes.append(
                FollowNotification(
                    follow_id=follow_row.id,
                    event_key=key,
                    status=status,
                    text=message,
                    delivery_id=delivery.id,
                )
            )
            report.events[status] = report.events.get(status, 0) + 1
    session.add_all(notes)
    session.flush()
    report.notifications = len(notes)
    report.messages = len(deliveries)
    return broadcast.id


def delivery_texts(delivery_ids: list[int]) -> dict[int, str]:
    """The message of each follow delivery (its notifications, oldest first, and a footer);
    deliveries of ordinary announcements are absent. Used by the bot's paced sender."""
    if not delivery_ids:
        return {}
    with session_scope() as session:
        rows = session.execute(
            select(
                FollowNotification.delivery_id,
                FollowNotification.text,
                func.coalesce(Subscriber.language, DossierFollow.language),
            )
            .join(DossierFollow, DossierFollow.id == FollowNotification.follow_id)
            .outerjoin(Subscriber, Subscriber.chat_id == DossierFollow.chat_id)
            .where(FollowNotification.delivery_id.in_(delivery_ids))
            .order_by(FollowNotification.id)
        ).all()
    parts: dict[int, list[str]] = defaultdict(list)
    language: dict[int, str] = {}
    for delivery_id, message, lang in rows:
        parts[delivery_id].append(message)
        language.setdefault(delivery_id, lang)
    return {d: "\n\n".join([*texts, footer(language[d])]) for d, texts in parts.items()}


# ---- officials' figures -----------------------------------------------------------------------
@dataclass(frozen=True)
class FollowStats:
    active_follows: int
    followed_dossiers: int
    following_chats: int
    notifications: int
    messages: dict[str, int]


def stats() -> FollowStats:
    now = utcnow()
    with session_scope() as session:
        active = session.execute(
            select(
                func.count(),
                func.count(func.distinct(DossierFollow.dossier_id)),
                func.count(func.distinct(DossierFollow.chat_id)),
            ).where(_active(now))
        ).one()
        notifications = session.scalar(select(func.count()).select_from(FollowNotification)) or 0
        delivered = session.execute(
            select(Delivery.status, func.count())
            .where(
                Delivery.id.in_(
                    select(FollowNotification.delivery_id).where(
                        FollowNotification.delivery_id.is_not(None)
                    )
                )
            )
            .group_by(Delivery.status)
        ).all()
    messages = {s: 0 for s in ("pending", "sending", "sent", "blocked", "failed", "unknown")}
    messages.update(dict(delivered))
    return FollowStats(active[0], active[1], active[2], notifications, messages)
