"""A local fake of the Telegram Bot API (aiohttp on 127.0.0.1), for the bot's tests and bench.

It speaks enough of the real protocol for python-telegram-bot to run unmodified against it
(`ApplicationBuilder().base_url(server.base_url)`): getMe, getUpdates long polling over injected
updates, sendMessage (with HTML validation and the 4,096-character limit), editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendChatAction, sendPhoto, forwardMessage,
copyMessage, setMyCommands, webhook calls, ... Failures are injected on demand: 429 with
`retry_after`, 403 Forbidden for chats that "blocked the bot", 502 for transient errors, and an
optional sliding-window rate limit (e.g. 30 messages in any one second) answered with 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7_000_000_001
SENDING_METHODS = {"sendMessage", "sendPhoto", "forwardMessage", "copyMessage", "sendDocument"}
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
_ALLOWED_TAGS |= {"tg-spoiler", "blockquote", "span", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)([^>]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def html_to_text(source: str) -> str:
    """Validate Telegram-style HTML as the real server does and return the visible text."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TAG.finditer(source):
        out.append(source[pos : match.start()])
        pos = match.end()
        closing, name = match.group(1), match.group(2).lower()
        if name not in _ALLOWED_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{name}"'
            )
        if closing:
            if not stack or stack[-1] != name:
                raise ApiError(400, f"Bad Request: can't parse entities: unmatched end tag {name}")
            stack.pop()
        else:
            stack.append(name)
    out.append(source[pos:])
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")
    text = "".join(out)
    if "<" in text or ">" in text:
        raise ApiError(400, "Bad Request: can't parse entities: unexpected '<' or '>'")
    for amp in re.finditer("&", text):
        if not _ENTITY.match(text, amp.start()):
            raise ApiError(400, "Bad Request: can't parse entities: unescaped '&'")
    import html

    return html.unescape(text)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    host: str = "127.0.0.1"
    port: int = 0
    # Sliding-window cap on SENDING_METHODS (messages per `rate_window` seconds); None: unlimited.
    rate_limit: int | None = None
    rate_window: float = 1.0
    # Minimal spacing of messages to one chat (seconds); None: not enforced.
    per_chat_interval: float | None = None
    retry_after: int = 1
    latency: float = 0.0
    max_poll_timeout: float = 1.0
    keep_calls: bool = True
    keep_messages: bool = True
    record_arrivals: bool = False  # first accepted arrival per chat (benchmarks: delivery jitter)

    calls: list[Call] = field(default_factory=list)
    method_counts: Counter[str] = field(default_factory=Counter)
    blocked: set[int] = field(default_factory=set)
    inject_429: dict[int, int] = field(default_factory=dict)  # chat id -> how many 429s left
    inject_5xx: dict[int, int] = field(default_factory=dict)  # chat id -> how many 502s left
    fail_next_sends_429: int = 0  # the next N sends (any chat) get a 429
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._new_update = asyncio.Condition()
        self._changed = asyncio.Event()
        self._send_times: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.delivered: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.delivered_count: Counter[int] = Counter()
        self.rate_limited = 0
        self.max_in_window = 0
        self.arrivals: dict[int, float] = {}
        self._delivery_times: list[float] = []
        self._runner: web.AppRunner | None = None
        self._file_ids = itertools.count(1)

    # ---- server lifecycle -------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/_stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # ---- injecting updates ------------------------------------------------------------
    @staticmethod
    def user(
        user_id: int, language_code: str | None = "vi", first_name: str = "Dân"
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            data["language_code"] = language_code
        return data

    @staticmethod
    def chat(chat_id: int, chat_type: str = "private", title: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            data["first_name"] = "Dân"
        else:
            data["title"] = title or "Nhóm"
        return data

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update

    async def _notify(self) -> None:
        async with self._new_update:
            self._new_update.notify_all()

    def new_message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "vi",
        reply_to: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        edited: bool = False,
    ) -> dict[str, Any]:
        """Inject a message from a user (text, or any `extra` fields: photo, sticker, voice...)."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id if user_id is not None else chat_id, language_code),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if extra:
            message.update(extra)
        if edited:
            message["edit_date"] = int(time.time())
        self.messages[(chat_id, message["message_id"])] = message
        self._push({"edited_message" if edited else "message": message})
        return message

    def press(
        self, message: dict[str, Any], data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """Inject a press of an inline button carrying `data` on a message the bot sent."""
        chat_id = message["chat"]["id"]
        query = {
            "id": str(next(self._update_ids) * 1000 + 7),
            "from": self.user(user_id if user_id is not None else chat_id),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        return self._push({"callback_query": query})

    # ---- inspecting what the bot did --------------------------------------------------
    def sent(self, chat_id: int, method: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot delivered to `chat_id`, oldest first (as stored, edits applied)."""
        found = [self.messages[(chat_id, m["message_id"])] for m in self.delivered[chat_id]]
        if method:
            found = [m for m in found if m.get("_method") == method]
        return found

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> Any:
        """Wait until `predicate()` returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    async def wait_sent(
        self, chat_id: int, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot delivered at least `count` messages to `chat_id`; return them all."""
        await self.wait_for(lambda: len(self.delivered[chat_id]) >= count, timeout)
        return self.sent(chat_id)

    def reset_chat(self, chat_id: int) -> None:
        self.delivered.pop(chat_id, None)

    def stats(self) -> dict[str, Any]:
        """Totals for benchmarks: messages delivered, chats that got more than one, 429s."""
        times = self._delivery_times
        return {
            "delivered": sum(self.delivered_count.values()),
            "chats": len(self.delivered_count),
            "duplicates": sum(1 for n in self.delivered_count.values() if n > 1),
            "rate_limited": self.rate_limited,
            "first_at": times[0] if times else None,
            "last_at": times[-1] if times else None,
            "max_in_window": self.max_in_window,
            "arrivals": self.arrivals if self.record_arrivals else {},
        }

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    # ---- the API --------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            post = await request.post()
            for key, value in post.items():
                params[key] = value if isinstance(value, str) else {"file": value.filename}
        elif request.can_read_body:
            if request.content_type == "application/json":
                params = await request.json()
            else:
                params = dict(await request.post())
        params = {k: _decode(v) for k, v in params.items()}
        call = Call(method, params, arrived)
        if self.keep_calls or method != "getUpdates":
            self.calls.append(call)
        self.method_counts[method] += 1
        try:
            handler = getattr(self, f"api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in SENDING_METHODS:
                self._check_limits(int(params["chat_id"]), arrived)
            result = await handler(params)
            if self.latency and method != "getUpdates":
                await asyncio.sleep(self.latency)  # the answer's way back
        except ApiError as exc:
            call.status = exc.code
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.parameters:
                body["parameters"] = exc.parameters
            self._changed.set()
            return web.json_response(body, status=exc.code)
        self._changed.set()
        return web.json_response({"ok": True, "result": result})

    def _too_many(self) -> ApiError:
        self.rate_limited += 1
        return ApiError(
            429,
            f"Too Many Requests: retry after {self.retry_after}",
            {"retry_after": self.retry_after},
        )

    def _check_limits(self, chat_id: int, now: float) -> None:
        if self.fail_next_sends_429 > 0:
            self.fail_next_sends_429 -= 1
            raise self._too_many()
        if self.inject_429.get(chat_id, 0) > 0:
            self.inject_429[chat_id] -= 1
            raise self._too_many()
        if self.rate_limit is not None:
            while self._send_times and now - self._send_times[0] >= self.rate_window:
                self._send_times.popleft()
            if len(self._send_times) >= self.rate_limit:
                raise self._too_many()
        if self.per_chat_interval is not None:
            last = self._chat_last.get(chat_id)
            if last is not None and now - last < self.per_chat_interval:
                raise self._too_many()
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.inject_5xx.get(chat_id, 0) > 0:
            self.inject_5xx[chat_id] -= 1
            raise ApiError(502, "Bad Gateway")
        if self.rate_limit is not None:
            self._send_times.append(now)
            self.max_in_window = max(self.max_in_window, len(self._send_times))
        if self.record_arrivals:
            self.arrivals.setdefault(chat_id, now)
        if self.per_chat_interval is not None:
            self._chat_last[chat_id] = now

    def _bot_message(self, chat_id: int, method: str, **fields: Any) -> dict[str, Any]:
        chat_type = "private" if chat_id > 0 else "supergroup"
        message = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Trợ lý DVC",
                "username": "trolydvc_bot",
            },
            **{k: v for k, v in fields.items() if v is not None},
        }
        stored = dict(message, _method=method)
        self.messages[(chat_id, message["message_id"])] = stored
        if self.keep_messages:
            self.delivered[chat_id].append(stored)
        else:
            del self.messages[(chat_id, message["message_id"])]
        self.delivered_count[chat_id] += 1
        self._delivery_times.append(time.monotonic())
        if len(self._delivery_times) > 2:
            del self._delivery_times[1:-1]  # keep only the first and the last
        return message

    @staticmethod
    def _text(params: dict[str, Any], key: str = "text", limit: int = 4096) -> tuple[str, str]:
        raw = str(params.get(key, ""))
        text = html_to_text(raw) if params.get("parse_mode") == "HTML" else raw
        if key == "text" and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return raw, text

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Trợ lý DVC",
            "username": "trolydvc_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), self.max_poll_timeout)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            async with self._new_update:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), timeout)
        return self._updates[:limit]

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        raw, text = self._text(params)
        return self._bot_message(
            chat_id, "sendMessage", text=text, html=raw, reply_markup=params.get("reply_markup")
        )

    async def api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        raw, caption = self._text(params, "caption", 1024) if params.get("caption") else ("", None)
        file_id = f"photo-{next(self._file_ids)}"
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600}]
        return self._bot_message(
            chat_id,
            "sendPhoto",
            photo=photo,
            caption=caption,
            html=raw or None,
            upload=params.get("photo"),
        )

    async def api_forwardMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, from_chat = int(params["chat_id"]), int(params["from_chat_id"])
        original = self.messages.get((from_chat, int(params["message_id"])))
        if original is None:
            raise ApiError(400, "Bad Request: message to forward not found")
        body = {
            k: v
            for k, v in original.items()
            if k in ("text", "photo", "caption", "sticker", "voice")
        }
        origin = {"type": "user", "date": original["date"], "sender_user": original.get("from")}
        return self._bot_message(chat_id, "forwardMessage", forward_origin=origin, **body)

    async def api_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, from_chat = int(params["chat_id"]), int(params["from_chat_id"])
        original = self.messages.get((from_chat, int(params["message_id"])))
        if original is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        body = {
            k: v
            for k, v in original.items()
            if k in ("text", "photo", "caption", "sticker", "voice")
        }
        message = self._bot_message(chat_id, "copyMessage", **body)
        return {"message_id": message["message_id"]}

    def _stored(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._stored(params)
        raw, text = self._text(params)
        markup = params.get("reply_markup")
        if stored.get("html") == raw and stored.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        stored.update(text=text, html=raw, edit_date=int(time.time()))
        stored.pop("reply_markup", None)
        if markup:
            stored["reply_markup"] = markup
        stored.setdefault("_edits", 0)
        stored["_edits"] += 1
        return {
            k: v for k, v in stored.items() if not k.startswith("_") and k not in ("html", "upload")
        }

    async def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._stored(params)
        stored.pop("reply_markup", None)
        if params.get("reply_markup"):
            stored["reply_markup"] = params["reply_markup"]
        return {
            k: v for k, v in stored.items() if not k.startswith("_") and k not in ("html", "upload")
        }

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands[str(params.get("language_code") or "")] = params["commands"]
        return True

    async def api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True

    async def api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def api_logOut(self, params: dict[str, Any]) -> bool:
        return True


def _decode(value: Any) -> Any:
    """python-telegram-bot form-encodes non-string values as JSON."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
