"""The dashboard's local accounts: argon2id password hashes, login checks with attempt limits.

Blocking database calls (run them in a worker thread from async code). Failed logins are counted
from the audit log (``login_failed`` entries), so the limit holds across restarts and processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from trolydvc import config
from trolydvc.db import session_scope
from trolydvc.db.base import UTC, utcnow
from trolydvc.db.bot_models import OFFICIAL_ROLES
from trolydvc.db.web_models import WebAccount, WebAuditEntry
from trolydvc.web.dashboard.audit import record

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password of any account")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str


class LoginResult(Enum):
    OK = "ok"
    WRONG = "wrong"
    LIMITED = "limited"


def check_username(username: str) -> str:
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise ValueError(
            "tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới, gạch ngang"
        )
    return username


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"mật khẩu cần ít nhất {MIN_PASSWORD} ký tự")


def add_account(username: str, password: str, role: str) -> tuple[Account, bool]:
    """Create the account, or set a new password and role (and enable it again) when it exists."""
    username = check_username(username)
    check_password(password)
    if role not in OFFICIAL_ROLES:
        raise ValueError(f"vai trò phải là một trong: {', '.join(OFFICIAL_ROLES)}")
    password_hash = _hasher.hash(password)
    with session_scope() as session:
        row = session.scalar(select(WebAccount).where(WebAccount.username == username))
        created = row is None
        if row is None:
            row = WebAccount(username=username, password_hash=password_hash, role=role)
            session.add(row)
        else:
            row.password_hash, row.role, row.disabled_at = password_hash, role, None
        session.flush()
        return Account(row.id, row.username, row.role), created


def disable_account(username: str) -> bool:
    """Disable an enabled account; False when there is none. Its open sessions end at once."""
    with session_scope() as session:
        row = session.scalar(
            select(WebAccount).where(
                WebAccount.username == username.strip().lower(), WebAccount.disabled_at.is_(None)
            )
        )
        if row is None:
            return False
        row.disabled_at = utcnow()
        return True


def active_account(account_id: int) -> Account | None:
    with session_scope() as session:
        row = session.get(WebAccount, account_id)
        if row is None or row.disabled_at is not None:
            return None
        return Account(row.id, row.username, row.role)


def list_accounts() -> list[tuple[Account, datetime | None]]:
    """Every account with its disabled time (None: enabled)."""
    with session_scope() as session:
        rows = session.scalars(select(WebAccount).order_by(WebAccount.username)).all()
        return [(Account(r.id, r.username, r.role), r.disabled_at) for r in rows]


def _recent_failures(username: str, client: str, now: datetime) -> tuple[int, int]:
    since = now - timedelta(seconds=config.settings().dashboard_login_window)
    with session_scope() as session:
        last_login = session.scalar(
            select(func.max(WebAuditEntry.at)).where(
                WebAuditEntry.username == username, WebAuditEntry.action == "login"
            )
        )
        # An account's failures count from its last successful login on.
        if last_login is not None:
            last_login = last_login if last_login.tzinfo else last_login.replace(tzinfo=UTC)
        user_since = max(since, last_login) if last_login is not None else since
        by_user = session.scalar(
            select(func.count()).where(
                WebAuditEntry.username == username,
                WebAuditEntry.action == "login_failed",
                WebAuditEntry.at >= user_since,
            )
        )
        by_client = session.scalar(
            select(func.count()).where(
                WebAuditEntry.client == client,
                WebAuditEntry.action == "login_failed",
                WebAuditEntry.at >= since,
            )
        )
    return int(by_user or 0), int(by_client or 0)


def authenticate(username: str, password: str, client: str) -> tuple[LoginResult, Account | None]:
    """Check a login; every attempt goes to the audit log. Refused without checking the password
    once the account or the client address has too many recent failures."""
    username = username.strip().lower()[:64]
    now = utcnow()
    by_user, by_client = _recent_failures(username, client, now)
    limit = config.settings().dashboard_login_max_failures
    if by_user >= limit or by_client >= limit:
        record("login_refused", username=username, client=client, detail="too many failures")
        return LoginResult.LIMITED, None
    with session_scope() as session:
        row = session.scalar(select(WebAccount).where(WebAccount.username == username))
        stored = row.password_hash if row is not None and row.disabled_at is None else _DUMMY_HASH
        try:
            ok = _hasher.verify(stored, password) and stored is not _DUMMY_HASH
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            account = None
        else:
            account = Account(row.id, row.username, row.role)
            row.last_login_at = now
            if _hasher.check_needs_rehash(stored):
                row.password_hash = _hasher.hash(password)
    if account is None:
        record("login_failed", username=username, client=client)
        return LoginResult.WRONG, None
    record("login", account=account, client=client)
    return LoginResult.OK, account
