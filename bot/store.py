"""Database access of the bot (synchronous; handlers call it through `asyncio.to_thread`).

Chat profiles and subscriptions share the `subscribers` table: a chat that only chose a
language has a row with `subscribed = False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import (
    OFFICIAL_ROLES,
    BotSetting,
    Feedback,
    HandoffCase,
    HandoffMessage,
    Official,
    Subscriber,
)

OFFICIALS_CHAT_KEY = "officials_chat_id"


@dataclass(frozen=True)
class Profile:
    chat_id: int
    language: str
    subscribed: bool
    commune: str | None


def _profile(row: Subscriber) -> Profile:
    return Profile(row.chat_id, row.language, bool(row.subscribed), row.commune)


def get_profile(chat_id: int) -> Profile | None:
    with session_scope() as session:
        row = session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))
        return _profile(row) if row else None


def set_language(chat_id: int, language: str) -> None:
    with session_scope() as session:
        row = session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))
        if row is None:
            session.add(Subscriber(chat_id=chat_id, language=language, subscribed=False))
        else:
            row.language = language


def subscribe(chat_id: int, language: str, commune: str | None) -> Profile:
    with session_scope() as session:
        row = session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))
        if row is None:
            row = Subscriber(chat_id=chat_id, language=language)
            session.add(row)
        row.subscribed = True
        row.commune = commune
        session.flush()
        return _profile(row)


def unsubscribe(chat_id: int) -> bool:
    """True when the chat was subscribed."""
    with session_scope() as session:
        result = session.execute(
            update(Subscriber)
            .where(Subscriber.chat_id == chat_id, Subscriber.subscribed.is_(True))
            .values(subscribed=False, updated_at=utcnow())
        )
        return bool(result.rowcount)


# ---- officials ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OfficialInfo:
    id: int
    telegram_user_id: int
    role: str
    label: str


def official(user_id: int) -> OfficialInfo | None:
    with session_scope() as session:
        row = session.scalar(
            select(Official).where(Official.telegram_user_id == user_id, Official.active.is_(True))
        )
        return OfficialInfo(row.id, row.telegram_user_id, row.role, row.label) if row else None


def add_official(user_id: int, role: str, label: str) -> tuple[OfficialInfo, bool]:
    """Add or update; returns the official and whether it was new."""
    if role not in OFFICIAL_ROLES:
        raise ValueError(f"role must be one of {', '.join(OFFICIAL_ROLES)}")
    with session_scope() as session:
        row = session.scalar(select(Official).where(Official.telegram_user_id == user_id))
        created = row is None
        if row is None:
            row = Official(telegram_user_id=user_id)
            session.add(row)
        row.role, row.label, row.active = role, label, True
        session.flush()
        return OfficialInfo(row.id, row.telegram_user_id, row.role, row.label), created


def remove_official(user_id: int) -> bool:
    """Deactivate (kept so past broadcasts and cases still name their author)."""
    with session_scope() as session:
        result = session.execute(
            update(Official)
            .where(Official.telegram_user_id == user_id, Official.active.is_(True))
            .values(active=False, updated_at=utcnow())
        )
        return bool(result.rowcount)


def list_officials() -> list[OfficialInfo]:
    with session_scope() as session:
        rows = session.scalars(
            select(Official).where(Official.active.is_(True)).order_by(Official.id)
        ).all()
        return [OfficialInfo(r.id, r.telegram_user_id, r.role, r.label) for r in rows]


# ---- settings -----------------------------------------------------------------------------
def get_setting(key: str) -> str | None:
    with session_scope() as session:
        row = session.get(BotSetting, key)
        return row.value if row else None


def set_setting(key: str, value: str | None) -> None:
    with session_scope() as session:
        if value is None:
            session.execute(delete(BotSetting).where(BotSetting.key == key))
            return
        row = session.get(BotSetting, key)
        if row is None:
            session.add(BotSetting(key=key, value=value))
        else:
            row.value = value


# ---- feedback -----------------------------------------------------------------------------
def save_feedback(sender_id: str, rating: int, comment: str | None, topic: str | None) -> int:
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1..5")
    with session_scope() as session:
        row = Feedback(sender_id=sender_id, rating=rating, comment=comment, topic=topic)
        session.add(row)
        session.flush()
        return row.id


def add_feedback_comment(feedback_id: int, comment: str) -> None:
    with session_scope() as session:
        row = session.get(Feedback, feedback_id)
        if row is not None:
            row.comment = comment


# ---- handoff ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A handoff case: of a Telegram chat (``chat_id``), or of a web widget session
    (``web_sender``, chat_id 0: such cases are the web app's, trolydvc.web.handoff)."""

    id: int
    chat_id: int
    status: str
    language: str
    web_sender: str | None = None


