"""The six answer topics of a procedure question, in one registry.

Each topic has its key (the `topic` slot's value), the intent that asks it, the action that
answers it, a button label, a phrase for sentences ("Bạn muốn hỏi {lệ phí} của thủ tục nào?")
and its renderer. The actions, their buttons and the tests read this registry; domain.yml and
the rules name the same intents and actions (tests/actions/test_topics.py checks they agree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from actions import render
from actions.common import button
from actions.render import Answer
from trolydvc.catalog import Procedure
from trolydvc.locality import Locality
from trolydvc.textnorm import fold


@dataclass(frozen=True)
class Question:
    """What a renderer may use besides the procedure: the message, the locality, the case."""

    text: str
    loc: Locality
    case: str = ""  # documents: the case the citizen picked (guidance.CaseChoice code)


Renderer = Callable[[Procedure, Question], Answer]


@dataclass(frozen=True)
class Topic:
    key: str
    intent: str
    action: str
    label: str
    phrase: str
    render: Renderer
    # Words that ask this topic, over the folded text: used only when the intent model did not
    # recognise the question but the catalog clearly names a procedure (conversation.py).
    cues: str = ""


def _plain(fn: Callable[[Procedure], str]) -> Renderer:
    return lambda proc, question: Answer(fn(proc))


DOCUMENTS_INTENT = "ask_required_documents"  # its checklist buttons ask it again, with a case
TOPICS: dict[str, Topic] = {
    t.key: t
    for t in (
        Topic(
            "documents",
            DOCUMENTS_INTENT,
            "action_required_documents",
            "Hồ sơ cần chuẩn bị",
            "hồ sơ cần chuẩn bị",
            lambda proc, q: render.documents_reply(proc, q.case, DOCUMENTS_INTENT),
            r"\b(?:giay to|can nhung gi|can gi|mang gi|mang theo|chuan bi (?:gi|nhung)|ho so gom)\b",
        ),
        Topic(
            "fee",
            "ask_fee",
            "action_fee",
            "Lệ phí",
            "lệ phí",
            _plain(render.fee_answer),
            r"\b(?:le phi|phi|bao nhieu tien|het bao nhieu|mat bao nhieu|ton bao nhieu)\b",
        ),
        Topic(
            "time",
            "ask_processing_time",
            "action_processing_time",
            "Thời hạn giải quyết",
            "thời hạn giải quyết",
            _plain(render.time_answer),
            r"\b(?:bao lau|may ngay|bao nhieu ngay|thoi han|khi nao (?:co|xong|nhan))\b",
        ),
        Topic(
            "place",
            "ask_where_to_submit",
            "action_where_to_submit",
            "Nơi nộp",
            "nơi nộp hồ sơ",
            lambda proc, q: Answer(render.place_answer(proc, q.loc, q.text)),
            r"\b(?:o dau|noi nop|cho nao|nop tai dau|di dau)\b",
        ),
        Topic(
            "steps",
            "ask_procedure_steps",
            "action_procedure_steps",
            "Các bước thực hiện",
            "các bước thực hiện",
            _plain(render.steps_answer),
            r"\b(?:cac buoc|trinh tu|lam the nao|lam sao|the nao)\b",
        ),
        Topic(
            "online",
            "ask_online_submission",
            "action_online_submission",
            "Nộp trực tuyến",
            "cách nộp trực tuyến",
            lambda proc, q: Answer(render.online_answer(proc, q.loc)),
            r"\b(?:qua mang|online|truc tuyen|tren mang|dich vu cong|vneid)\b",
        ),
    )
}
OVERVIEW = "overview"  # the `topic` of an answer to a procedure named alone


# A question can name several topics ("làm sao để nộp … qua mạng"): the most specific wins.
_CUE_ORDER = ("online", "fee", "time", "place", "documents", "steps")


def topic_in(text: str) -> str | None:
    """The topic a message asks about, by its words (see Topic.cues), else None."""
    folded = fold(text)
    for key in _CUE_ORDER:
        if re.search(TOPICS[key].cues, folded):
            return key
    return None


def phrase(key: str | None) -> str:
    topic = TOPICS.get(key or "")
    return topic.phrase if topic else "thông tin"


def topic_button(
    key: str, proc: Procedure, title: str | None = None, **entities: str
) -> dict[str, str]:
    topic = TOPICS[key]
    return button(title or topic.label, topic.intent, procedure=proc.code, **entities)


def topic_buttons(proc: Procedure, exclude: str | None = None) -> list[dict[str, str]]:
    """Follow-up questions about the same procedure."""
    return [topic_button(key, proc) for key in TOPICS if key != exclude]
