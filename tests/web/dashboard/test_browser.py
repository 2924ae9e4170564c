"""One real-browser run of the dashboard (Debian's chromium driven by Playwright): log in, open
the statistics, export CSV, answer a handoff. Never `playwright install`: the system chromium."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import uvicorn

from bot import store

PORT = 7311  # this area's port range is 7300-7399
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _chromium(require_service: Callable[[str], NoReturn]) -> str:
    # The real binary: /usr/bin/chromium is a shell wrapper that adds its own flags.
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    require_service("chromium is missing (apt-get update && apt-get install -y chromium)")


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the dashboard did not start on port {PORT}")
        time.sleep(0.05)
    return server, thread


def test_official_in_a_real_browser(
    demo_data: str, account: Any, h: Any, telegram: Any, app_factory: Any, require_service: Any
) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium(require_service)
    case, _new = store.open_case(880001, "vi")
    server, thread = _serve(app_factory())
    base = f"http://127.0.0.1:{PORT}/quan-tri"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_context(accept_downloads=True).new_page()
                page.goto(f"{base}/thong-ke")
                assert page.url == f"{base}/dang-nhap"  # sent to the login page
                page.get_by_label("Tên đăng nhập").fill(h.username)
                page.get_by_label("Mật khẩu").fill("sai-mat-khau-roi")
                page.get_by_role("button", name="Đăng nhập").click()
                assert "Tên đăng nhập hoặc mật khẩu không đúng." in page.content()
                page.get_by_label("Mật khẩu").fill(h.password)
                page.get_by_role("button", name="Đăng nhập").click()
                page.wait_for_url(f"{base}/thong-ke")

                page.get_by_label("Kỳ báo cáo").fill("Q3/2026")
                page.get_by_role("button", name="Xem thống kê").click()
                page.wait_for_url("**/thong-ke?ky=Q3*")
                assert page.locator("#period").inner_text() == "quý 3/2026"
                received = page.locator('[data-field="received"]').inner_text()
                assert page.locator("svg rect").count() >= 3

                with page.expect_download() as info:
                    page.get_by_role("link", name="Tải CSV").click()
                download = info.value
                assert download.suggested_filename == "thong-ke-2026-07-01-2026-09-30.csv"
                text = Path(download.path()).read_text(encoding="utf-8-sig")
                total = text.strip().splitlines()[-1].split(",")
                assert total[0] == "Tổng cộng" and total[1] == received.replace(".", "")

                page.get_by_role("link", name="Hỗ trợ công dân").click()
                page.get_by_label(f"Câu trả lời cho yêu cầu #{case.id}").fill(
                    "Bạn mang theo bản chính giấy khai sinh nhé."
                )
                page.get_by_role("button", name="Gửi câu trả lời").click()
                page.get_by_text(f"Đã gửi câu trả lời cho yêu cầu #{case.id}.").wait_for()
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    sent = telegram.sent(880001)
    assert len(sent) == 1 and "Bạn mang theo bản chính giấy khai sinh nhé." in sent[0]["text"]
