"""The REST channel of this project (credentials.yml): Rasa's RestInput behind a token.

Same routes and JSON as Rasa's ``rest`` channel (``POST /webhooks/rest/webhook``), plus:

- ``POST /webhook`` and ``GET /status`` require ``Authorization: Bearer <RASA_REST_TOKEN>``,
  which the project's front ends send (trolydvc.rasa_client: the bot and the terminal chat);
  without it: 401. ``GET /`` (health) stays open.
- a message longer than :data:`MAX_MESSAGE_CHARS` gets :data:`TOO_LONG_REPLY` at once: it is
  not parsed, not predicted on, and not stored in the tracker.
- ``GET /status``: whether the model is loaded, and the running counts of failed action calls
  and of refused long messages (per Rasa process).

Runs inside Rasa (.venv-rasa); imports only Rasa, Sanic and trolydvc.rasa_server.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from trolydvc.rasa_server import FAILED_ACTIONS, USER_TEXT, Counter

# Real questions are short: the longest training, held-out or labelled catalog question is 76
# characters. Procedure names are 81 characters at the median, 373 at the 99th percentile and
# 1,094 at most, and a user may paste one whole: 2,000 leaves room for that and a question
# around it. The NLU's cost grows linearly with the length (measured on 2 loaded cores: 16 ms
# for 76 characters, 0.33 s for 2,000, 2.8 s for 20,000, 12 s for 100,000), so a longer message
# is refused rather than cut (a cut could change what it asks). Telegram allows 4,096.
MAX_MESSAGE_CHARS = 2000
TOO_LONG_REPLY = (
    f"Tin nhắn của Bạn dài quá (hơn {MAX_MESSAGE_CHARS:,} ký tự)".replace(",", ".")
    + " nên trợ lý chưa đọc được. Bạn gửi lại câu hỏi ngắn gọn hơn nhé."
)
TOO_LONG_MESSAGES = Counter()


class TokenRestInput(RestInput):
    """Rasa's REST channel, refused to anyone without the token (see the module docstring)."""

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        return "rest"  # same URL as Rasa's REST channel: /webhooks/rest/webhook

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        token = str((credentials or {}).get("token") or "").strip()
        if not token:
            raise RasaException(
                "The REST channel needs a token: set RASA_REST_TOKEN "
                "(credentials.yml: token: ${RASA_REST_TOKEN})."
            )
        return cls(token)

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization")
        return header is not None and hmac.compare_digest(
            header.encode(), f"Bearer {self.token}".encode()
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def bounded(message: UserMessage) -> None:
            text = message.text
            if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
                TOO_LONG_MESSAGES.increment()
                await message.output_channel.send_text_message(message.sender_id, TOO_LONG_REPLY)
                return
            # kept for the rest of this request's handling, Rasa's failure log included
            USER_TEXT.set(text if isinstance(text, str) else None)
            await on_new_message(message)

        blueprint = super().blueprint(bounded)

        @blueprint.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            route = request.path.rstrip("/").rsplit("/", 1)[-1]
            if route == self.name() or self.authorized(request):  # GET /webhooks/rest/
                return None
            return response.json({"error": "unauthorized"}, status=401)

        @blueprint.route("/status", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            return response.json(
                {
                    "ready": bool(agent is not None and agent.is_ready()),
                    "failed_actions": FAILED_ACTIONS.value,
                    "too_long_messages": TOO_LONG_MESSAGES.value,
                }
            )

        return blueprint
