"""Run the actions as the action server does: a real rasa_sdk Tracker, the real catalog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

SLOTS = ("procedure", "dossier_code", "pending", "language")
# The documented sample locality (four communes with contact details): these tests check how
# answers use every field. The shipped locality.yml (a real province, contact details still to
# be filled) is tested in test_places.py.
EXAMPLE_LOCALITY = Path(__file__).resolve().parent.parent / "fixtures" / "locality_example.yml"


@pytest.fixture(autouse=True)
def example_locality(monkeypatch: pytest.MonkeyPatch) -> Path:
    from trolydvc import config

    monkeypatch.setattr(config, "LOCALITY_FILE", EXAMPLE_LOCALITY)
    return EXAMPLE_LOCALITY


@dataclass
class Turn:
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]

    def slot(self, name: str) -> Any:
        """The value this turn set for slot `name` (KeyError when it set none)."""
        for event in reversed(self.events):
            if event.get("event") == "slot" and event.get("name") == name:
                return event.get("value")
        raise KeyError(name)


def make_tracker(
    text: str,
    intent: str,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender_id: str = "test-user",
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    values = dict.fromkeys(SLOTS)
    values.update(slots or {})
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
    }
    if metadata is not None:  # as the Telegram bot sends it: {"channel", "language"}
        latest["metadata"] = metadata
    return Tracker(
        sender_id=sender_id,
        slots=values,
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


RunAction = Callable[..., Awaitable[Turn]]


@pytest.fixture
def run_action() -> RunAction:
    async def run(
        action: Action,
        text: str,
        intent: str = "inform",
        entities: list[dict[str, Any]] | None = None,
        slots: dict[str, Any] | None = None,
        sender_id: str = "test-user",
        metadata: dict[str, Any] | None = None,
    ) -> Turn:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(text, intent, entities, slots, sender_id, metadata)
        events = await action.run(dispatcher, tracker, {})
        return Turn(dispatcher.messages, [dict(e) for e in events])

    return run
