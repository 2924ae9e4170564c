"""The communes of the locality file, as subscriptions and announcements offer them."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.common import log
from trolydvc.locality import load_locality


def commune_names() -> list[str]:
    """The communes in the locality file's order (their index is used in callback data)."""
    try:
        return load_locality().commune_names
    except Exception:
        log.exception("locality file unreadable")
        return []


def find_commune(text: str) -> str | None:
    """The name of the commune `text` names (today's, or one from before the 2025 merger that
    went whole into one commune of today), or None."""
    try:
        locality = load_locality()
    except Exception:
        log.exception("locality file unreadable")
        return None
    found = locality.find_commune(text)
    if found is not None:
        return found.name
    targets = {m.commune.name for m in locality.find_former(text)}
    return targets.pop() if len(targets) == 1 else None


def commune_by_index(value: str) -> tuple[bool, str | None]:
    """Callback data `*` or an index -> (valid, commune or None for every commune)."""
    if value == "*":
        return True, None
    communes = commune_names()
    if value.isdigit() and int(value) < len(communes):
        return True, communes[int(value)]
    return False, None


# A province has 50-170 communes since 2025 (Quảng Trị: 78): past this many, two per row, so the
# list is half as long on a phone; Telegram takes up to 100 buttons in one keyboard.
ONE_PER_ROW = 8


def commune_keyboard(t: Callable[[str], str], prefix: str) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(t("All communes"), callback_data=f"{prefix}:*")]]
    names = commune_names()
    width = 1 if len(names) <= ONE_PER_ROW else 2
    buttons = [
        InlineKeyboardButton(name, callback_data=f"{prefix}:{index}")
        for index, name in enumerate(names)
    ]
    rows += [buttons[i : i + width] for i in range(0, len(buttons), width)]
    return InlineKeyboardMarkup(rows)
