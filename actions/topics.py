"""The six answer topics of a procedure question, in one registry.

Each topic has its key (the `topic` slot's value), the intent that asks it, the action that
answers it, a button label, a phrase for sentences ("Bạn muốn hỏi {lệ phí} của thủ tục nào?")
and its renderer. The actions, their buttons and the tests read this registry; domain.yml and
the rules name the same intents and actions (tests/actions/test_topics.py checks they agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from actions import render
from actions.common import button
from actions.render import Answer
from trolydvc.catalog import Procedure
from trolydvc.locality import Locality


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


def _plain(fn: Callable[[Procedure], str]) -> Renderer:
    return lambda proc, question: Answer(fn(proc))


TOPICS: dict[str, Topic] = {
    t.key: t
    for t in (
        Topic(
            "documents",
            "ask_required_documents",
            "action_required_documents",
            "Hồ sơ cần chuẩn bị",
            "hồ sơ cần chuẩn bị",
            lambda proc, q: render.documents_reply(proc, q.case),
        ),
        Topic("fee", "ask_fee", "action_fee", "Lệ phí", "lệ phí", _plain(render.fee_answer)),
        Topic(
            "time",
            "ask_processing_time",
            "action_processing_time",
            "Thời hạn giải quyết",
            "thời hạn giải quyết",
            _plain(render.time_answer),
        ),
        Topic(
            "place",
            "ask_where_to_submit",
            "action_where_to_submit",
            "Nơi nộp",
            "nơi nộp hồ sơ",
            lambda proc, q: Answer(render.place_answer(proc, q.loc, q.text)),
        ),
        Topic(
            "steps",
            "ask_procedure_steps",
            "action_procedure_steps",
            "Các bước thực hiện",
            "các bước thực hiện",
            _plain(render.steps_answer),
        ),
        Topic(
            "online",
            "ask_online_submission",
            "action_online_submission",
            "Nộp trực tuyến",
            "cách nộp trực tuyến",
            lambda proc, q: Answer(render.online_answer(proc, q.loc)),
        ),
    )
}
OVERVIEW = "overview"  # the `topic` of an answer to a procedure named alone
BY_INTENT: dict[str, Topic] = {t.intent: t for t in TOPICS.values()}


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
