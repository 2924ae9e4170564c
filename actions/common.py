"""Shared helpers of the actions: catalog/locality access, buttons, safe message text."""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Tracker

from actions.language import tr
from trolydvc.catalog import Catalog, Procedure, load_catalog
from trolydvc.locality import Locality, load_locality
from trolydvc.textnorm import nfc

logger = logging.getLogger(__name__)

# Telegram caps a message at 4,096 characters; keep answers well below.
MAX_ANSWER_CHARS = 3500
MAX_BUTTON_TITLE = 60
# Messages longer than this are not searched as a whole (a pasted page is not a question).
MAX_QUERY_CHARS = 500

# Procedures citizens ask about most, offered when a question names none (filtered by the
# catalog at run time, so a code missing from a deployment's catalog is simply skipped).
POPULAR_CODES = ["1.001193", "1.000894", "1.004873", "2.000815", "1.004222", "1.001612"]


def catalog() -> Catalog:
    return load_catalog()


def locality() -> Locality:
    return load_locality()


def payload(intent: str, **entities: str) -> str:
    """A button payload Rasa parses without the NLU: /intent{"entity": "value"}."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


def button(title: str, intent: str, **entities: str) -> dict[str, str]:
    if len(title) > MAX_BUTTON_TITLE:
        title = title[: MAX_BUTTON_TITLE - 1].rstrip() + "…"
    return {"title": title, "payload": payload(intent, **entities)}


def procedure_buttons(procedures: list[Procedure], intent: str = "inform") -> list[dict[str, str]]:
    return [button(short_name(p), intent, procedure=p.code) for p in procedures]


def menu_buttons() -> list[dict[str, str]]:
    return [
        button(tr("Hỏi về một thủ tục"), "ask_required_documents"),
        button(tr("Tra cứu hồ sơ đã nộp"), "check_dossier_status"),
        button(tr("Số liệu giải quyết hồ sơ"), "ask_statistics"),
        button(tr("Gặp cán bộ"), "request_human"),
    ]


def short_name(proc: Procedure) -> str:
    """The name without the leading "Thủ tục" some entries carry."""
    name = proc.name.strip()
    if name.lower().startswith("thủ tục "):
        name = name[len("thủ tục ") :]
    return name[:1].upper() + name[1:]


def user_text(tracker: Tracker) -> str:
    """The latest user message, NFC, '' for button payloads (/intent{...}) and empty input."""
    text = tracker.latest_message.get("text") or ""
    text = nfc(str(text))
    if text.startswith("/"):
        return ""
    return text


def entity_values(tracker: Tracker, name: str) -> list[str]:
    """Values of entity `name` in the latest message, in order, without duplicates."""
    values: list[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") is not None:
            value = str(entity["value"]).strip()
            if value and value not in values:
                values.append(value)
    return values


def truncate(lines: list[str], limit: int = MAX_ANSWER_CHARS, more: str = "") -> str:
    """Join lines, dropping the tail (with `more` as the last line) if it is too long."""
    out: list[str] = []
    used = len(more) + 1
    for i, line in enumerate(lines):
        if used + len(line) + 1 > limit:
            out.append(more or "…")
            logger.debug("answer truncated at line %d of %d", i, len(lines))
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def latest_intent(tracker: Tracker) -> str:
    intent: dict[str, Any] = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or "")
