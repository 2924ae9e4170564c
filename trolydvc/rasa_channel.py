"""The REST channel of this project (credentials.yml): Rasa's RestInput behind a token.

Same routes and JSON as Rasa's ``rest`` channel (``POST /webhooks/rest/webhook``), plus:

- ``POST /webhook`` and ``GET /status`` require ``Authorization: Bearer <RASA_REST_TOKEN>``,
  which the project's front ends send (trolydvc.rasa_client: the bot and the terminal chat);
  without it: 401. ``GET /`` (health) stays open.
- ``GET /status``: whether the model is loaded.

Runs inside Rasa (.venv-rasa); imports only Rasa and Sanic.
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
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            route = request.path.rstrip("/").rsplit("/", 1)[-1]
            if route == self.name() or self.authorized(request):  # GET /webhooks/rest/
                return None
            return response.json({"error": "unauthorized"}, status=401)

        @blueprint.route("/status", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            return response.json({"ready": bool(agent is not None and agent.is_ready())})

        return blueprint
