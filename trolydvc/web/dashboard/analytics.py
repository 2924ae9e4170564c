"""Analytics of the assistant for a period, from what the project stores:

- the conversation log (``conversation_log``, trolydvc.conversation_log: one row per user message,
  kept for the conversation retention period): messages per day, the share understood,
  conversations and containment (the share that did not ask for a human), the channels, the most
  asked procedures, and the questions not understood, with their export as candidate training
  examples (CSV, Rasa NLU YAML);
- citizens' ratings (``feedback``) and requests for an official (``handoff_cases``: Telegram and the widget).

A conversation is a sender's messages from one Rasa session start to the next (a session starts
with the first message, after 60 minutes of silence, or after "bắt đầu lại"); one that was
already going on when the period began counts from its first message in the period.

Cost: a month of 100,000 messages (20,000 senders, 15 % not understood) takes 1.5–2.4 s on
SQLite on the shared 2-core machine (load average 6–7): four queries over the period's rows, the
days, outcomes and channels in one pass.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, distinct, func, select, type_coerce
from sqlalchemy.orm import Session

from trolydvc.catalog import load_catalog
from trolydvc.conversation_log import ANSWERED, FALLBACK, OUT_OF_SCOPE, OUT_OF_SCOPE_INTENT
from trolydvc.db import session_scope
from trolydvc.db.base import UTC
from trolydvc.db.bot_models import Feedback, HandoffCase
from trolydvc.db.log_models import ConversationLogEntry as Log
from trolydvc.tracking.stats import Period
from trolydvc.vietnam_time import VN_TZ

OUTCOME_LABELS = {
    ANSWERED: "Hiểu",
    FALLBACK: "Không hiểu",
    OUT_OF_SCOPE: "Ngoài phạm vi",
}
CHANNEL_LABELS = {
    "telegram": "Telegram",
    "web": "Khung trò chuyện trên trang web",
    "terminal": "Dòng lệnh",
    "other": "Khác (API)",
}
VN_OFFSET = VN_TZ.utcoffset(None)
# Characters that make a spreadsheet read a cell as a formula (CSV injection): such a citizen's
# text is exported with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TopicRating:
    topic: str
    name: str
    count: int
    average: float


@dataclass(frozen=True)
class DayRow:
    day: date
    messages: int = 0
    understood: int = 0
    conversations: int = 0  # conversations that began that day
    human: int = 0  # messages asking for an official
    ratings: int = 0
    handoffs: int = 0


@dataclass(frozen=True)
class AskedProcedure:
    code: str
    name: str
    messages: int
    senders: int


@dataclass(frozen=True)
class Unanswered:
    """One question not understood (its identical repeats counted), latest first."""

    text: str
    count: int
    outcome: str
    guess: str | None
    last_at: datetime

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)


@dataclass
class Analytics:
    period: Period
    messages: int = 0
    understood: int = 0
    fallbacks: int = 0
    out_of_scope: int = 0
    conversations: int = 0
    contained: int = 0  # conversations in which nobody asked for an official
    channels: list[tuple[str, int]] = field(default_factory=list)
    procedures: list[AskedProcedure] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)  # the most frequent
    unanswered_distinct: int = 0
    ratings: int = 0
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)
    handoffs: int = 0
    days: list[DayRow] = field(default_factory=list)
    topics: list[TopicRating] = field(default_factory=list)

    @property
    def understood_share(self) -> float | None:
        return self.understood / self.messages if self.messages else None

    @property
    def containment(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.start, datetime.min.time(), VN_TZ).astimezone(UTC)
    return start, start + (period.end - period.start + timedelta(days=1))


def _vn_day(instant: datetime) -> date:
    return instant.astimezone(VN_TZ).date()


def _topic_name(topic: str) -> str:
    if topic.startswith("handoff:"):
        return "Trao đổi với cán bộ"
    try:
        procedure = load_catalog().get(topic)
    except Exception:  # an unreadable catalog must not take the page down
        procedure = None
    return procedure.name if procedure is not None else topic


def _vn_day_column(session: Session) -> Any:
    """The Vietnam calendar day of a log row, computed by the database (UTC+7, no DST)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(type_coerce(Log.at, DateTime()) + VN_OFFSET)
    return func.date(Log.at, f"+{int(VN_OFFSET.total_seconds())} seconds")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _flag(column: Any) -> Any:
    return func.coalesce(func.sum(case((column, 1), else_=0)), 0)


