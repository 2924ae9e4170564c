"""The widget's endpoints: `POST /api/chat` in front of Rasa's REST channel, `POST /api/inbox`.

The browser never sees the REST token: this process sends it (trolydvc.rasa_client). The sender
id is ours: `web:<random>`, kept in the signed session cookie (and, for pages on other sites,
in a signed header: trolydvc.web.embed), so a browser can neither choose another user's
conversation nor pick ids at will; dropping the cookie gets a new one, which the per-address
limit (trolydvc.web.limiter) makes no cheaper than waiting.

Before Rasa, as the Telegram bot does: while the session has a case open with an official, what
the citizen types goes to that case (trolydvc.web.handoff); the buttons of following and of
ending a handoff are handled here (trolydvc.web.follow), never by the NLU. After Rasa: the
assistant's request to hand the conversation over (``{"channel_action": "handoff"}``) opens the
case. The inbox (trolydvc.web.inbox) brings what arrives later: answers, a followed dossier's news.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trolydvc.rasa_client import RasaClient, RasaRefused, RasaUnavailable
from trolydvc.web import embed, follow, handoff, inbox
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


class InboxRequest(BaseModel):
    after: int = Field(0, ge=0, le=2**62)  # the highest message id the widget has shown


def _error(status: int, text: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status, headers=headers or None)


def sender_of(request: Request) -> str:
    """This browser session's sender id, created on its first message."""
    sender = embed.sender_in(request) or request.session.get(SENDER_KEY)
    if not isinstance(sender, str) or not sender.startswith("web:"):
        sender = f"web:{secrets.token_urlsafe(12)}"
        request.session[SENDER_KEY] = sender
    return sender


def handoff_requests(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assistant's requests to hand the conversation over (custom payloads)."""
    return [
        m["custom"]
        for m in messages
        if isinstance(m.get("custom"), dict) and m["custom"].get("channel_action") == "handoff"
    ]


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
    response = await _answer(text, sender, request)
    response.headers[embed.HEADER] = embed.token_for(request, sender)
    return response


async def _answer(text: str, sender: str, request: Request) -> JSONResponse:
    limiter: ChatLimiter = request.app.state.chat_limiter
    address = request.client.host if request.client else "unknown"
    refusal = limiter.hit(sender, address)
    if refusal is not None:
        return _error(
            429,
            TOO_FAST.format(seconds=refusal.retry_after),
            **{"Retry-After": str(refusal.retry_after)},
        )
    command = text.split("{", 1)[0].rstrip()
    if command == handoff.END_PAYLOAD:
        shown = await run_in_threadpool(handoff.end, sender)
        return await _with_state(shown, sender)
    if command in follow.PAYLOADS:
        shown = await run_in_threadpool(follow.handle, sender, text)
        return await _with_state(shown, sender)
    recent: handoff.RecentTexts = request.app.state.recent_texts
    if not text.startswith("/"):  # typed text, not a button's payload (those reach Rasa)
        case = await run_in_threadpool(handoff.active_case, sender)
        if case is not None:
            await run_in_threadpool(handoff.relay, case, text)
            return JSONResponse(
                {"messages": [], "relayed": True, "handoff": True, "poll": inbox.HANDOFF_POLL}
            )
        recent.remember(sender, text)
    rasa: RasaClient = request.app.state.rasa
    try:
        messages = await rasa.send(sender, text, metadata={"channel": "web"})
    except RasaRefused as exc:
        log.error("Rasa refused the web app's request (%s): check RASA_REST_TOKEN", exc.status)
        return _error(503, UNAVAILABLE)
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable: %s", exc)
        return _error(503, UNAVAILABLE)
    shown = answer_of(messages)
    requests = handoff_requests(messages)
    if not requests:
        return JSONResponse({"messages": shown})
    fallback = requests[0].get("fallback")
    shown += await run_in_threadpool(
        handoff.start,
        sender,
        recent.take(sender),
        str(fallback) if fallback else None,
    )
    return await _with_state(shown, sender)


async def _with_state(shown: list[dict[str, Any]], sender: str) -> JSONResponse:
    """An answer that may change what the widget expects from its inbox (a case, follows)."""
    state = await run_in_threadpool(inbox.expected, sender)
    return JSONResponse({"messages": shown, "handoff": state.handoff, "poll": state.poll})


@router.post("/api/inbox")
async def inbox_endpoint(body: InboxRequest, request: Request) -> JSONResponse:
    """See trolydvc.web.inbox. A session that never wrote has nothing (and gets no sender id)."""
    sender = embed.sender_in(request) or request.session.get(SENDER_KEY)
    if not isinstance(sender, str) or not sender.startswith("web:"):
        return JSONResponse(inbox.Inbox([], False, 0).json())
    found = await run_in_threadpool(inbox.fetch, sender, body.after)
    return JSONResponse(found.json(), headers={"Cache-Control": "no-store"})
