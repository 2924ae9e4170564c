"""Actions answering questions about a procedure: documents, fee, time, place, steps, online.

One action per user goal; each resolves the procedure (entity → whole message → context),
answers from the catalog and remembers the procedure for follow-ups. Without a procedure it
asks which one, offering the best matches (or the most asked procedures) as buttons, and
remembers the question so the answer ("khai sinh", or a tapped button) completes it.
"""

from __future__ import annotations

import abc
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import pending, render
from actions.common import (
    button,
    entity_values,
    locality,
    procedure_buttons,
    short_name,
    user_text,
)
from actions.language import speaks, tr
from actions.resolve import Resolution, not_in_catalog, popular_procedures, resolve_procedure
from actions.topics import OVERVIEW, TOPICS, Question, phrase, topic_buttons
from trolydvc.catalog import Procedure
from trolydvc.textnorm import fold, nfc


def answer_topic(
    topic: str,
    proc: Procedure,
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    alternatives: list[Procedure] | None = None,
) -> list[EventType]:
    """Answer ``topic`` for ``proc``; ``alternatives`` (the procedure was a guess from the
    message) become buttons asking the same about them, so a wrong guess is one tap away."""
    entry = TOPICS.get(topic)
    if entry is None:
        topic = OVERVIEW
        answer = render.Answer(render.overview_answer(proc))
    else:
        case = next(iter(entity_values(tracker, "case")), "")  # a checklist button's case
        answer = entry.render(proc, Question(user_text(tracker), locality(), case))
    corrections = [
        button(
            tr("Không, ý tôi là: {name}").format(name=short_name(other)),
            TOPICS[topic].intent,
            procedure=other.code,
        )
        for other in (alternatives or [])
        if other.code != proc.code and topic in TOPICS
    ]
    dispatcher.utter_message(
        text=answer.text,
        buttons=answer.buttons + corrections + topic_buttons(proc, exclude=topic),
    )
    return [
        SlotSet("procedure", proc.code),
        SlotSet("pending", pending.encode(None)),
        SlotSet("topic", topic),
    ]


# "thế còn kết hôn thì sao?", "còn khai tử?", "vậy còn tạm trú": the same question about
# another procedure. Typed without diacritics only the unambiguous forms count ("con" alone
# is also "child").
_SAME_AGAIN = re.compile(
    r"(?:^(?:(?:thế|vậy)(?: thì)? )?còn\b)|(?:\bthì sao(?: (?:ạ|nhỉ|nhé|vậy))?$)"
)
_SAME_AGAIN_PLAIN = re.compile(
    r"(?:^(?:the|vay)(?: thi)? con\b)|(?:\bthi sao(?: (?:a|nhi|nhe|vay))?$)"
)


def last_topic(tracker: Tracker) -> str:
    """What the last answer about a procedure was about (the `topic` slot), else "overview"."""
    topic = tracker.get_slot("topic")
    return topic if topic in TOPICS else OVERVIEW


def asks_the_same_again(text: str) -> bool:
    """Does the message ask the last question again, about another procedure?"""
    lowered = nfc(text).lower().strip(" ?!.…")
    return bool(_SAME_AGAIN.search(lowered) or _SAME_AGAIN_PLAIN.search(fold(lowered)))


def ask_which_procedure(
    topic: str | None, resolution: Resolution, dispatcher: CollectingDispatcher
) -> list[EventType]:
    what = phrase(topic)
    if resolution.unknown:
        # the message names something no catalog procedure explains: say so, never guess
        text = not_in_catalog()
        if resolution.candidates:
            text += "\n" + tr("Nếu Bạn hỏi về một thủ tục dưới đây, Bạn chọn thủ tục đó.")
        dispatcher.utter_message(text=text, buttons=procedure_buttons(resolution.candidates[:5]))
        return [SlotSet("pending", pending.encode(pending.which_procedure(topic)))]
    if resolution.candidates:
        text = tr(
            "Bạn muốn hỏi {what} của thủ tục nào? Bạn chọn một thủ tục dưới đây hoặc gõ tên "
            "thủ tục."
        ).format(what=what)
        options = resolution.candidates
    else:
        text = tr(
            "Bạn muốn hỏi {what} của thủ tục nào? Bạn gõ tên thủ tục "
            '(ví dụ: "đăng ký khai sinh") hoặc chọn một thủ tục thường gặp dưới đây.'
        ).format(what=what)
        options = popular_procedures()
    dispatcher.utter_message(text=text, buttons=procedure_buttons(options[:5]))
    return [SlotSet("pending", pending.encode(pending.which_procedure(topic)))]


class ProcedureTopicAction(Action, abc.ABC):
    """Answers one topic of the registry (actions/topics.py); its name is the topic's action.
    Abstract (rasa_sdk registers only concrete actions): each subclass sets ``topic``."""

    @property
    @abc.abstractmethod
    def topic(self) -> str: ...

    def name(self) -> str:
        return TOPICS[self.topic].action

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        resolution = resolve_procedure(tracker)
        if resolution.procedure is None:
            return ask_which_procedure(self.topic, resolution, dispatcher)
        return answer_topic(
            self.topic, resolution.procedure, tracker, dispatcher, resolution.candidates
        )


class ActionRequiredDocuments(ProcedureTopicAction):
    topic = "documents"


class ActionFee(ProcedureTopicAction):
    topic = "fee"


class ActionProcessingTime(ProcedureTopicAction):
    topic = "time"


class ActionWhereToSubmit(ProcedureTopicAction):
    topic = "place"


class ActionProcedureSteps(ProcedureTopicAction):
    topic = "steps"


class ActionOnlineSubmission(ProcedureTopicAction):
    topic = "online"