def _log_figures(
    session: Session, result: Analytics, start: datetime, end: datetime, top: int
) -> dict[date, tuple[int, int, int, int]]:
    in_period = (Log.at >= start, Log.at < end)
    day = _vn_day_column(session).label("day")
    # one pass over the period's rows for the days, the outcomes and the channels
    groups = session.execute(
        select(
            day,
            Log.outcome,
            Log.channel,
            func.count(),
            _flag(Log.conversation_start),
            _flag(Log.human),
        )
        .where(*in_period)
        .group_by(day, Log.outcome, Log.channel)
    ).all()
    days: dict[date, list[int]] = {}
    outcomes: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for d, outcome, channel, n, started, human in groups:
        figures = days.setdefault(_as_date(d), [0, 0, 0, 0])
        n, started, human = int(n), int(started), int(human)
        figures[0] += n
        figures[1] += n if outcome == ANSWERED else 0
        figures[2] += started
        figures[3] += human
        outcomes[outcome] += n
        channels[channel] += n
    result.messages = sum(outcomes.values())
    result.understood = outcomes[ANSWERED]
    result.fallbacks = outcomes[FALLBACK]
    result.out_of_scope = outcomes[OUT_OF_SCOPE]
    result.channels = sorted(channels.items(), key=lambda item: (-item[1], item[0]))
    # Conversations: number each sender's session starts in order; the rows of one number are
    # one conversation (number 0: the one going on when the period began).
    number = (
        func.sum(case((Log.conversation_start, 1), else_=0))
        .over(partition_by=Log.sender_hash, order_by=(Log.at, Log.id))
        .label("number")
    )
    rows = select(Log.sender_hash, number, Log.human).where(*in_period).subquery()
    asked = func.max(case((rows.c.human, 1), else_=0)).label("asked")
    conversations = select(asked).group_by(rows.c.sender_hash, rows.c.number).subquery()
    total, with_human = session.execute(
        select(func.count(), func.coalesce(func.sum(conversations.c.asked), 0))
    ).one()
    result.conversations = int(total)
    result.contained = int(total) - int(with_human)
    asked_procedures = session.execute(
        select(Log.procedure, func.count(), func.count(distinct(Log.sender_hash)))
        .where(*in_period, Log.procedure.is_not(None))
        .group_by(Log.procedure)
        .order_by(func.count().desc(), Log.procedure)
        .limit(top)
    ).all()
    result.procedures = [
        AskedProcedure(code, _topic_name(code), int(n), int(s)) for code, n, s in asked_procedures
    ]
    return {d: (n, u, c, h) for d, (n, u, c, h) in days.items()}


def _grouped_unanswered(session: Session, start: datetime, end: datetime) -> list[Unanswered]:
    rows = session.execute(
        select(Log.text, Log.outcome, Log.guess, Log.at)
        .where(Log.at >= start, Log.at < end, Log.outcome != ANSWERED, Log.text.is_not(None))
        .order_by(Log.at.desc(), Log.id.desc())
    ).all()
    groups: dict[str, list[Any]] = {}
    for text, outcome, guess, at in rows:
        key = " ".join(text.casefold().split()).strip(" ?.!")
        entry = groups.get(key)
        if entry is None:
            groups[key] = [text, 1, outcome, guess, at]  # the latest wording and verdict
        else:
            entry[1] += 1
    items = [Unanswered(*entry) for entry in groups.values()]
    items.sort(key=lambda u: (-u.count, -u.last_at.timestamp()))
    return items


def unanswered(period: Period) -> list[Unanswered]:
    """Every question of the period the assistant did not understand, most frequent first."""
    start, end = _bounds(period)
    with session_scope() as session:
        return _grouped_unanswered(session, start, end)


