"""The widget on another site's page: CORS for the listed origins only, the conversation carried
by the signed X-Widget-Session header instead of a (third-party) cookie."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.web.conftest import EMBED_PORT
from tests.web.test_api import free_port
from tests.web.test_widget import answers_after, ask, open_panel, widget
from trolydvc.web.app import create_app
from trolydvc.web.embed import HEADER

SITE = "https://giolinh.example.gov.vn"


@pytest.fixture
def embed_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TROLYDVC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RASA_REST_TOKEN", "rest-token-for-tests")
    monkeypatch.setenv("TROLYDVC_WEB_EMBED_ORIGINS", f"{SITE}/")
    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)


def client() -> TestClient:
    return TestClient(create_app(rasa_url=f"http://127.0.0.1:{free_port()}"))  # Rasa away


def preflight(http: TestClient, origin: str) -> Any:
    return http.options(
        "/api/chat",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": f"content-type,{HEADER.lower()}",
        },
    )


def test_only_listed_origins_may_call_the_widget_api(embed_env):
    with client() as http:
        allowed = preflight(http, SITE)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == SITE
        assert "access-control-allow-credentials" not in allowed.headers
        refused = preflight(http, "https://evil.example.com")
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answer = http.post("/api/chat", json={"message": "xin chào"}, headers={"Origin": SITE})
        assert answer.headers["access-control-allow-origin"] == SITE
        assert HEADER.lower() in answer.headers["access-control-expose-headers"].lower()


def test_the_signed_header_carries_the_conversation_without_a_cookie(embed_env, monkeypatch):
    monkeypatch.setenv("TROLYDVC_WEB_LIMIT_SESSION", "2/minute")
    monkeypatch.setenv("TROLYDVC_WEB_LIMIT_ADDRESS", "100/minute")
    with client() as http:
        first = http.post("/api/chat", json={"message": "hi"})
        token = first.headers[HEADER]
        http.cookies.clear()  # as from another site: no cookie, only the header
        again = http.post("/api/chat", json={"message": "hi"}, headers={HEADER: token})
        assert again.status_code == 503  # Rasa is away; the session's second message
        http.cookies.clear()
        third = http.post("/api/chat", json={"message": "hi"}, headers={HEADER: token})
        assert third.status_code == 429  # the same conversation: its limit of 2 is reached
        http.cookies.clear()
        forged = http.post("/api/chat", json={"message": "hi"}, headers={HEADER: token[:-2] + "xx"})
        assert forged.status_code == 503  # not that conversation: a new one
        assert forged.headers[HEADER] != token


def test_a_bad_origin_setting_is_refused_with_its_name(monkeypatch):
    from trolydvc.config import SettingsError, settings

    monkeypatch.setenv("TROLYDVC_WEB_EMBED_ORIGINS", "https://ok.gov.vn,xa.gov.vn/trang")
    with pytest.raises(SettingsError, match="TROLYDVC_WEB_EMBED_ORIGINS"):
        settings()


@pytest.fixture
def host_site(web: Any) -> Iterator[str]:
    """A commune's page on another origin carrying the widget's one tag."""
    page = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Xã Gio Linh</title>'
        f'</head><body><h1>Cổng thông tin xã</h1><script src="{web.web_url}/static/widget.js" '
        "defer></script></body></html>"
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", EMBED_PORT), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{EMBED_PORT}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.rasa
def test_the_widget_on_another_sites_page_keeps_its_conversation(browser, host_site):
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(host_site)
        open_panel(page)
        answer = ask(page, "làm giấy khai sinh cần giấy tờ gì")
        assert "khai sinh" in answer.lower(), answer
        page.reload()  # the history and the conversation survive, with no cookie of the app
        expect(widget(page).locator(".log .msg.user").first).to_be_visible()
        before = widget(page).locator(".log .msg:not(.welcome)").count()
        box = widget(page).locator("input")
        box.fill("lệ phí bao nhiêu")
        box.press("Enter")
        follow_up = answers_after(page, before)
        # answered about the procedure in context (a new conversation would ask which one)
        assert "Lệ phí thủ tục «Đăng ký khai sinh»" in follow_up, follow_up
        assert context.cookies([host_site.rstrip("/")]) == []
    finally:
        context.close()
