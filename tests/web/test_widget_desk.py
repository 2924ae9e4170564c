"""The widget's handoff and following in Debian's chromium, against the real web app, Rasa and
action server: the citizen asks for an official, the official answers in the dashboard, the
widget shows the answer; a lookup verified in the widget, "Theo dõi hồ sơ này", an import changes
the dossier, the widget shows exactly one notification."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.test_widget import ask, open_panel, widget
from trolydvc.tracking.importer import import_file
from trolydvc.web.dashboard.accounts import add_account

pytestmark = pytest.mark.rasa
expect.set_options(timeout=30_000)

USERNAME, PASSWORD = "motcua.web", "mat-khau-du-dai-1"
HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/quan-tri/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(USERNAME)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/quan-tri/thong-ke")


def test_the_widget_asks_for_an_official_who_answers_from_the_dashboard(
    page: Any, browser: Any, web: Any
) -> None:
    add_account(USERNAME, PASSWORD, "official")
    open_panel(page)
    w = widget(page)
    assert "Tôi đã chuyển cuộc trò chuyện đến cán bộ" in ask(page, "cho tôi gặp cán bộ")
    expect(w.locator(".handoff")).to_be_visible()
    question = "Con tôi sinh ở bệnh viện tỉnh, tôi cần mang những gì?"
    w.locator("input").fill(question)
    w.locator("input").press("Enter")
    expect(w.locator(".log .msg.user").last).to_contain_text("Đã chuyển tới cán bộ")
    w.locator("input").press("Escape")  # the citizen closes the panel while waiting

    context = browser.new_context()
    try:
        desk = context.new_page()
        log_in(desk, web.web_url)
        desk.goto(f"{web.web_url}/quan-tri/ho-tro")
        case = desk.locator("section.card", has_text=question)
        expect(case).to_contain_text("kênh trang web")
        expect(case).to_contain_text("cho tôi gặp cán bộ")  # what was said before the request
        answer = "Bạn mang giấy chứng sinh bản chính và căn cước của cha hoặc mẹ nhé."
        case.get_by_label("Câu trả lời cho yêu cầu").fill(answer)
        case.get_by_role("button", name="Gửi câu trả lời").click()
        desk.get_by_text("Đã gửi câu trả lời cho yêu cầu").wait_for()
    finally:
        context.close()

    expect(w.locator(".bubble")).to_have_attribute(
        "aria-label", "Mở trò chuyện với Trợ lý Dịch vụ công (có tin nhắn mới)"
    )
    open_panel(page)
    official = w.locator(".log .msg.official")
    expect(official).to_have_count(1)
    expect(official).to_contain_text("Cán bộ trả lời:")
    expect(official).to_contain_text(answer)
    page.reload()
    page.wait_for_timeout(3500)  # a poll after the reload: the answer is not delivered again
    expect(widget(page).locator(".log .msg.official")).to_have_count(1)
    widget(page).locator(".handoff button").click()
    expect(widget(page).locator(".handoff")).to_be_hidden()
    expect(widget(page).locator(".log .msg.bot").last).to_contain_text(
        "Bạn đã kết thúc cuộc trao đổi với cán bộ."
    )


def _import(tmp_path: Path, code: str, status: str, name: str) -> None:
    today = date.today()
    received = (today - timedelta(days=5)).strftime("%d/%m/%Y")
    due = (today + timedelta(days=30)).strftime("%d/%m/%Y")
    resolved = today.strftime("%d/%m/%Y 09:00") if status == "Đã có kết quả" else ""
    path = tmp_path / name
    path.write_text(
        HEADER + f"{code},1.001193,Đăng ký khai sinh,Trần Thị Bình,0987 655 678,"
        f"{received} 08:30,{due},{resolved},,{status},Trực tiếp,UBND xã Hòa An,Hộ tịch\n",
        encoding="utf-8",
    )
    assert import_file(path, url=os.environ["DATABASE_URL"]).errors == []


def test_a_verified_lookup_in_the_widget_is_followed_and_one_notification_shows(
    page: Any, web: Any, tmp_path: Path
) -> None:
    code = "000.00.20.H99-261127-7301"
    _import(tmp_path, code, "Đang xử lý", "first.csv")
    open_panel(page)
    w = widget(page)
    assert "4 số cuối" in ask(page, f"tra cứu hồ sơ {code}")
    ask(page, "5678")
    button = w.locator(".log .msg.bot .choice", has_text="Theo dõi hồ sơ này")
    expect(button).to_have_count(1)
    button.click()
    expect(w.locator(".log .msg.bot").last).to_contain_text(f"Bạn đã theo dõi hồ sơ {code}.")

    _import(tmp_path, code, "Đã có kết quả", "second.csv")
    news = w.locator(".log .msg.bot", has_text=f"Hồ sơ {code} đã chuyển sang: Đã có kết quả.")
    expect(news).to_have_count(1)  # the web app's notifier, then the widget's inbox
    expect(news).to_contain_text("mang giấy tiếp nhận hồ sơ")
    assert "Trần" not in news.inner_text() and "0987" not in news.inner_text()
    page.reload()
    page.wait_for_timeout(3000)  # notifier runs and inbox polls after the reload: nothing new
    expect(
        widget(page).locator(".log .msg.bot", has_text=f"Hồ sơ {code} đã chuyển sang")
    ).to_have_count(1)
