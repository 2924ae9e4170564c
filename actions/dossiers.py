"""Dossier status lookup and public statistics, answered from the tracking DB."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import entity_values, user_text
from trolydvc.textnorm import find_dossier_codes

logger = logging.getLogger(__name__)

CODE_EXAMPLE = "000.00.20.H50-221107-0001"
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def dossier_code_in(tracker: Tracker) -> str | None:
    """The dossier code of the latest message: the entity, else the code pattern in the text."""
    for value in entity_values(tracker, "dossier_code"):
        return value.upper()
    found = find_dossier_codes(user_text(tracker))
    return found[0][2] if found else None


def phone_last4_in(text: str) -> str | None:
    """Four digits given on their own ("1234", "số cuối 1234"), not part of a longer number."""
    without_codes = text
    for start, end, _ in reversed(find_dossier_codes(text)):
        without_codes = without_codes[:start] + " " + without_codes[end:]
    found = _LAST4.findall(without_codes)
    return found[0] if len(found) == 1 else None


def lookup(
    code: str, tracker: Tracker, dispatcher: CollectingDispatcher, phone_last4: str | None = None
) -> list[EventType]:
    try:
        from trolydvc.tracking.lookup import describe_dossier
    except ImportError:
        dispatcher.utter_message(
            text="Xin lỗi, chức năng tra cứu hồ sơ chưa sẵn sàng. Bạn vui lòng thử lại sau."
        )
        return []
    try:
        text = describe_dossier(code, sender_id=tracker.sender_id, phone_last4=phone_last4)
    except Exception:  # the DB is down or not migrated: say so, never crash the conversation
        logger.exception("dossier lookup failed")
        dispatcher.utter_message(
            text="Xin lỗi, hệ thống tra cứu hồ sơ đang gặp sự cố. Bạn vui lòng thử lại sau."
        )
        return []
    dispatcher.utter_message(text=text)
    # After an unverified answer the user may send the last four digits of the phone.
    waiting = None if phone_last4 else "phone_last4"
    return [SlotSet("dossier_code", code), SlotSet("pending", waiting)]


class ActionCheckDossierStatus(Action):
    def name(self) -> str:
        return "action_check_dossier_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        code = dossier_code_in(tracker)
        if code:
            return lookup(code, tracker, dispatcher, phone_last4_in(user_text(tracker)))
        last4 = phone_last4_in(user_text(tracker))
        previous = tracker.get_slot("dossier_code")
        if previous and last4 and tracker.get_slot("pending") == "phone_last4":
            return lookup(str(previous), tracker, dispatcher, last4)
        dispatcher.utter_message(
            text=(
                "Bạn vui lòng gửi mã hồ sơ cần tra cứu. Mã hồ sơ in trên giấy tiếp nhận, "
                f"có dạng {CODE_EXAMPLE}."
            )
        )
        return [SlotSet("pending", "dossier_code")]


def handle_pending_dossier(
    tracker: Tracker, dispatcher: CollectingDispatcher
) -> list[EventType] | None:
    """Complete a dossier lookup the bot is waiting on; None when there is none to complete."""
    pending = tracker.get_slot("pending")
    text = user_text(tracker)
    code = dossier_code_in(tracker)
    if code and pending in ("dossier_code", "phone_last4"):
        return lookup(code, tracker, dispatcher, phone_last4_in(text))
    if pending == "phone_last4" and (last4 := phone_last4_in(text)):
        previous = tracker.get_slot("dossier_code")
        if previous:
            return lookup(str(previous), tracker, dispatcher, last4)
    return None


class ActionStatistics(Action):
    def name(self) -> str:
        return "action_statistics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            from trolydvc.tracking.stats import public_summary
        except ImportError:
            dispatcher.utter_message(
                text="Xin lỗi, số liệu giải quyết hồ sơ chưa sẵn sàng. Bạn vui lòng thử lại sau."
            )
            return []
        try:
            text = public_summary()
        except Exception:
            logger.exception("statistics failed")
            dispatcher.utter_message(
                text="Xin lỗi, hệ thống số liệu đang gặp sự cố. Bạn vui lòng thử lại sau."
            )
            return []
        dispatcher.utter_message(text=text)
        return []
