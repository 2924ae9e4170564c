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
    """The name of the commune `text` names, or None."""
    try:
        found = load_locality().find_commune(text)
    except Exception:
        log.exception("locality file unreadable")
        return None
    return found.name if found else None


def commune_by_index(value: str) -> tuple[bool, str | None]:
    """Callback data `*` or an index -> (valid, commune or None for every commune)."""
    if value == "*":
        return True, None
    communes = commune_names()
    if value.isdigit() and int(value) < len(communes):
        return True, communes[int(value)]
    return False, None


def commune_keyboard(t: Callable[[str], str], prefix: str) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(t("All communes"), callback_data=f"{prefix}:*")]]
    for index, name in enumerate(commune_names()):
        rows.append([InlineKeyboardButton(name, callback_data=f"{prefix}:{index}")])
    return InlineKeyboardMarkup(rows)
