"""The handoff desk in the browser: the open cases (bot.store's handoff records) and answers sent
to the citizen on the channel the case came from.

Channels: a ``handoff_cases`` row is a Telegram chat (``chat_id``), answered through the Bot API
with the bot's own token and formatting (``bot.handoff.send_answer``; the conversation itself is
in the officials' Telegram group), or a web widget session (``web_sender``): its conversation is
shown here, the answer is stored in the widget's inbox (``trolydvc.web.handoff``), and the
official closes the case here. Another channel plugs in with ``register_answer_channel``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from telegram import Bot

from bot import store
from bot.handoff import send_answer
from bot.settings import BotSettings
from trolydvc.db import session_scope
from trolydvc.db.bot_models import HandoffCase
from trolydvc.db.web_models import WidgetMessage
from trolydvc.web import handoff as widget

MAX_ANSWER_CHARS = 3500

AnswerSender = Callable[[store.Case, str], Awaitable[None]]


class AnswerNotSent(RuntimeError):
    """The answer could not be delivered (the message is Vietnamese, shown to the official)."""


CHANNEL_NAMES = {"telegram": "Telegram", "widget": "trang web"}


@dataclass(frozen=True)
class CaseMessage:
    at: datetime
    author: str  # citizen | official | assistant
    text: str
    seen: bool = False  # an answer the widget has fetched (the citizen's page was open)


@dataclass(frozen=True)
class OpenCase:
    id: int
    opened_at: datetime
    last_activity_at: datetime | None
    language: str
    channel: str
    messages: tuple[CaseMessage, ...] = ()  # a widget case's conversation (Telegram's: the group)

    @property
    def channel_name(self) -> str:
        return CHANNEL_NAMES.get(self.channel, self.channel)


def channel_of(case: store.Case) -> str:
    """The channel a case came from: "widget" for a web widget session's, else "telegram"."""
    return "widget" if case.web_sender else "telegram"


def open_cases() -> list[OpenCase]:
    """Conversations waiting for an official, oldest first, with the widget cases' messages (no
    chat ids or sender ids: the page shows none)."""
    with session_scope() as session:
        rows = session.scalars(
            select(HandoffCase).where(HandoffCase.status == "open").order_by(HandoffCase.id)
        ).all()
        said: dict[int, list[CaseMessage]] = {}
        for m in session.scalars(
            select(WidgetMessage)
            .where(WidgetMessage.case_id.in_([r.id for r in rows if r.web_sender]))
            .order_by(WidgetMessage.id)
        ):
            said.setdefault(m.case_id or 0, []).append(
                CaseMessage(m.created_at, m.author, m.text, m.delivered_at is not None)
            )
        return [
            OpenCase(
                r.id,
                r.opened_at,
                r.last_activity_at,
                r.language,
                "widget" if r.web_sender else "telegram",
                tuple(said.get(r.id, ())),
            )
            for r in rows
        ]


async def _telegram(case: store.Case, text: str) -> None:
    from telegram.error import TelegramError

    try:
        settings = BotSettings.from_env()
    except ValueError as exc:
        raise AnswerNotSent(f"Chưa cấu hình bot Telegram: {exc}") from None
    try:
        async with Bot(
            settings.token,
            base_url=settings.api_base_url,
            base_file_url=settings.file_base_url,
        ) as bot:
            await send_answer(bot, case, text)
    except TelegramError as exc:
        raise AnswerNotSent(
            f"Telegram không nhận câu trả lời ({exc.__class__.__name__})."
        ) from None


_senders: dict[str, AnswerSender] = {"telegram": _telegram, "widget": widget.answer}


def register_answer_channel(channel: str, sender: AnswerSender) -> None:
    """Let the dashboard answer cases of another channel (the web widget): ``sender(case, text)``
    delivers or stores the text for that citizen and raises AnswerNotSent on failure."""
    _senders[channel] = sender


async def answer(case_id: int, text: str) -> store.Case:
    """Send an official's answer to the citizen of an open case; raises ValueError for a bad
    request (no such open case, empty or too long text) and AnswerNotSent when delivery fails."""
    from starlette.concurrency import run_in_threadpool

    text = text.strip()
    if not text:
        raise ValueError("Bạn chưa nhập câu trả lời.")
    if len(text) > MAX_ANSWER_CHARS:
        raise ValueError(f"Câu trả lời quá dài (tối đa {MAX_ANSWER_CHARS} ký tự).")
    case = await run_in_threadpool(store.get_case, case_id)
    if case is None or case.status != "open":
        raise ValueError(f"Yêu cầu #{case_id} không còn chờ trả lời.")
    await _senders[channel_of(case)](case, text)
    await run_in_threadpool(store.touch_case, case.id)
    return case


def close(case_id: int, official_id: int | None = None) -> store.Case:
    """Close a widget case from the dashboard (the widget is told); ValueError when it is not an
    open widget case (Telegram cases are closed in the officials' group, where the bot tells the
    citizen and asks for a rating)."""
    case = store.get_case(case_id)
    if case is None or case.status != "open":
        raise ValueError(f"Yêu cầu #{case_id} không còn chờ trả lời.")
    if channel_of(case) != "widget":
        raise ValueError(
            f"Yêu cầu #{case_id} qua Telegram được đóng trong nhóm cán bộ trên Telegram."
        )
    closed = widget.close_case(case_id, official_id, "official")
    if closed is None:
        raise ValueError(f"Yêu cầu #{case_id} không còn chờ trả lời.")
    return closed
