"""`POST /api/chat`: the widget's one endpoint, in front of Rasa's REST channel.

The browser never sees the REST token: this process sends it (trolydvc.rasa_client). The sender
id is ours: `web:<random>`, kept in the signed session cookie, so a browser can neither choose
another user's conversation nor pick ids at will; dropping the cookie gets a new one, which the
per-address limit (trolydvc.web.limiter) makes no cheaper than waiting.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from trolydvc.rasa_client import RasaClient, RasaRefused, RasaUnavailable
from trolydvc.web.limiter import ChatLimiter

# As Rasa's REST channel (trolydvc.rasa_channel): longer messages get no NLU there either.
MAX_MESSAGE_CHARS = 2000
SENDER_KEY = "chat_sender"

TOO_LONG = f"Tin nhắn của Bạn dài quá (tối đa {MAX_MESSAGE_CHARS:,} ký tự).".replace(",", ".")
EMPTY = "Bạn hãy nhập câu hỏi trước khi gửi."
TOO_FAST = "Bạn gửi nhanh quá. Bạn vui lòng đợi {seconds} giây rồi gửi lại."
UNAVAILABLE = "Trợ lý tạm thời chưa trả lời được. Bạn vui lòng thử lại sau ít phút."

log = logging.getLogger(__name__)
router = APIRouter()


class ChatRequest(BaseModel):
    message: str = Field(max_length=100_000)  # the 2,000 limit is checked below, in Vietnamese


def _error(status: int, text: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status, headers=headers or None)


def sender_of(request: Request) -> str:
    """This browser session's sender id, created on its first message."""
    sender = request.session.get(SENDER_KEY)
    if not isinstance(sender, str) or not sender.startswith("web:"):
        sender = f"web:{secrets.token_urlsafe(12)}"
        request.session[SENDER_KEY] = sender
    return sender


def answer_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's bot messages reduced to what the widget shows: text and buttons."""
    shown = []
    for message in messages:
        text = message.get("text")
        buttons = [
            {"title": str(b.get("title") or b.get("payload")), "payload": str(b["payload"])}
            for b in message.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")
        ]
        if text or buttons:
            shown.append({"text": str(text or ""), "buttons": buttons})
    return shown


@router.post("/api/chat")
async def chat(body: ChatRequest, request: Request) -> JSONResponse:
    text = body.message.strip()
    if not text:
        return _error(422, EMPTY)
    if len(text) > MAX_MESSAGE_CHARS:
        return _error(413, TOO_LONG)
    sender = sender_of(request)
    limiter: ChatLimiter = request.app.state.chat_limiter
    address = request.client.host if request.client else "unknown"
    refusal = limiter.hit(sender, address)
    if refusal is not None:
        return _error(
            429,
            TOO_FAST.format(seconds=refusal.retry_after),
            **{"Retry-After": str(refusal.retry_after)},
        )
    rasa: RasaClient = request.app.state.rasa
    try:
        messages = await rasa.send(sender, text, metadata={"channel": "web"})
    except RasaRefused as exc:
        log.error("Rasa refused the web app's request (%s): check RASA_REST_TOKEN", exc.status)
        return _error(503, UNAVAILABLE)
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable: %s", exc)
        return _error(503, UNAVAILABLE)
    return JSONResponse({"messages": answer_of(messages)})
