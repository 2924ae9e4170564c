"""Handoff from the web widget: a citizen asks for an official, the case waits on the dashboard's
desk (/quan-tri/ho-tro), the official's answer reaches the widget's inbox (trolydvc.web.inbox).

As the Telegram bot does it (bot/handoff.py):

- the assistant's answer to a request for a human (``action_request_human`` sends
  ``{"channel_action": "handoff"}`` to the widget's conversations too) opens a case for the
  widget session (its sender id); the citizen's last messages go with it, as the bot forwards a
  chat's last messages to the officials' group;
- while the case is open, what the citizen types goes to the case, not to the assistant (button
  presses still reach the assistant, as in Telegram);
- an official answers from the dashboard (``desk.answer`` → ``answer``): the text is stored in
  the widget's inbox, with the bot's wording;
- the case is closed by an official (the dashboard), by the citizen (the widget's button, the
  bot's /ketthuc) or after HANDOFF_TIMEOUT seconds without activity; the widget is told.

Without a dashboard account that can log in nobody would read the case: the assistant's
contacts are shown instead (the bot says the same when it has no officials' group).

Functions are blocking (database): call them from a worker thread.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from bot import store
from trolydvc.config import settings
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import HandoffCase
from trolydvc.db.web_models import WebAccount, WidgetMessage
from trolydvc.i18n import gettext, plain

LANGUAGE = "vi"  # the widget's
END_PAYLOAD = "/end_handoff"
END_TITLE = "Kết thúc trò chuyện với cán bộ"
# Messages a session sent before asking for a human that go with the case (the bot forwards 5).
RECENT_KEPT = 5
# Sessions whose last messages are remembered (in memory, never stored unless a case opens):
# at most 2,000 × 5 × 2,000 characters, ~20 MB in the worst case.
RECENT_SESSIONS = 2000


class RecentTexts:
    """The last few messages each widget session sent to the assistant, kept in this process's
    memory only (the web app is one process), for the case they may open."""

    def __init__(self, sessions: int = RECENT_SESSIONS, kept: int = RECENT_KEPT) -> None:
        self.sessions, self.kept = sessions, kept
        self._texts: OrderedDict[str, deque[str]] = OrderedDict()

    def remember(self, sender: str, text: str) -> None:
        texts = self._texts.pop(sender, None) or deque(maxlen=self.kept)
        texts.append(text)
        self._texts[sender] = texts
        while len(self._texts) > self.sessions:
            self._texts.popitem(last=False)

    def take(self, sender: str) -> list[str]:
        """The session's remembered messages, oldest first; forgotten here once taken."""
        return list(self._texts.pop(sender, ()))


def t(message: str) -> str:
    """The bot's own wording (locales/), in the widget's language."""
    return plain(gettext(LANGUAGE)(message))


def _end_button() -> dict[str, str]:
    return {"title": END_TITLE, "payload": END_PAYLOAD}


def start(sender: str, recent: list[str], fallback: str | None) -> list[dict[str, object]]:
    """The widget's answer to a request for a human: a case opened (or already open), else the
    assistant's contacts (`fallback`) when no official can read the desk."""
    if not desk_available():
        text = t("Sorry, no official is available through this chat at the moment.")
        return [{"text": f"{text}\n{fallback}" if fallback else text, "buttons": []}]
    case, created = open_case(sender, recent)
    if not created:
        text = t("Your request is already with the officials. They will answer you here.")
        return [{"text": text, "buttons": [_end_button()]}]
    text = t(
        "I have passed your conversation to an official of the one-stop shop. Their answer will "
        "arrive here."
    )
    text += (
        "\nTrong lúc chờ, những gì Bạn viết sẽ được chuyển đến cán bộ. Để kết thúc, Bạn bấm "
        f"«{END_TITLE}»."
    )
    return [{"text": text, "buttons": [_end_button()]}]


def end(sender: str) -> list[dict[str, object]]:
    """The citizen's "end" button (the bot's /ketthuc)."""
    case = active_case(sender)
    if case is None or close_case(case.id, None, "citizen") is None:
        return [{"text": t("You are not talking to an official at the moment."), "buttons": []}]
    return [{"text": closing_text("citizen"), "buttons": []}]


