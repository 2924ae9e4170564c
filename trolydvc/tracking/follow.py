"""Following a dossier (issue #16): consent, limits, and the notifier over the status history.

- A verified status lookup (the phone's last four digits matched) records a ``FollowOffer`` for
  that conversation; ``follow`` accepts only a follower whose conversation holds such an offer.
  A follower is a Telegram chat (its id, an int) or a web widget session (its sender id
  ``web:…``, a str): the same consent, limit and end for both.
- ``notify`` reads ``dossier_status_history`` rows past its cursor (by increasing id) and, for
  each active follow of a dossier that moved to another status, and for each followed dossier
  whose due date passed without a result, writes one ``FollowNotification`` per (follow, event)
  and ONE message per follower (several events of one run share one message): a ``deliveries``
  row for a Telegram chat, a ``widget_messages`` row (the widget's inbox) for a widget session.
  The notifications, those rows and the cursor are written in ONE transaction: a crash of the
  notifier either queued everything and moved the cursor, or neither. The event key is unique
  per follow, so an event is never queued twice even if the cursor were lost.
- The bot's paced sender (``bot.broadcast``) sends the delivery rows exactly once; the text of
  each comes from ``delivery_texts``. The widget fetches its inbox rows itself (each once:
  ``trolydvc.web.inbox``); nothing of a widget follower goes to Telegram.

Why the history table and not the importer: every path that changes a status appends a history
row (CSV, iGate JSON, any future one), so reading the table covers them all, and a crashed
import that rolled back wrote no history row, so it notifies nobody.

Messages hold only what the verified follower already saw: the dossier code, its status, its
due date, and where to go (the province's one-stop shop from locality.yml).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
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
from trolydvc.db.web_models import WidgetMessage
from trolydvc.i18n import gettext, normalize_language, plain
from trolydvc.locality import load_locality
from trolydvc.tracking.lookup import normalize_code
from trolydvc.vietnam_time import VN_TZ

CURSOR = "history"
# The text of the broadcast row that carries a notifier run's deliveries (each delivery's own
# text comes from its notifications); officials' announcement lists can tell them apart by it.
BROADCAST_TEXT = "[follow] dossier status notifications"
# Statuses after which following ends by itself (a set time later).
FINAL_STATUSES = (DossierStatus.RETURNED, *CLOSED_WITHOUT_RESULT)
# How long a verified lookup lets its conversation press "Follow" (the button's life).
OFFER_TTL = timedelta(hours=24)
# The widget's button payloads, handled by the web app itself (trolydvc.web.follow), never by the
# NLU; FOLLOW_PAYLOAD is also the Telegram bot's (bot.follow).
FOLLOW_PAYLOAD = "/follow_dossier"
FOLLOWED_PAYLOAD = "/followed_dossiers"
UNFOLLOW_PAYLOAD = "/unfollow_dossier"

# A follower: a Telegram chat id, or a web widget session's sender id ("web:…").
Follower = int | str


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
# The widget has no commands: there the dossier is looked up again by sending its code.
NEXT_STEPS_WEB: dict[str, str] = {
    DossierStatus.SUPPLEMENT_REQUESTED: _(
        "The office asks for additional papers. Please contact {office} to know which ones "
        "(you can also look the dossier up again here by sending its code {code})."
    ),
    DossierStatus.REJECTED: _(
        "Please contact {office} to know why and what you can do next "
        "(you can also look the dossier up again here by sending its code {code})."
    ),
}


def max_per_chat() -> int:
    return settings().follow_max_per_chat


def days_after_result() -> int:
    return settings().follow_days_after_result


def follow_notify_interval() -> float:
    return settings().follow_notify_interval


def _now_local() -> datetime:
    return datetime.now(VN_TZ).replace(tzinfo=None)


def active(now: datetime) -> Any:
    """The follows that are active at `now` (not stopped, not ended)."""
    return and_(
        DossierFollow.stopped_at.is_(None),
        or_(DossierFollow.ends_at.is_(None), DossierFollow.ends_at > now),
    )


def _of(follower: Follower) -> ColumnElement[bool]:
    """The follows of this follower."""
    if isinstance(follower, str):
        return DossierFollow.web_sender == follower
    return DossierFollow.chat_id == follower


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


def follow(follower: Follower, sender_id: str, code: str, language: str = "vi") -> FollowResult:
    """Follow `code` for this follower if its conversation (`sender_id`) verified it within
    OFFER_TTL."""
    now = utcnow()
    with session_scope() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        if dossier_id is None:
            return FollowResult("unknown", code)
        offer = session.get(FollowOffer, (sender_id, dossier_id))
        if offer is None or offer.verified_at < now - OFFER_TTL:
            return FollowResult("not_verified", code)
        existing = session.scalar(
            select(DossierFollow).where(_of(follower), DossierFollow.dossier_id == dossier_id)
        )
        if (
            existing is not None
            and existing.stopped_at is None
            and (existing.ends_at is None or existing.ends_at > now)
        ):
            return FollowResult("already", code)
        count = _count_active(session, follower, now)
        if count >= max_per_chat():
            return FollowResult("limit", code, count)
        if existing is None:
            if isinstance(follower, str):
                existing = DossierFollow(web_sender=follower, dossier_id=dossier_id)
            else:
                existing = DossierFollow(chat_id=follower, dossier_id=dossier_id)
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


def _count_active(session: Session, follower: Follower, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DossierFollow).where(_of(follower), active(now))
        )
        or 0
    )


@dataclass(frozen=True)
class Followed:
    code: str
    status: str
    consented_at: datetime
    ends_at: datetime | None


def followed(follower: Follower) -> list[Followed]:
    now = utcnow()
    with session_scope() as session:
        rows = session.execute(
            select(Dossier.code, Dossier.status, DossierFollow.consented_at, DossierFollow.ends_at)
            .join(Dossier, Dossier.id == DossierFollow.dossier_id)
            .where(_of(follower), active(now))
            .order_by(DossierFollow.consented_at)
        ).all()
    return [Followed(*row) for row in rows]


def unfollow(follower: Follower, code: str | None = None) -> int:
    """Stop following `code` (every dossier when None); returns how many follows ended."""
    now = utcnow()
    with session_scope() as session:
        condition = and_(_of(follower), active(now))
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


def status_message(
    code: str, status: str, language: str, *, office: str | None = None, web: bool = False
) -> str:
    """What a status change tells the follower: Telegram's HTML, or plain text for the widget."""
    t = gettext(language)
    office = office if office is not None else _office_text(t)
    head = t("Dossier {code} is now: <b>{status}</b>.").format(
        code=html.escape(code), status=t(STATUS_NAMES.get(status, status))
    )
    steps = NEXT_STEPS_WEB if web and status in NEXT_STEPS_WEB else NEXT_STEPS
    step = t(steps.get(status, "")).format(
        office=html.escape(office), code=html.escape(code), days=days_after_result()
    )
    message = f"{head}\n{step}".strip()
    return plain(message) if web else message


