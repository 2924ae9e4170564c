"""Login, wrong password, attempt limits, CSRF refusal, session expiry, disabled accounts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from trolydvc.web.dashboard import auth
from trolydvc.web.dashboard.accounts import add_account, disable_account
from trolydvc.web.dashboard.audit import recent

USERNAME, PASSWORD = "canbo.motcua", "mat-khau-du-dai-1"  # as in conftest


def _actions() -> list[str]:
    return [e.action for e in reversed(recent())]


def test_pages_need_a_login(h: Any, client: TestClient) -> None:
    for path in ("/quan-tri/thong-ke", "/quan-tri/thong-ke.csv", "/quan-tri/thong-bao"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/quan-tri/dang-nhap"


def test_login_page_is_vietnamese(client: TestClient) -> None:
    page = client.get("/quan-tri/dang-nhap")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "Đăng nhập trang quản trị" in page.text and "Mật khẩu" in page.text


def test_wrong_password_then_right_one(h: Any, client: TestClient, account: Any) -> None:
    wrong = h.login(client, password="sai-mat-khau-roi")
    assert wrong.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in wrong.text
    assert client.get("/quan-tri/thong-ke").status_code == 303
    unknown = h.login(client, username="khong.co.ai")
    assert unknown.status_code == 401

    right = h.login(client)
    assert right.status_code == 303 and right.headers["location"] == "/quan-tri/thong-ke"
    assert client.get("/quan-tri/thong-ke").status_code == 200
    assert _actions()[:3] == ["login_failed", "login_failed", "login"]


def test_password_is_stored_as_an_argon2_hash(account: Any) -> None:
    from sqlalchemy import select

    from trolydvc.db import session_scope
    from trolydvc.db.web_models import WebAccount

    with session_scope() as session:
        stored = session.scalar(select(WebAccount.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_too_many_failures_refuse_even_the_right_password(
    h: Any, client: TestClient, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_LOGIN_MAX_FAILURES", "3")
    for _ in range(3):
        assert h.login(client, password="sai-mat-khau-roi").status_code == 401
    refused = h.login(client)
    assert refused.status_code == 429
    assert "sai quá nhiều lần" in refused.text
    assert client.get("/quan-tri/thong-ke").status_code == 303
    assert _actions()[-1] == "login_refused"
    # The window passes: the right password works again.
    monkeypatch.setenv("DASHBOARD_LOGIN_WINDOW", "0.001")
    time.sleep(0.01)
    assert h.login(client).status_code == 303


def test_posts_without_the_csrf_token_are_refused(h: Any, client: TestClient, account: Any) -> None:
    client.get("/quan-tri/dang-nhap")  # the CSRF cookie is set
    no_token = client.post("/quan-tri/dang-nhap", data={"username": USERNAME, "password": PASSWORD})
    assert no_token.status_code == 403
    forged = client.post(
        "/quan-tri/dang-nhap",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    assert "login" not in _actions()

    assert h.login(client).status_code == 303
    page = client.get("/quan-tri/thong-bao")
    token = h.csrf_of(page.text)
    # Another site's form has the cookie (the browser sends it) but not the token.
    refused = client.post("/quan-tri/thong-bao", data={"text": "Giả mạo", "audience": ""})
    assert refused.status_code == 403
    assert client.post("/quan-tri/dang-xuat", data={}).status_code == 403
    assert client.get("/quan-tri/thong-ke").status_code == 200  # still logged in
    out = client.post("/quan-tri/dang-xuat", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/quan-tri/thong-ke").status_code == 303
    assert _actions()[-1] == "logout"


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def test_idle_session_expires(logged_in: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(auth, "time", clock)
    monkeypatch.setenv("DASHBOARD_IDLE_TIMEOUT", "600")
    clock.now += 590
    assert logged_in.get("/quan-tri/thong-ke").status_code == 200  # activity renews it
    clock.now += 590
    assert logged_in.get("/quan-tri/thong-ke").status_code == 200
    clock.now += 601
    expired = logged_in.get("/quan-tri/thong-ke")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/quan-tri/dang-nhap?het_han=1"
    assert "Phiên làm việc đã hết hạn" in logged_in.get(expired.headers["location"]).text
    assert logged_in.get("/quan-tri/thong-ke").status_code == 303


def test_session_ends_at_its_maximum_age_even_when_active(
    h: Any, client: TestClient, account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(auth, "time", clock)
    monkeypatch.setenv("DASHBOARD_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("DASHBOARD_SESSION_MAX_AGE", "1500")
    assert h.login(client).status_code == 303
    for _ in range(2):
        clock.now += 500
        assert client.get("/quan-tri/thong-ke").status_code == 200
    clock.now += 501
    assert client.get("/quan-tri/thong-ke").status_code == 303


def test_a_disabled_account_loses_its_session_and_cannot_log_in(
    h: Any, logged_in: TestClient
) -> None:
    assert disable_account(USERNAME)
    assert logged_in.get("/quan-tri/thong-ke").status_code == 303
    assert h.login(logged_in).status_code == 401
    add_account(USERNAME, "mat-khau-moi-du-dai", "official")  # enabled again, new password
    assert h.login(logged_in, password="mat-khau-moi-du-dai").status_code == 303
    assert logged_in.get("/quan-tri/nhat-ky").status_code == 403  # an official, not an admin


def test_the_audit_page_lists_the_actions(logged_in: TestClient) -> None:
    page = logged_in.get("/quan-tri/nhat-ky")
    assert page.status_code == 200
    assert 'data-action="login"' in page.text and USERNAME in page.text