def desk_available() -> bool:
    """Can any official read the desk (an account of the dashboard that may log in)?"""
    with session_scope() as session:
        return bool(session.scalar(select(exists().where(WebAccount.disabled_at.is_(None)))))


def active_case(sender: str) -> store.Case | None:
    with session_scope() as session:
        row = session.scalar(
            select(HandoffCase).where(
                HandoffCase.web_sender == sender, HandoffCase.status == "open"
            )
        )
        return _case(row) if row else None


def _case(row: HandoffCase) -> store.Case:
    return store.Case(row.id, 0, row.status, row.language, row.web_sender)


def open_case(sender: str, recent: list[str]) -> tuple[store.Case, bool]:
    """The session's open case, or a new one holding its `recent` messages; and whether new."""
    now = utcnow()
    try:
        with session_scope() as session:
            row = session.scalar(
                select(HandoffCase).where(
                    HandoffCase.web_sender == sender, HandoffCase.status == "open"
                )
            )
            if row is not None:
                row.last_activity_at = now
                return _case(row), False
            row = HandoffCase(web_sender=sender, language=LANGUAGE, last_activity_at=now)
            session.add(row)
            session.flush()
            session.add_all(
                WidgetMessage(web_sender=sender, author="citizen", text=text, case_id=row.id)
                for text in recent
            )
            return _case(row), True
    except IntegrityError:  # a concurrent request of the same session opened it first
        case = active_case(sender)
        if case is None:
            raise
        return case, False


def relay(case: store.Case, text: str) -> None:
    """What the citizen wrote while the case is open: stored with the case for the desk."""
    assert case.web_sender is not None
    with session_scope() as session:
        session.add(
            WidgetMessage(web_sender=case.web_sender, author="citizen", text=text, case_id=case.id)
        )
        session.execute(
            update(HandoffCase).where(HandoffCase.id == case.id).values(last_activity_at=utcnow())
        )


def store_answer(case: store.Case, text: str) -> None:
    """An official's answer, into the widget's inbox (the desk touches the case afterwards)."""
    assert case.web_sender is not None
    with session_scope() as session:
        session.add(
            WidgetMessage(
                web_sender=case.web_sender,
                author="official",
                text=text,
                case_id=case.id,
            )
        )


async def answer(case: store.Case, text: str) -> None:
    """The dashboard desk's answer sender for widget cases (desk.register_answer_channel)."""
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(store_answer, case, text)


def closing_text(reason: str) -> str:
    """What the widget says when a case ends: by the official, the citizen, or the timeout."""
    first = {
        "official": "The official has closed the conversation.",
        "citizen": "You have ended the conversation with the official.",
        "timeout": "The conversation with the official was closed after a long time without "
        "activity.",
    }[reason]
    return t(first) + " " + t("I am the assistant again: ask me anything.")


def close_case(case_id: int, official_id: int | None, reason: str) -> store.Case | None:
    """Close a widget session's open case (None when it was not one); the official's and the
    timeout's closing is told in the widget's inbox, the citizen's is the caller's to answer."""
    with session_scope() as session:
        row = session.get(HandoffCase, case_id, with_for_update=True)
        if row is None or row.status != "open" or row.web_sender is None:
            return None
        row.status, row.closed_at, row.closed_by_id = "closed", utcnow(), official_id
        if reason != "citizen":
            session.add(
                WidgetMessage(
                    web_sender=row.web_sender,
                    author="assistant",
                    text=closing_text(reason),
                    case_id=row.id,
                )
            )
        return _case(row)


def expire(idle: timedelta | None = None) -> int:
    """Close the widget cases idle for longer than HANDOFF_TIMEOUT; returns how many."""
    limit = utcnow() - (idle or timedelta(seconds=settings().handoff_timeout))
    with session_scope() as session:
        ids = session.scalars(
            select(HandoffCase.id).where(
                HandoffCase.status == "open",
                HandoffCase.web_sender.is_not(None),
                HandoffCase.last_activity_at < limit,
            )
        ).all()
    return sum(close_case(case_id, None, "timeout") is not None for case_id in ids)