def overdue_message(
    code: str, due_at: datetime, language: str, *, office: str | None = None, web: bool = False
) -> str:
    t = gettext(language)
    office = office if office is not None else _office_text(t)
    message = t(
        "Dossier {code} passed its due date ({due}) without a result. You can contact {office} "
        "to ask about it."
    ).format(code=html.escape(code), due=due_at.strftime("%d/%m/%Y"), office=html.escape(office))
    return plain(message) if web else message


def code_payload(command: str, code: str) -> str:
    """A widget button's payload about one dossier: ``/unfollow_dossier{"dossier_code": …}``."""
    return command + json.dumps({"dossier_code": code}, separators=(",", ":"))


def code_of_payload(text: str, command: str = FOLLOW_PAYLOAD) -> str | None:
    """The dossier code of a ``/follow_dossier{"dossier_code": "..."}`` payload (or another
    command's)."""
    try:
        data = json.loads(text.strip()[len(command) :] or "{}")
    except ValueError:
        return None
    value = data.get("dossier_code") if isinstance(data, dict) else None
    return normalize_code(value) if isinstance(value, str) else None


def web_stop_button(code: str, language: str) -> dict[str, str]:
    """The widget's button that stops following `code` (the bot's /botheodoi CODE)."""
    title = gettext(language)("Stop following {code}").format(code=code)
    return {"title": title, "payload": code_payload(UNFOLLOW_PAYLOAD, code)}


def web_list_button(language: str) -> dict[str, str]:
    """The widget's button that lists the followed dossiers (the bot's /theodoi)."""
    return {"title": gettext(language)("Dossiers I follow"), "payload": FOLLOWED_PAYLOAD}


def web_buttons(codes: list[str], language: str) -> list[dict[str, str]]:
    """The buttons under a widget follower's message: stop following each dossier it is about,
    and the list of followed dossiers."""
    stops = [web_stop_button(code, language) for code in dict.fromkeys(codes)]
    return [*stops, web_list_button(language)]


def footer(language: str) -> str:
    t = gettext(language)
    return t("(Stop following: /botheodoi)")


# ---- the notifier -----------------------------------------------------------------------------
class Pending(NamedTuple):
    """One event to tell one follower."""

    follow: DossierFollow
    key: str
    status: str
    text: str
    code: str


