"""The language of an answer and its labels.

Which language: :func:`trolydvc.message_language.answer_language` (the message's own language,
else the conversation's, else the user's setting sent by the Telegram bot as metadata, else
Vietnamese), decided once per action by :func:`speaks` and remembered in the ``language``
slot, so that follow-ups (a button, a bare procedure name) keep the frame.

The labels: the answers are written in Vietnamese; :func:`tr` returns a label in the answer's
language through the gettext domain ``answers`` (``locales/en/LC_MESSAGES/answers.po``, whose
message ids are the Vietnamese labels; the context and :func:`tr` live in trolydvc/i18n.py, so
that the dossier lookup and the statistics of trolydvc/tracking translate their labels too). Only the frame is translated: names
of papers, agencies, the official wording and the code stay as the catalog has them, and an
English answer says so (:data:`OFFICIAL_IN_VIETNAMESE`).

Extract new labels with (then translate them in locales/en/LC_MESSAGES/answers.po)::

    .venv/bin/pybabel extract -F babel.cfg --no-default-keywords -k tr -k ntr:1,2 -k N_ \
        --no-location --sort-output -o locales/answers.pot actions \
        trolydvc/tracking/fields.py trolydvc/tracking/lookup.py trolydvc/tracking/stats.py
    # (the sources: trolydvc.i18n.ANSWER_SOURCES)
    .venv/bin/pybabel update -i locales/answers.pot -d locales -D answers -l en
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from trolydvc.i18n import N_, answering_in, current, english, ntr, number_locale, tr
from trolydvc.message_language import answer_language

__all__ = [
    "N_",
    "OFFICIAL_IN_VIETNAMESE",
    "SLOT",
    "answering_in",
    "current",
    "english",
    "ntr",
    "number_locale",
    "speaks",
    "tr",
    "tracker_language",
]

SLOT = "language"


def tracker_language(tracker: Tracker) -> str:
    """The language to answer the latest message in (the rule of trolydvc.message_language)."""
    message = tracker.latest_message or {}
    metadata = message.get("metadata") or {}
    setting = metadata.get("language") if isinstance(metadata, dict) else None
    return answer_language(
        str(message.get("text") or ""),
        tracker.get_slot(SLOT),
        setting if isinstance(setting, str) else None,
    )


# An English answer about a procedure says that its content is the official Vietnamese text.
OFFICIAL_IN_VIETNAMESE = N_(
    "Nội dung chính thức (tên thủ tục, giấy tờ, cơ quan, nguyên văn) được giữ nguyên bằng "
    "tiếng Việt."
)

ActionT = TypeVar("ActionT")
Run = Callable[[ActionT, CollectingDispatcher, Tracker, dict[str, Any]], Awaitable[list[EventType]]]


def speaks(run: Run[ActionT]) -> Run[ActionT]:
    """Decorates an action's ``run``: its answers are written in :func:`tracker_language`, and
    the ``language`` slot remembers it for the next messages (unless the action restarts the
    conversation)."""

    @functools.wraps(run)
    async def wrapper(
        self: ActionT, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = tracker_language(tracker)
        with answering_in(language):
            events = list(await run(self, dispatcher, tracker, domain) or [])
        restarted = any(event.get("event") == "restart" for event in events)
        if tracker.get_slot(SLOT) != language and not restarted:  # a restart forgets it too
            events.append(SlotSet(SLOT, language))
        return events

    return wrapper
