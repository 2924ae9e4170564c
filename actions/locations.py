"""action_tell_location: the citizen says where they live ("tôi ở xã Gio Mỹ, huyện Gio Linh cũ").

With a procedure under discussion the answer is where to submit it for that commune; without
one, which commune serves them now (after the 2025 merger) and its one-stop shop.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import places, render
from actions.common import catalog, locality, user_text
from actions.language import speaks, tr
from actions.topics import topic_buttons


class ActionTellLocation(Action):
    def name(self) -> str:
        return "action_tell_location"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        loc = locality()
        text = user_text(tracker)
        code = tracker.get_slot("procedure")
        proc = catalog().get(code) if code else None
        if proc is not None and places.place_in(loc, text) is not None:
            dispatcher.utter_message(
                text=render.place_answer(proc, loc, text),
                buttons=topic_buttons(proc, exclude="place"),
            )
            return [SlotSet("topic", "place")]
        answer = places.where_now(loc, text)
        if answer is None:
            answer = tr(
                "Tôi chưa nhận ra xã/phường này trong danh sách của {province}. "
                "Bạn gõ lại tên xã/phường (tên hiện nay hoặc tên cũ trước năm 2025) giúp tôi."
            ).format(province=loc.province.name)
        dispatcher.utter_message(text=answer)
        return []
