"""The widget on other sites' pages (TROLYDVC_WEB_EMBED_ORIGINS).

A commune's page at https://xa.example.gov.vn carrying
``<script src="https://assistant.example.gov.vn/static/widget.js">`` calls this app from another
origin. Its session cookie would then be a third-party cookie, which browsers block or partition,
so for such pages the conversation id travels in a header instead: every chat answer carries the
session's sender id signed with the session cookie's key (itsdangerous, as Starlette's sessions),
and the widget sends it back in ``X-Widget-Session``, kept in the host page's sessionStorage with
the history (gone when the browser session ends, like the cookie). A request carrying a custom
header always gets a CORS preflight first, which Starlette's CORSMiddleware answers only for the
listed origins; no cookie is ever sent from another origin, so another site can neither read nor
continue a citizen's conversation. A forged or expired token is ignored (a new conversation).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.middleware.cors import CORSMiddleware

HEADER = "X-Widget-Session"
# Longer than any browser session; a followed dossier's news reaches an inbox this long.
MAX_AGE_SECONDS = 30 * 24 * 3600
_SALT = "trolydvc.widget-sender"


def install(app: FastAPI, secret: str, origins: list[str]) -> None:
    """Sign and read widget tokens with ``secret``; let ``origins`` call the widget's API."""
    app.state.widget_tokens = URLSafeTimedSerializer(secret, salt=_SALT)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type", HEADER],
            expose_headers=[HEADER],
            allow_credentials=False,
            max_age=600,
        )


def token_for(request: Request, sender: str) -> str:
    return request.app.state.widget_tokens.dumps(sender)


def sender_in(request: Request) -> str | None:
    """The sender id of a valid ``X-Widget-Session`` header, else None."""
    token = request.headers.get(HEADER)
    if not token:
        return None
    try:
        sender = request.app.state.widget_tokens.loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is one too
        return None
    return sender if isinstance(sender, str) and sender.startswith("web:") else None
