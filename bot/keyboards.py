"""Inline keyboards: Rasa buttons, the main menu, and the payload store behind callback data.

Telegram limits callback data to 64 bytes. A Rasa payload that fits is sent as `p:<payload>`;
a longer one is kept in a bounded in-memory store and referred to as `k:<token>:<index>`, which
expires on restart (the user is then told the button is too old and asked to repeat).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import truncate

MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 60


class PayloadStore:
    """token -> list of (title, payload), least recently created dropped first."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()

    def put(self, buttons: list[tuple[str, str]]) -> str:
        token = secrets.token_urlsafe(6)
        self._items[token] = buttons
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return token

    def get(self, token: str, index: int) -> tuple[str, str] | None:
        buttons = self._items.get(token)
        if buttons is None or not 0 <= index < len(buttons):
            return None
        return buttons[index]


def encode_payload(
    store: PayloadStore,
    title: str,
    payload: str,
    group: list[tuple[str, str]],
    index: int,
    token: list[str],
) -> str:
    data = f"p:{payload}"
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    if not token:
        token.append(store.put(group))
    return f"k:{token[0]}:{index}"


def decode_payload(store: PayloadStore, data: str) -> tuple[str | None, str] | None:
    """(title or None, payload) for `p:`/`k:` callback data; None when stale or malformed."""
    if data.startswith("p:") and len(data) > 2:
        return None, data[2:]
    if data.startswith("k:"):
        try:
            _, token, index = data.split(":", 2)
            found = store.get(token, int(index))
        except ValueError:
            return None
        return found
    return None


def rasa_keyboard(
    store: PayloadStore, buttons: list[dict[str, Any]]
) -> InlineKeyboardMarkup | None:
    """Rasa buttons [{title, payload}] -> an inline keyboard (one button per row)."""
    group: list[tuple[str, str]] = []
    for button in buttons:
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if title and payload:
            group.append((title, payload))
    if not group:
        return None
    token: list[str] = []
    rows = []
    for index, (title, payload) in enumerate(group):
        data = encode_payload(store, title, payload, group, index, token)
        rows.append([InlineKeyboardButton(truncate(title, MAX_BUTTON_TITLE), callback_data=data)])
    return InlineKeyboardMarkup(rows)


def button_title(markup: Any, data: str) -> str | None:
    """The title of the button carrying `data` in a message's keyboard, if present."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