def _case(row: HandoffCase) -> Case:
    return Case(row.id, row.chat_id or 0, row.status, row.language, row.web_sender)


def open_case(chat_id: int, language: str) -> tuple[Case, bool]:
    """The chat's open case, or a new one; and whether it was new."""
    with session_scope() as session:
        row = session.scalar(
            select(HandoffCase).where(HandoffCase.chat_id == chat_id, HandoffCase.status == "open")
        )
        if row is not None:
            row.last_activity_at = utcnow()
            return _case(row), False
        row = HandoffCase(chat_id=chat_id, language=language, last_activity_at=utcnow())
        session.add(row)
        session.flush()
        return _case(row), True


def active_case(chat_id: int) -> Case | None:
    with session_scope() as session:
        row = session.scalar(
            select(HandoffCase).where(HandoffCase.chat_id == chat_id, HandoffCase.status == "open")
        )
        return _case(row) if row else None


def link_case_message(case_id: int, group_chat_id: int, message_id: int) -> None:
    with session_scope() as session:
        session.add(
            HandoffMessage(case_id=case_id, group_chat_id=group_chat_id, message_id=message_id)
        )
        session.execute(
            update(HandoffCase).where(HandoffCase.id == case_id).values(last_activity_at=utcnow())
        )


def case_of_group_message(group_chat_id: int, message_id: int) -> Case | None:
    with session_scope() as session:
        row = session.scalar(
            select(HandoffCase)
            .join(HandoffMessage, HandoffMessage.case_id == HandoffCase.id)
            .where(
                HandoffMessage.group_chat_id == group_chat_id,
                HandoffMessage.message_id == message_id,
            )
        )
        return _case(row) if row else None


def get_case(case_id: int) -> Case | None:
    with session_scope() as session:
        row = session.get(HandoffCase, case_id)
        return _case(row) if row else None


def touch_case(case_id: int) -> None:
    with session_scope() as session:
        session.execute(
            update(HandoffCase).where(HandoffCase.id == case_id).values(last_activity_at=utcnow())
        )


def close_case(case_id: int, official_id: int | None) -> Case | None:
    """Close an open case; None when it was not open."""
    with session_scope() as session:
        row = session.get(HandoffCase, case_id)
        if row is None or row.status != "open":
            return None
        row.status, row.closed_at, row.closed_by_id = "closed", utcnow(), official_id
        return _case(row)


def expire_cases(idle: timedelta, now: datetime | None = None) -> list[Case]:
    """Close the Telegram chats' open cases idle for longer than `idle`; return them. (The web
    app closes its widget sessions' cases itself: it tells them in the widget's inbox.)"""
    limit = (now or utcnow()) - idle
    with session_scope() as session:
        rows = session.scalars(
            select(HandoffCase).where(
                HandoffCase.status == "open",
                HandoffCase.last_activity_at < limit,
                HandoffCase.chat_id.is_not(None),
            )
        ).all()
        for row in rows:
            row.status, row.closed_at = "closed", utcnow()
        return [_case(row) for row in rows]


@dataclass(frozen=True)
class FeedbackSummary:
    count: int
    average: float | None
    handoff_cases: int


def feedback_summary(start: datetime, end: datetime) -> FeedbackSummary:
    """Ratings given and handoff cases opened in [start, end) (aware datetimes)."""
    with session_scope() as session:
        count, average = session.execute(
            select(func.count(Feedback.id), func.avg(Feedback.rating)).where(
                Feedback.created_at >= start, Feedback.created_at < end
            )
        ).one()
        cases = session.scalar(
            select(func.count(HandoffCase.id)).where(
                HandoffCase.opened_at >= start, HandoffCase.opened_at < end
            )
        )
    return FeedbackSummary(
        int(count or 0), float(average) if average is not None else None, int(cases or 0)
    )
