"""The chat widget in Debian's chromium, against the real web app, Rasa and action server."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from trolydvc.tracking.demo import SHOWCASE_PHONE_LAST4

pytestmark = pytest.mark.rasa
# Rasa's first answers after start-up take seconds on a busy 2-core machine
expect.set_options(timeout=30_000)

DOSSIER = "000.00.20.H99-250415-9002"


def widget(page: Any) -> Any:
    """The widget's shadow root (Playwright's CSS locators pierce open shadow roots)."""
    return page.locator("#trolydvc-widget")


def open_panel(page: Any) -> None:
    widget(page).locator(".bubble").click()
    expect(widget(page).locator(".panel")).to_be_visible()


def ask(page: Any, text: str) -> str:
    """Type a question, send it, return the text of the answers it got."""
    log = widget(page).locator(".log .msg:not(.welcome)")
    before = log.count()
    box = widget(page).locator("input")
    box.fill(text)
    box.press("Enter")
    return answers_after(page, before)


def answers_after(page: Any, before: int) -> str:
    """Wait for the answer to the message sent when the log had `before` entries."""
    w = widget(page)
    expect(w.locator(".log .msg:not(.welcome)").nth(before)).to_be_visible()  # the question itself
    expect(w.locator(".send")).to_be_enabled()  # the answer has arrived
    bots = w.locator(".log .msg:not(.welcome)").all()[before + 1 :]
    assert bots, "no answer"
    return "\n".join(m.inner_text() for m in bots)


def test_questions_with_and_without_diacritics(page):
    open_panel(page)
    w = widget(page)
    expect(w.locator("h2")).to_have_text("Trợ lý Dịch vụ công")
    expect(w.locator("input")).to_have_attribute("placeholder", "Nhập câu hỏi của Bạn…")
    expect(w.locator(".send")).to_have_text("Gửi")
    answer = ask(page, "làm giấy khai sinh cần giấy tờ gì")
    assert "khai sinh" in answer.lower(), answer
    answer = ask(page, "dang ky ket hon can giay to gi")
    assert "kết hôn" in answer.lower(), answer
    # the user's own messages are shown as typed
    assert (
        w.locator(".log .msg.user").first.inner_text().endswith("làm giấy khai sinh cần giấy tờ gì")
    )


def test_an_answer_button_sends_its_payload(page):
    open_panel(page)
    ask(page, "xin chào")
    choice = widget(page).locator(".log .msg.bot .choice").first
    expect(choice).to_be_visible()
    title = choice.inner_text()
    before = widget(page).locator(".log .msg:not(.welcome)").count()
    choice.click()
    expect(widget(page).locator(".log .msg.user").last).to_contain_text(title)
    answer = answers_after(page, before)
    assert answer.strip(), "the button got no answer"


def test_dossier_lookup_shows_the_status_then_the_details_after_verification(page):
    open_panel(page)
    answer = ask(page, f"tra cứu hồ sơ {DOSSIER}")
    assert f"Hồ sơ {DOSSIER}" in answer and "Trạng thái" in answer, answer
    assert "4 số cuối" in answer and "Thủ tục" not in answer and "Người nộp" not in answer
    answer = ask(page, SHOWCASE_PHONE_LAST4)
    assert "Quá trình xử lý" in answer or "Hình thức nộp" in answer, answer


def test_the_conversation_survives_a_reload(page):
    open_panel(page)
    first = ask(page, "làm giấy khai sinh cần giấy tờ gì")
    entries = widget(page).locator(".log .msg:not(.welcome)").count()
    page.reload()
    w = widget(page)
    expect(w.locator(".panel")).to_be_visible()  # it stays open
    expect(w.locator(".log .msg:not(.welcome)")).to_have_count(entries)
    assert first.splitlines()[0] in w.locator(".log").inner_text()
    # and the conversation goes on with the same sender (the session cookie)
    assert ask(page, "cảm ơn").strip()


def test_bot_text_is_never_markup(page, web):
    """The widget shows text with textContent: markup in an answer stays text."""
    open_panel(page)
    page.evaluate(
        """() => { const data = {open: true, messages: [{from: "bot",
             text: "<img src=x onerror=window.pwned=1>dòng 1\\ndòng 2 " +
               "javascript:window.pwned=2 https://dichvucong.gov.vn.", buttons: []}]};
           sessionStorage.setItem("trolydvc-chat-v1", JSON.stringify(data)); }"""
    )
    page.reload()
    text = widget(page).locator(".log .msg.bot .text")
    expect(text).to_have_text(
        "<img src=x onerror=window.pwned=1>dòng 1\ndòng 2 "
        "javascript:window.pwned=2 https://dichvucong.gov.vn."
    )
    assert widget(page).locator(".log img").count() == 0
    links = widget(page).locator(".log a")
    expect(links).to_have_count(1)  # only the web address, without the full stop after it
    expect(links).to_have_attribute("href", "https://dichvucong.gov.vn")
    assert page.evaluate("() => window.pwned") is None
    height = text.bounding_box()["height"]
    assert height > 30, "the line break is not kept"


def test_phone_layout_360px(browser, web):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{web.web_url}/")
        open_panel(page)
        ask(page, "đăng ký thường trú cần những giấy tờ gì")
        box = widget(page).locator(".panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740, box
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= 360, f"horizontal scroll: {scroll}px"
        log_scroll = widget(page).locator(".log").evaluate("e => e.scrollWidth - e.clientWidth")
        assert log_scroll <= 0
    finally:
        context.close()


def test_keyboard_only(page):
    w = widget(page)
    # Tab through the page until the bubble has the focus
    for _ in range(30):
        page.keyboard.press("Tab")
        if w.locator(".bubble").evaluate("b => b.getRootNode().activeElement === b"):
            break
    else:
        pytest.fail("Tab never reached the chat bubble")
    expect(w.locator(".bubble")).to_have_attribute(
        "aria-label", "Mở trò chuyện với Trợ lý Dịch vụ công"
    )
    outline = w.locator(".bubble").evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none", "no visible focus"
    page.keyboard.press("Enter")
    expect(w.locator(".panel")).to_be_visible()
    expect(w.locator("input")).to_be_focused()
    page.keyboard.type("thủ tục đăng ký kết hôn")
    page.keyboard.press("Enter")
    expect(w.locator(".log .msg.user")).to_have_text("Bạn: thủ tục đăng ký kết hôn")
    expect(w.locator(".send")).to_be_enabled()
    expect(w.locator(".log .msg.bot").last).to_contain_text("kết hôn")
    page.keyboard.press("Escape")
    expect(w.locator(".panel")).to_be_hidden()
    expect(w.locator(".bubble")).to_have_attribute("aria-expanded", "false")


def test_nothing_is_loaded_from_elsewhere(browser, web):
    context = browser.new_context()
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{web.web_url}/")
        open_panel(page)
        ask(page, "xin chào")
        assert requested and all(url.startswith(f"{web.web_url}/") for url in requested), requested
        assert f"{web.web_url}/static/widget.css" in requested
    finally:
        context.close()


CONTRAST = """(node) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let back = node, bg = "rgba(0, 0, 0, 0)";
  while (back) {  // the first opaque background behind the text
    bg = getComputedStyle(back).backgroundColor;
    if (!bg.startsWith("rgba") || !bg.endsWith(", 0)")) break;
    back = back.parentElement || (back.getRootNode().host);
  }
  const [a, b] = [lum(getComputedStyle(node).color), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_text_contrast_is_at_least_4_5(page):
    open_panel(page)
    ask(page, "xin chào")
    w = widget(page)
    for selector in ("h2", ".msg.user .text", ".msg.bot .text", ".send", "input", ".close"):
        ratio = w.locator(selector).first.evaluate(CONTRAST)
        assert ratio >= 4.5, f"{selector}: {ratio:.2f}"
    choices = w.locator(".choice")
    if choices.count():
        assert choices.first.evaluate(CONTRAST) >= 4.5
