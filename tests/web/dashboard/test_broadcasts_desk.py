"""Broadcasts created from the dashboard go through the bot's engine; handoff answers reach the
citizen's Telegram chat and are audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot import broadcast_store, store
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Broadcast, Delivery
from trolydvc.locality import load_locality
from trolydvc.web.dashboard.audit import recent


def _post(client: TestClient, h: Any, path: str, page: str, data: dict[str, str]) -> Any:
    token = h.csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token})


def test_broadcast_to_one_commune_runs_on_the_bots_engine(logged_in: TestClient, h: Any) -> None:
    communes = load_locality().commune_names
    assert len(communes) >= 2
    commune, other = communes[0], communes[1]
    store.subscribe(1001, "vi", commune)
    store.subscribe(1002, "vi", None)  # every commune
    store.subscribe(1003, "vi", other)

    page = logged_in.get("/quan-tri/thong-bao")
    assert f"{commune} (2)" in page.text and "Tất cả người đăng ký (3)" in page.text
    response = _post(
        logged_in,
        h,
        "/quan-tri/thong-bao",
        "/quan-tri/thong-bao",
        {"text": "Lịch tiếp dân <thứ Bảy> & Chủ nhật", "audience": commune, "when": ""},
    )
    assert response.status_code == 303
    with session_scope() as session:
        row = session.scalars(select(Broadcast)).one()
        broadcast_id, status = row.id, row.status
        assert row.audience_commune == commune and row.author_id is None
        assert row.text == "Lịch tiếp dân &lt;thứ Bảy&gt; &amp; Chủ nhật"  # Telegram HTML
    assert status == "scheduled"
    # The bot's periodic job finds it due and starts it: one delivery row per recipient.
    assert broadcast_store.broadcasts_to_run(utcnow()) == [broadcast_id]
    assert broadcast_store.start_broadcast(broadcast_id) == 2
    with session_scope() as session:
        chats = set(session.scalars(select(Delivery.chat_id)).all())
    assert chats == {1001, 1002}
    page = logged_in.get("/quan-tri/thong-bao")
    assert f"Đã tạo thông báo #{broadcast_id}" in page.text
    assert "Đang gửi" in page.text
    assert 'http-equiv="refresh"' in page.text  # the progress updates itself
    entry = next(e for e in recent() if e.action == "broadcast")
    assert entry.detail == f"#{broadcast_id}; {commune}; gửi ngay"


def test_scheduled_broadcast_waits_and_bad_input_is_refused(logged_in: TestClient, h: Any) -> None:
    later = (utcnow() + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    ok = _post(
        logged_in,
        h,
        "/quan-tri/thong-bao",
        "/quan-tri/thong-bao",
        {"text": "Ngày mai nghỉ lễ", "audience": "", "when": later},
    )
    assert ok.status_code == 303
    assert broadcast_store.broadcasts_to_run(utcnow()) == []  # not due yet
    [broadcast_id] = broadcast_store.broadcasts_to_run(utcnow() + timedelta(days=2))
    cancel = f"/quan-tri/thong-bao/{broadcast_id}/huy"
    assert logged_in.post(cancel, data={}).status_code == 403  # CSRF, as every POST
    assert _post(logged_in, h, cancel, "/quan-tri/thong-bao", {}).status_code == 303
    assert broadcast_store.broadcasts_to_run(utcnow() + timedelta(days=2)) == []
    assert f"Đã hủy thông báo #{broadcast_id}." in logged_in.get("/quan-tri/thong-bao").text
    _post(logged_in, h, cancel, "/quan-tri/thong-bao", {})
    assert "đã bắt đầu gửi hoặc không còn" in logged_in.get("/quan-tri/thong-bao").text
    assert [e.action for e in recent()].count("broadcast_cancel") == 1
    for data, message in [
        ({"text": "  ", "audience": ""}, "Bạn chưa nhập nội dung thông báo."),
        ({"text": "x", "audience": "Xã Không Có"}, "Xã/phường không có trong danh sách."),
        ({"text": "x", "audience": "", "when": "2020-01-01T08:00"}, "Thời điểm gửi đã qua."),
        ({"text": "x" * 3501, "audience": ""}, "Thông báo quá dài"),
    ]:
        refused = _post(logged_in, h, "/quan-tri/thong-bao", "/quan-tri/thong-bao", data)
        assert refused.status_code == 400 and message in refused.text
    with session_scope() as session:
        assert len(session.scalars(select(Broadcast)).all()) == 1


def test_handoff_answer_reaches_the_telegram_chat(
    logged_in: TestClient, h: Any, telegram: Any
) -> None:
    case, _new = store.open_case(777001, "vi")
    page = logged_in.get("/quan-tri/ho-tro")
    assert f"Yêu cầu #{case.id}" in page.text and "777001" not in page.text  # no chat ids shown
    response = _post(
        logged_in,
        h,
        f"/quan-tri/ho-tro/{case.id}/tra-loi",
        "/quan-tri/ho-tro",
        {"text": "Hồ sơ của bạn cần thêm bản sao <CCCD>."},
    )
    assert response.status_code == 303
    sent = telegram.sent(777001)  # delivered before the answer's redirect
    assert len(sent) == 1
    assert "Hồ sơ của bạn cần thêm bản sao <CCCD>." in sent[0]["text"]
    assert sent[0]["text"].startswith("Cán bộ trả lời:")  # the bot's own wording
    assert f"Đã gửi câu trả lời cho yêu cầu #{case.id}." in logged_in.get("/quan-tri/ho-tro").text
    entry = next(e for e in recent() if e.action == "handoff_answer")
    assert entry.detail == f"#{case.id}" and entry.username == h.username

    store.close_case(case.id, None)
    closed = _post(
        logged_in,
        h,
        f"/quan-tri/ho-tro/{case.id}/tra-loi",
        "/quan-tri/ho-tro",
        {"text": "Còn nữa"},
    )
    assert closed.status_code == 303
    assert "không còn chờ trả lời" in logged_in.get("/quan-tri/ho-tro").text
    assert len(telegram.sent(777001)) == 1


def test_handoff_answer_without_a_bot_token_says_so(
    logged_in: TestClient, h: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    case, _new = store.open_case(777002, "vi")
    _post(
        logged_in,
        h,
        f"/quan-tri/ho-tro/{case.id}/tra-loi",
        "/quan-tri/ho-tro",
        {"text": "Xin chào"},
    )
    assert "Chưa cấu hình bot Telegram" in logged_in.get("/quan-tri/ho-tro").text
    assert not [e for e in recent() if e.action == "handoff_answer"]
