"""The six answer topics of a procedure question, in one registry.

Each topic has its key (the `topic` slot's value), the intent that asks it, the action that
answers it, a button label, a phrase for sentences ("Bạn muốn hỏi {lệ phí} của thủ tục nào?")
and its renderer (label and phrase are Vietnamese, shown through actions.language.tr). The actions, their buttons and the tests read this registry; domain.yml and
the rules name the same intents and actions (tests/actions/test_topics.py checks they agree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from actions import render
from actions.common import button
from actions.language import N_, tr
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
            N_("Hồ sơ cần chuẩn bị"),
            N_("hồ sơ cần chuẩn bị"),
            lambda proc, q: render.documents_reply(proc, q.case, DOCUMENTS_INTENT),
            r"\b(?:giay to|can nhung gi|can gi|mang gi|mang theo|chuan bi (?:gi|nhung)|ho so gom"
            r"|documents?|papers|paperwork)\b",
        ),
        Topic(
            "fee",
            "ask_fee",
            "action_fee",
            N_("Lệ phí"),
            N_("lệ phí"),
            _plain(render.fee_answer),
            r"\b(?:le phi|phi|bao nhieu tien|het bao nhieu|mat bao nhieu|ton bao nhieu|fees?|cost"
            r"|how much)\b",
        ),
        Topic(
            "time",
            "ask_processing_time",
            "action_processing_time",
            N_("Thời hạn giải quyết"),
            N_("thời hạn giải quyết"),
            _plain(render.time_answer),
            r"\b(?:bao lau|may ngay|bao nhieu ngay|thoi han|khi nao (?:co|xong|nhan)|how long"
            r"|how many days|processing time)\b",
        ),
        Topic(
            "place",
            "ask_where_to_submit",
            "action_where_to_submit",
            N_("Nơi nộp"),
            N_("nơi nộp hồ sơ"),
            lambda proc, q: Answer(render.place_answer(proc, q.loc, q.text)),
            r"\b(?:o dau|noi nop|cho nao|nop tai dau|di dau|where|which office)\b",
        ),
        Topic(
            "steps",
            "ask_procedure_steps",
            "action_procedure_steps",
            N_("Các bước thực hiện"),
            N_("các bước thực hiện"),
            _plain(render.steps_answer),
            r"\b(?:cac buoc|trinh tu|lam the nao|lam sao|the nao|steps?|how do i|how to)\b",
        ),
        Topic(
            "online",
            "ask_online_submission",
            "action_online_submission",
            N_("Nộp trực tuyến"),
            N_("cách nộp trực tuyến"),
            lambda proc, q: Answer(render.online_answer(proc, q.loc)),
            r"\b(?:qua mang|online|truc tuyen|tren mang|dich vu cong|vneid|internet)\b",
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
    """The topic's phrase for a sentence, in the answer's language."""
    topic = TOPICS.get(key or "")
    return tr(topic.phrase) if topic else tr("thông tin")


def topic_button(
    key: str, proc: Procedure, title: str | None = None, **entities: str
) -> dict[str, str]:
    topic = TOPICS[key]
    return button(title or tr(topic.label), topic.intent, procedure=proc.code, **entities)


def topic_buttons(proc: Procedure, exclude: str | None = None) -> list[dict[str, str]]:
    """Follow-up questions about the same procedure."""
    return [topic_button(key, proc) for key in TOPICS if key != exclude]
