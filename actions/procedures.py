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

from actions import render
from actions.common import (
    TOPIC_PHRASES,
    locality,
    procedure_buttons,
    topic_buttons,
    user_text,
)
from actions.resolve import Resolution, not_in_catalog, popular_procedures, resolve_procedure
from trolydvc.catalog import Procedure
from trolydvc.textnorm import fold, nfc

PENDING_PREFIX = "procedure:"


def answer_topic(
    topic: str, proc: Procedure, tracker: Tracker, dispatcher: CollectingDispatcher
) -> list[EventType]:
    if topic == "documents":
        text = render.documents_answer(proc)
    elif topic == "fee":
        text = render.fee_answer(proc)
    elif topic == "time":
        text = render.time_answer(proc)
    elif topic == "place":
        text = render.place_answer(proc, locality(), user_text(tracker))
    elif topic == "steps":
        text = render.steps_answer(proc)
    elif topic == "online":
        text = render.online_answer(proc, locality())
    else:
        text = render.overview_answer(proc)
    dispatcher.utter_message(text=text, buttons=topic_buttons(proc, exclude=topic))
    return [SlotSet("procedure", proc.code), SlotSet("pending", None), SlotSet("topic", topic)]


# "thế còn kết hôn thì sao?", "còn khai tử?", "vậy còn tạm trú": the same question about
# another procedure. Typed without diacritics only the unambiguous forms count ("con" alone
# is also "child").
_SAME_AGAIN = re.compile(
    r"(?:^(?:(?:thế|vậy)(?: thì)? )?còn\b)|(?:\bthì sao(?: (?:ạ|nhỉ|nhé|vậy))?$)"
)
_SAME_AGAIN_PLAIN = re.compile(
    r"(?:^(?:the|vay)(?: thi)? con\b)|(?:\bthi sao(?: (?:a|nhi|nhe|vay))?$)"
)


TOPICS = ("documents", "fee", "time", "place", "steps", "online", "overview")


def last_topic(tracker: Tracker) -> str:
    """What the last answer about a procedure was about (the `topic` slot), else "overview"."""
    topic = tracker.get_slot("topic")
    return topic if topic in TOPICS else "overview"


def asks_the_same_again(text: str) -> bool:
    """Does the message ask the last question again, about another procedure?"""
    lowered = nfc(text).lower().strip(" ?!.…")
    return bool(_SAME_AGAIN.search(lowered) or _SAME_AGAIN_PLAIN.search(fold(lowered)))


def ask_which_procedure(
    topic: str | None, resolution: Resolution, dispatcher: CollectingDispatcher
) -> list[EventType]:
    what = TOPIC_PHRASES.get(topic or "", "thông tin")
    if resolution.unknown:
        # the message names something no catalog procedure explains: say so, never guess
        text = not_in_catalog()
        if resolution.candidates:
            text += "\nNếu Bạn hỏi về một thủ tục dưới đây, Bạn chọn thủ tục đó."
        dispatcher.utter_message(text=text, buttons=procedure_buttons(resolution.candidates[:5]))
        return [SlotSet("pending", PENDING_PREFIX + (topic or ""))]
    if resolution.candidates:
        text = f"Bạn muốn hỏi {what} của thủ tục nào? Bạn chọn một thủ tục dưới đây hoặc gõ tên thủ tục."
        options = resolution.candidates
    else:
        text = (
            f"Bạn muốn hỏi {what} của thủ tục nào? Bạn gõ tên thủ tục "
            '(ví dụ: "đăng ký khai sinh") hoặc chọn một thủ tục thường gặp dưới đây.'
        )
        options = popular_procedures()
    dispatcher.utter_message(text=text, buttons=procedure_buttons(options[:5]))
    return [SlotSet("pending", PENDING_PREFIX + (topic or ""))]


def pending_topic(tracker: Tracker) -> str | None:
    """The topic of the question waiting for a procedure, if the bot asked "which one?"."""
    pending = tracker.get_slot("pending") or ""
    if isinstance(pending, str) and pending.startswith(PENDING_PREFIX):
        return pending[len(PENDING_PREFIX) :] or None
    return None


class ProcedureTopicAction(Action, abc.ABC):
    topic = ""

    @abc.abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        resolution = resolve_procedure(tracker)
        if resolution.procedure is None:
            return ask_which_procedure(self.topic, resolution, dispatcher)
        return answer_topic(self.topic, resolution.procedure, tracker, dispatcher)


class ActionRequiredDocuments(ProcedureTopicAction):
    topic = "documents"

    def name(self) -> str:
        return "action_required_documents"


class ActionFee(ProcedureTopicAction):
    topic = "fee"

    def name(self) -> str:
        return "action_fee"


class ActionProcessingTime(ProcedureTopicAction):
    topic = "time"

    def name(self) -> str:
        return "action_processing_time"


class ActionWhereToSubmit(ProcedureTopicAction):
    topic = "place"

    def name(self) -> str:
        return "action_where_to_submit"


class ActionProcedureSteps(ProcedureTopicAction):
    topic = "steps"

    def name(self) -> str:
        return "action_procedure_steps"


class ActionOnlineSubmission(ProcedureTopicAction):
    topic = "online"

    def name(self) -> str:
        return "action_online_submission"