def compute(period: Period, top: int = 10, unanswered_shown: int = 50) -> Analytics:
    start, end = _bounds(period)
    result = Analytics(period)
    with session_scope() as session:
        log_days = _log_figures(session, result, start, end, top)
        questions = _grouped_unanswered(session, start, end)
        ratings = session.execute(
            select(Feedback.created_at, Feedback.rating, Feedback.topic).where(
                Feedback.created_at >= start, Feedback.created_at < end
            )
        ).all()
        opened = session.scalars(
            select(HandoffCase.opened_at).where(
                HandoffCase.opened_at >= start, HandoffCase.opened_at < end
            )
        ).all()
        topics = session.execute(
            select(Feedback.topic, func.count(), func.avg(Feedback.rating))
            .where(
                Feedback.created_at >= start,
                Feedback.created_at < end,
                Feedback.topic.is_not(None),
            )
            .group_by(Feedback.topic)
            .order_by(func.count().desc(), Feedback.topic)
            .limit(top)
        ).all()
    result.unanswered = questions[:unanswered_shown]
    result.unanswered_distinct = len(questions)
    result.ratings = len(ratings)
    result.distribution = {score: 0 for score in range(1, 6)}
    for _at, rating, _topic in ratings:
        result.distribution[rating] += 1
    if ratings:
        result.average = round(sum(r for _a, r, _t in ratings) / len(ratings), 2)
    result.handoffs = len(opened)
    per_day_ratings = Counter(_vn_day(at) for at, _r, _t in ratings)
    per_day_handoffs = Counter(_vn_day(at) for at in opened)
    result.days = [
        DayRow(
            day,
            *log_days.get(day, (0, 0, 0, 0)),
            ratings=per_day_ratings[day],
            handoffs=per_day_handoffs[day],
        )
        for day in sorted(set(log_days) | set(per_day_ratings) | set(per_day_handoffs))
    ]
    result.topics = [
        TopicRating(topic, _topic_name(topic), int(count), round(float(avg), 2))
        for topic, count, avg in topics
    ]
    return result


# ---- exports of the questions not understood ---------------------------------------------------
def export_name(period: Period, suffix: str) -> str:
    return f"cau-chua-hieu-{period.start.isoformat()}-{period.end.isoformat()}.{suffix}"


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def unanswered_csv(period: Period, items: list[Unanswered]) -> bytes:
    """UTF-8 with a byte order mark (spreadsheet programs read the diacritics right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Câu trợ lý chưa hiểu, {period.label} (chữ số đã được thay bằng 0)"])
    writer.writerow(["Câu hỏi", "Số lần", "Lần gần nhất", "Kết quả", "Ý định mô hình đoán"])
    for item in items:
        writer.writerow(
            [
                _cell(item.text),
                item.count,
                item.last_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M"),
                item.outcome_label,
                item.guess or "",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def _example(text: str) -> str:
    # "[words](entity)", "[words]{...}" and "[words][...]" annotate entities in Rasa's examples;
    # a citizen's brackets must stay plain text.
    for opener in "({[":
        text = text.replace("]" + opener, "] " + opener)
    return text


def unanswered_nlu_yaml(period: Period, items: list[Unanswered]) -> str:
    """Rasa NLU training data (YAML, version 3.1): the questions grouped under the intent the
    model guessed, for a person to check and move before they go into nlu_data/nlu/."""
    by_intent: dict[str, list[str]] = {}
    for item in items:
        by_intent.setdefault(item.guess or OUT_OF_SCOPE_INTENT, []).append(_example(item.text))
    lines = [
        f"# Câu trợ lý chưa hiểu, {period.label}: {len(items)} câu, chữ số đã được thay bằng 0.",
        "# Đây là ví dụ huấn luyện ỨNG VIÊN, xếp theo ý định mô hình đoán gần nhất: đọc từng câu,",
        "# chuyển sang đúng ý định, bỏ câu không dùng được, rồi mới chép vào nlu_data/nlu/.",
        'version: "3.1"',
        "nlu:" if by_intent else "nlu: []",
    ]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"
