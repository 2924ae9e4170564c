"""Turning text and Rasa's answers into Telegram messages: HTML escaping, splitting, keyboards."""

from __future__ import annotations

import html
import re

# Telegram's limit is 4,096 characters after entity parsing; stay a little under it.
MAX_MESSAGE_CHARS = 4000
MAX_CAPTION_CHARS = 1000

_TAG_OR_ENTITY = re.compile(r"<[^>]*>|&[#a-zA-Z0-9]+;")


def escape(text: str) -> str:
    """Escape user or engine text for parse_mode=HTML."""
    return html.escape(text, quote=False)


def _safe_cut(chunk: str, limit: int) -> int:
    """A cut position <= limit that does not fall inside a tag or an entity, preferring spaces."""
    cut = chunk.rfind(" ", 0, limit + 1)
    if cut <= limit // 2:
        cut = limit
    for match in _TAG_OR_ENTITY.finditer(chunk, 0, min(len(chunk), limit + 40)):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    return max(cut, 1)


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split `text` into parts of at most `limit` characters, at line boundaries when possible.

    A single line longer than the limit is cut at a space (or, failing that, anywhere that is not
    inside an HTML tag or entity). Tags are expected not to span lines.
    """
    text = text.strip("\n")
    if not text:
        return []
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = _safe_cut(line, limit)
            parts.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [part for part in parts if part.strip()]


def truncate(text: str, limit: int) -> str:
    """Shorten plain text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
