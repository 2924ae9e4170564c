"""POST /api/chat without a browser: validation, limits, the sender id, errors when Rasa is away."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from trolydvc.web.app import create_app
from trolydvc.web.chat import MAX_MESSAGE_CHARS, SENDER_KEY, answer_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TROLYDVC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RASA_REST_TOKEN", "rest-token-for-tests")
    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)


def client() -> TestClient:
    # Nothing listens on this port: Rasa is away.
    return TestClient(create_app(rasa_url=f"http://127.0.0.1:{free_port()}"))


def test_empty_and_too_long_messages_are_refused_in_vietnamese(app_env):
    with client() as http:
        response = http.post("/api/chat", json={"message": "   "})
        assert response.status_code == 422 and "nhập câu hỏi" in response.json()["error"]
        response = http.post("/api/chat", json={"message": "a" * (MAX_MESSAGE_CHARS + 1)})
        assert response.status_code == 413 and "dài quá" in response.json()["error"]
        assert http.post("/api/chat", json={"text": "x"}).status_code == 422


def test_rasa_away_is_a_polite_503(app_env):
    with client() as http:
        response = http.post("/api/chat", json={"message": "xin chào"})
    assert response.status_code == 503
    assert "thử lại" in response.json()["error"]


def test_limits_per_session_then_per_address(app_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TROLYDVC_WEB_LIMIT_SESSION", "2/minute")
    monkeypatch.setenv("TROLYDVC_WEB_LIMIT_ADDRESS", "3/minute")
    app = create_app(rasa_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(app) as first:
        codes = [first.post("/api/chat", json={"message": "hi"}).status_code for _ in range(3)]
        assert codes == [503, 503, 429]
        refused = first.post("/api/chat", json={"message": "hi"})
        assert "gửi nhanh quá" in refused.json()["error"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # A new session (the cookie dropped) from the same address: one more, then the address limit.
    with TestClient(app) as second:
        codes = [second.post("/api/chat", json={"message": "hi"}).status_code for _ in range(2)]
        assert codes == [503, 429]


def test_a_bad_limit_setting_fails_at_start(app_env, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TROLYDVC_WEB_LIMIT_SESSION", "nhiều")
    with pytest.raises(ValueError):
        create_app()


def test_the_session_secret_is_generated_once_into_var(app_env, tmp_path):
    create_app()
    key = tmp_path / "web_session.key"
    assert key.stat().st_mode & 0o777 == 0o600
    first = key.read_text()
    create_app()
    assert key.read_text() == first and len(first.strip()) >= 40


def test_answer_of_keeps_text_and_buttons_only():
    messages: list[dict[str, Any]] = [
        {"recipient_id": "web:x", "text": "Chào Bạn\nDòng 2", "custom": {"a": 1}},
        {"recipient_id": "web:x", "buttons": [{"title": "Có", "payload": "/affirm"}, {"x": 1}]},
        {"recipient_id": "web:x", "image": "http://elsewhere/x.png"},
    ]
    assert answer_of(messages) == [
        {"text": "Chào Bạn\nDòng 2", "buttons": []},
        {"text": "", "buttons": [{"title": "Có", "payload": "/affirm"}]},
    ]


@pytest.mark.rasa
def test_the_sender_is_the_sessions_and_the_token_stays_server_side(web):
    """Against the real trio: one session keeps one conversation (the lookup's verification
    needs the same sender twice), a second session is another conversation, and neither the REST
    token nor the sender id reaches the browser."""
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    token = web.secrets["RASA_REST_TOKEN"]
    with (
        httpx.Client(base_url=web.web_url, timeout=60) as me,
        httpx.Client(base_url=web.web_url, timeout=60) as other,
    ):
        first = me.post("/api/chat", json={"message": f"tra cứu hồ sơ {SHOWCASE[1]}"})
        assert first.status_code == 200, first.text
        assert "4 số cuối" in first.text
        cookie = me.cookies.get("trolydvc_session")
        assert cookie and token not in cookie and token not in first.text
        assert SENDER_KEY not in first.text and "web:" not in first.text
        # the other session answers the digits: it has no lookup pending, so no details
        stranger = other.post("/api/chat", json={"message": SHOWCASE_PHONE_LAST4})
        assert "Quá trình xử lý" not in stranger.text and "Hình thức nộp" not in stranger.text
        mine = me.post("/api/chat", json={"message": SHOWCASE_PHONE_LAST4})
        assert "Quá trình xử lý" in mine.text or "Hình thức nộp" in mine.text, mine.text
        # a forged cookie is ignored: a fresh session, not someone's conversation
        forged = httpx.post(
            f"{web.web_url}/api/chat",
            json={"message": SHOWCASE_PHONE_LAST4},
            cookies={"trolydvc_session": cookie[:-4] + "AAAA"},
            timeout=60,
        )
        assert "Quá trình xử lý" not in forged.text and "Hình thức nộp" not in forged.text


def test_the_session_cookie_is_signed_http_only_and_secure_when_asked(
    app_env, monkeypatch: pytest.MonkeyPatch
):
    with client() as http:
        cookie = http.post("/api/chat", json={"message": "hi"}).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    monkeypatch.setenv("TROLYDVC_WEB_HTTPS_ONLY", "true")
    with client() as http:
        cookie = http.post("/api/chat", json={"message": "hi"}).headers["set-cookie"].lower()
    assert "; secure" in cookie


def test_the_web_app_serves_the_dashboard_login(app_env):
    """One web process: the commune page, the widget's API and /quan-tri (the dashboard router)."""
    with TestClient(create_app(rasa_url=f"http://127.0.0.1:{free_port()}")) as client:
        page = client.get("/quan-tri/dang-nhap")
        assert page.status_code == 200 and "Đăng nhập" in page.text
        assert client.get("/quan-tri/thong-ke", follow_redirects=False).status_code in (302, 303)
