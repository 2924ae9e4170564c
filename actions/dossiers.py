"""Dossier status lookup and public statistics, answered from the tracking DB."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import pending
from actions.common import entity_values, locality, user_text
from actions.language import english, speaks, tr
from trolydvc.textnorm import find_dossier_codes
from trolydvc.tracking.follow import FOLLOW_PAYLOAD, code_payload, record_offer
from trolydvc.tracking.lookup import EXPECTED_FORMAT, normalize_code
from trolydvc.tracking.privacy import normalize_phone
from trolydvc.tracking.stats import Period, find_period, public_summary

logger = logging.getLogger(__name__)

_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def dossier_code_in(tracker: Tracker) -> str | None:
    """The dossier code of the latest message: the entity, else the code pattern in the text."""
    for value in entity_values(tracker, "dossier_code"):
        return normalize_code(value) or value.upper()
    return normalize_code(user_text(tracker))


def phone_last4_in(text: str) -> str | None:
    """Four digits given on their own ("1234", "số cuối 1234"), not part of a longer number."""
    without_codes = text
    for start, end, _ in reversed(find_dossier_codes(text)):
        without_codes = without_codes[:start] + " " + without_codes[end:]
    found = _LAST4.findall(without_codes)
    return found[0] if len(found) == 1 else None


async def lookup(
    code: str, tracker: Tracker, dispatcher: CollectingDispatcher, phone_last4: str | None = None
) -> list[EventType]:
    from trolydvc.tracking.lookup import lookup as lookup_dossier

    try:
        # The database call runs in a worker thread, off the action server's event loop.
        result = await asyncio.to_thread(
            lookup_dossier, code, sender_id=tracker.sender_id, phone_last4=phone_last4
        )
    except Exception:  # the DB is down or not migrated: say so, never crash the conversation
        logger.exception("dossier lookup failed")
        dispatcher.utter_message(
            text=tr("Xin lỗi, hệ thống tra cứu hồ sơ đang gặp sự cố. Bạn vui lòng thử lại sau.")
        )
        return []
    # A verified answer names the applicant: flagged so that the cluster's tracker store keeps it
    # out of the stored conversation (trolydvc/rasa_stores.py).
    buttons = await follow_buttons(result.kind, result.code, tracker.sender_id)
    dispatcher.utter_message(
        text=result.text, buttons=buttons or None, private=result.kind == "verified"
    )
    # After a basic answer the user may send the last four digits of the registered phone.
    waiting = pending.PHONE_LAST4 if result.kind in ("found", "wrong_phone") else None
    if result.kind == "malformed":
        waiting = pending.DOSSIER_CODE
    return [SlotSet("dossier_code", result.code), SlotSet("pending", pending.encode(waiting))]


# Conversations whose channel stores a follower's consent: the Telegram bot ("tg:<chat>",
# bot.follow) and the web app's widget ("web:<random>", trolydvc.web.follow).
FOLLOWING_CHANNELS = ("tg:", "web:")


async def follow_buttons(
    kind: str, code: str | None, sender_id: str | None
) -> list[dict[str, str]]:
    """After a verified lookup in Telegram or the widget: the "follow this dossier" button (the
    channel handles its payload and stores the consent; this offer is what lets that
    conversation follow)."""
    if kind != "verified" or not code or not (sender_id or "").startswith(FOLLOWING_CHANNELS):
        return []
    try:
        await asyncio.to_thread(record_offer, str(sender_id), code)
    except Exception:  # following is an extra: the lookup's answer still goes out
        logger.exception("could not record the follow offer")
        return []
    return [{"title": tr("Theo dõi hồ sơ này"), "payload": code_payload(FOLLOW_PAYLOAD, code)}]


class ActionCheckDossierStatus(Action):
    def name(self) -> str:
        return "action_check_dossier_status"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await handle_pending_dossier(tracker, dispatcher)
        if events is not None:
            return events
        dispatcher.utter_message(
            text=tr(
                "Bạn vui lòng gửi mã hồ sơ cần tra cứu. Mã hồ sơ in trên giấy tiếp nhận, có dạng "
                "{example}."
            ).format(example=EXPECTED_FORMAT)
        )
        return [SlotSet("pending", pending.encode(pending.DOSSIER_CODE))]


async def handle_pending_dossier(
    tracker: Tracker, dispatcher: CollectingDispatcher
) -> list[EventType] | None:
    """Look up a dossier code in the message, or complete the lookup the bot is waiting on
    (the four phone digits); None when the message is about neither."""
    waiting = pending.pending_of(tracker)
    text = user_text(tracker)
    code = dossier_code_in(tracker)
    if code:  # a message carrying a dossier code is a lookup, whatever the NLU made of it
        return await lookup(code, tracker, dispatcher, phone_last4_in(text))
    previous = tracker.get_slot("dossier_code")
    if waiting != pending.PHONE_LAST4 or not previous:
        return None
    if whole := whole_phone_in(text):  # the whole number, when only its end was asked for
        dispatcher.utter_message(
            text=tr(
                "Tôi chỉ dùng 4 số cuối của số điện thoại Bạn gửi. Lần sau Bạn chỉ cần gửi 4 số "
                "cuối, không cần gửi cả số."
            )
        )
        return await lookup(str(previous), tracker, dispatcher, whole[-4:])
    if last4 := phone_last4_in(text):
        return await lookup(str(previous), tracker, dispatcher, last4)
    return None


_PHONE = re.compile(r"(?<![\d.])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?!\d)")


def whole_phone_in(text: str) -> str | None:
    """The digits of one Vietnamese phone number in the text ("0912 345 678"), else None."""
    found = [d for m in _PHONE.finditer(text) if (d := normalize_phone(m.group(0)))]
    return found[0] if len(found) == 1 else None


def period_in(text: str, today: date | None = None) -> Period | None:
    """The reporting period a question names ("tháng 10", "quý 3/2026", "tháng trước"), else None
    (year to date); a period that does not exist ("tháng 13") is None too."""
    try:
        return find_period(text, today)
    except ValueError:
        return None


class ActionStatistics(Action):
    def name(self) -> str:
        return "action_statistics"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = user_text(tracker)
        try:
            # A year's statistics take up to 0.4 s: off the event loop, in a worker thread.
            text = await asyncio.to_thread(public_summary, period_in(question))
        except Exception:
            logger.exception("statistics failed")
            dispatcher.utter_message(
                text=tr("Xin lỗi, hệ thống số liệu đang gặp sự cố. Bạn vui lòng thử lại sau.")
            )
            return []
        commune = locality().find_commune(question) if question else None
        if commune is not None:  # the public answer has no per-agency figures
            name = commune.name
            if not english():  # mid-sentence in Vietnamese: "Xã Hòa An" -> "xã Hòa An"
                name = name[:1].lower() + name[1:]
            note = tr("(Đây là số liệu chung của tất cả các cơ quan, chưa tách riêng {name}.)")
            text += "\n" + note.format(name=name)
        dispatcher.utter_message(text=text)
        return []
