"""Analytics from what the project stores: citizens' ratings (``feedback``) and requests for a
human (``handoff_cases``). No conversation log is kept (Rasa's tracker lives in memory or in
Redis for an hour), so messages per day, the share understood and the unanswered questions cannot
be counted; the page says so instead of estimating them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from trolydvc.catalog import load_catalog
from trolydvc.db import session_scope
from trolydvc.db.base import UTC
from trolydvc.db.bot_models import Feedback, HandoffCase
from trolydvc.tracking.stats import Period
from trolydvc.vietnam_time import VN_TZ

NOT_STORED = [
    "số tin nhắn mỗi ngày",
    "tỷ lệ câu hỏi trợ lý hiểu được",
    "tỷ lệ hội thoại không cần chuyển cán bộ",
    "các câu hỏi trợ lý chưa trả lời được (để bổ sung dữ liệu huấn luyện)",
]


@dataclass(frozen=True)
class TopicRating:
    topic: str
    name: str
    count: int
    average: float


@dataclass
class Analytics:
    period: Period
    ratings: int = 0
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=dict)
    handoffs: int = 0
    days: list[tuple[date, int, int]] = field(default_factory=list)  # (day, ratings, handoffs)
    topics: list[TopicRating] = field(default_factory=list)


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


def compute(period: Period, top: int = 10) -> Analytics:
    start, end = _bounds(period)
    result = Analytics(period)
    with session_scope() as session:
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
        (day, per_day_ratings[day], per_day_handoffs[day])
        for day in sorted(set(per_day_ratings) | set(per_day_handoffs))
    ]
    result.topics = [
        TopicRating(topic, _topic_name(topic), int(count), round(float(avg), 2))
        for topic, count, avg in topics
    ]
    return result