@dataclass
class NotifyReport:
    history_rows: int = 0
    notifications: int = 0
    messages: int = 0  # Telegram messages queued (delivery rows)
    widget_messages: int = 0  # widget inbox messages written
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
        pending: list[Pending] = []
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
                    active(now),
                )
                .order_by(DossierStatusHistory.id)
            ).all()
            for history_id, status, follow_row, code in rows:
                lang = _language(follow_row, languages)
                message = status_message(
                    code, status, lang, office=office[lang], web=follow_row.web_sender is not None
                )
                pending.append(Pending(follow_row, f"h:{history_id}", status, message, code))
                if status in FINAL_STATUSES and follow_row.ends_at is None:
                    follow_row.ends_at = now + timedelta(days=days_after_result())
        overdue = session.execute(
            select(DossierFollow, Dossier.code, Dossier.due_at)
            .join(Dossier, Dossier.id == DossierFollow.dossier_id)
            .where(
                active(now),
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
            lang = _language(follow_row, languages)
            web = follow_row.web_sender is not None
            message = overdue_message(code, due_at, lang, office=office[lang], web=web)
            pending.append(Pending(follow_row, key, "overdue", message, code))
            report.overdue += 1
        if pending:
            report.broadcast_id = _queue(session, pending, now, report)
        _advance_cursor(session, report.cursor)
        # Offers past their life are of no use: they only said who verified what.
        session.execute(delete(FollowOffer).where(FollowOffer.verified_at < now - OFFER_TTL))
    return report


def _language(follow_row: DossierFollow, languages: dict[int, str]) -> str:
    """A Telegram follower's current language (/ngonngu) wins over the one it followed in."""
    if follow_row.chat_id is not None and follow_row.chat_id in languages:
        return normalize_language(languages[follow_row.chat_id])
    return normalize_language(follow_row.language)


def _queue(
    session: Session, pending: list[Pending], now: datetime, report: NotifyReport
) -> int | None:
    """One message per follower, one notification per event: for Telegram chats one broadcast
    row for the run and one delivery per chat (its id returned: the bot's sender sends them);
    for widget sessions one inbox row each."""
    by_chat: dict[int, list[Pending]] = defaultdict(list)
    by_web: dict[str, list[Pending]] = defaultdict(list)
    for item in pending:
        if item.follow.web_sender is not None:
            by_web[item.follow.web_sender].append(item)
        elif item.follow.chat_id is not None:
            by_chat[item.follow.chat_id].append(item)
    notes: list[FollowNotification] = []
    for sender, items in by_web.items():
        language = normalize_language(items[0].follow.language)
        message = WidgetMessage(
            web_sender=sender,
            author="assistant",
            text="\n\n".join(i.text for i in items),
            buttons=web_buttons([i.code for i in items], language),
        )
        session.add(message)
        session.flush()
        notes += _notifications(items, widget_message_id=message.id)
    report.widget_messages = len(by_web)
    broadcast_id = _queue_telegram(session, by_chat, now, notes) if by_chat else None
    for note in notes:
        report.events[note.status] = report.events.get(note.status, 0) + 1
    session.add_all(notes)
    session.flush()
    report.notifications = len(notes)
    report.messages = len(by_chat)
    return broadcast_id


def _notifications(items: list[Pending], **message: int) -> list[FollowNotification]:
    """One row per change told, linked to the message that carries it (``delivery_id`` of a
    Telegram delivery or ``widget_message_id`` of a widget message)."""
    return [
        FollowNotification(
            follow_id=i.follow.id, event_key=i.key, status=i.status, text=i.text, **message
        )
        for i in items
    ]


def _queue_telegram(
    session: Session,
    by_chat: dict[int, list[Pending]],
    now: datetime,
    notes: list[FollowNotification],
) -> int:
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
    for delivery in deliveries:
        notes += _notifications(by_chat[delivery.chat_id], delivery_id=delivery.id)
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
    following_chats: int  # followers: Telegram chats and widget sessions
    notifications: int
    messages: dict[str, int]  # Telegram delivery rows by status
    widget_messages: int = 0  # written into widget inboxes
    widget_seen: int = 0  # of those, fetched by the widget


def stats() -> FollowStats:
    now = utcnow()
    with session_scope() as session:
        counts = session.execute(
            select(
                func.count(),
                func.count(func.distinct(DossierFollow.dossier_id)),
                func.count(func.distinct(DossierFollow.chat_id))
                + func.count(func.distinct(DossierFollow.web_sender)),
            ).where(active(now))
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
        widget = session.execute(
            select(func.count(), func.count(WidgetMessage.delivered_at)).where(
                WidgetMessage.id.in_(
                    select(FollowNotification.widget_message_id).where(
                        FollowNotification.widget_message_id.is_not(None)
                    )
                )
            )
        ).one()
    messages = {s: 0 for s in ("pending", "sending", "sent", "blocked", "failed", "unknown")}
    messages.update(dict(delivered))
    return FollowStats(
        counts[0], counts[1], counts[2], notifications, messages, widget[0], widget[1]
    )
