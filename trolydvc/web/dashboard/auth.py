"""Sessions and CSRF protection of the dashboard.

Sessions: the web app's Starlette ``SessionMiddleware`` (a cookie signed with itsdangerous) holds
the account id, the login time and the last request time under one key; a session ends after
``DASHBOARD_IDLE_TIMEOUT`` seconds without a request or ``DASHBOARD_SESSION_MAX_AGE`` seconds after
login, and at once when the account is disabled (checked in the database on every request).

CSRF: fastapi-csrf-protect's double submit: a signed token in a cookie (HttpOnly, SameSite=Strict,
path /quan-tri) and the same token in a hidden form field, checked on every POST. It is a
maintained library over itsdangerous that reads the token from form bodies, unlike starlette-csrf
(header only, which plain HTML forms cannot send).
"""

from __future__ import annotations

import secrets
import time
from functools import lru_cache
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from trolydvc import config
from trolydvc.web.dashboard.accounts import Account, active_account

PREFIX = "/quan-tri"
SESSION_KEY = "quan_tri"
CSRF_FIELD = "csrf_token"
COOKIE = "quan_tri_csrf"
CSRF_MAX_AGE = 24 * 3600  # a page's token is reused for 23 h, so it is valid >= 1 h after


class DashboardCsrf(CsrfProtect):
    """The dashboard's own configuration (class attributes: kept apart from any other use)."""


DashboardCsrf.load_config(
    lambda: [
        ("cookie_key", COOKIE),
        ("cookie_path", PREFIX),
        ("cookie_samesite", "strict"),
        ("token_location", "body"),
        ("token_key", CSRF_FIELD),
        ("max_age", CSRF_MAX_AGE),
    ]
)
_csrf = DashboardCsrf()


@lru_cache(maxsize=1)
def _process_key() -> str:
    return secrets.token_urlsafe(32)


def _csrf_key() -> str:
    value = config.settings().dashboard_csrf_secret
    return (value.get_secret_value() if value else "") or _process_key()


def csrf_token(request: Request, response: Response) -> str:
    """The token for the page's forms. The browser's current one is kept while valid (its signed
    twin is in the cookie), so forms in several open tabs stay valid; otherwise a new token, with
    its cookie set on `response`."""
    signed = request.cookies.get(COOKIE)
    if signed:
        # The library's own serializer and salt (fastapi_csrf_protect.core).
        serializer = URLSafeTimedSerializer(_csrf_key(), salt="fastapi-csrf-token")
        try:
            return str(serializer.loads(signed, max_age=CSRF_MAX_AGE - 3600))
        except BadData:
            pass
    token, signed = _csrf.generate_csrf_tokens(_csrf_key())
    _csrf.set_csrf_cookie(signed, response)
    return token


async def check_csrf(request: Request) -> None:
    """Dependency of every POST route: refuse a form without the matching token."""
    await request.form()  # parsed once and cached; the library reads the cached form
    try:
        await _csrf.validate_csrf(request, secret_key=_csrf_key())
    except CsrfProtectError:
        raise HTTPException(
            403,
            "Biểu mẫu đã hết hạn hoặc không hợp lệ. Bạn hãy tải lại trang rồi thử lại.",
        ) from None


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def start_session(request: Request, account: Account) -> None:
    now = time.time()
    request.session.pop(SESSION_KEY, None)
    request.session[SESSION_KEY] = {"account": account.id, "login_at": now, "seen_at": now}


def end_session(request: Request) -> None:
    request.session.pop(SESSION_KEY, None)


class LoginRequired(HTTPException):
    """Raised by ``current_account``: a redirect to the login page (303, any method)."""

    def __init__(self, request: Request, expired: bool) -> None:
        target = f"{PREFIX}/dang-nhap" + ("?het_han=1" if expired else "")
        super().__init__(303, "Cần đăng nhập.", headers={"Location": target})


def _valid_session(data: Any, now: float) -> int | None:
    if not isinstance(data, dict):
        return None
    try:
        account_id, login_at, seen_at = (
            int(data["account"]),
            float(data["login_at"]),
            float(data["seen_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    settings = config.settings()
    if now - seen_at > settings.dashboard_idle_timeout:
        return None
    if now - login_at > settings.dashboard_session_max_age:
        return None
    return account_id


async def current_account(request: Request) -> Account:
    """Dependency of every page behind the login: the logged-in, enabled account."""
    data = request.session.get(SESSION_KEY)
    now = time.time()
    account_id = _valid_session(data, now)
    account = await run_in_threadpool(active_account, account_id) if account_id else None
    if account is None:
        end_session(request)
        raise LoginRequired(request, expired=data is not None)
    data["seen_at"] = now
    request.session[SESSION_KEY] = data
    return account
