"""Following from the web widget (both backends): the same consent, limit and end as Telegram, the
news written into the widget's inbox (never to Telegram), each message delivered once, also after
the notifier is killed inside its transaction; the widget's API end to end without Rasa (the
follow buttons are the web app's own, the lookup's offer is what the action records)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.follow.conftest import CODE, OTHER, row
from trolydvc.db import session_scope
from trolydvc.db.bot_models import Broadcast, Delivery
from trolydvc.db.follow_models import FollowCursor, FollowNotification
from trolydvc.db.web_models import WidgetMessage
from trolydvc.tracking import follow
from trolydvc.tracking.lookup import lookup
from trolydvc.tracking.lookup_guard import RateLimiter
from trolydvc.web import inbox
from trolydvc.web.app import create_app
from trolydvc.web.chat import SENDER_KEY

ROOT = Path(__file__).resolve().parents[2]
WEB = "web:widget-session-1"
CHAT = 9002
SESSION_SECRET = "widget-follow-test-secret"


def verify(sender: str, code: str = CODE) -> None:
    """The real lookup with the right digits, then the offer the dossier action records."""
    result = lookup(code, sender_id=sender, phone_last4="5678", limiter=RateLimiter())
    assert result.kind == "verified"
    assert follow.record_offer(sender, code)


def count(model: Any) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_widget_session_follows_under_the_same_rules(
    db_url: str, load: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TROLYDVC_FOLLOW_MAX_PER_CHAT", "1")
    load(row(CODE, "Đang xử lý"), row(OTHER, "Đang xử lý"))
    assert follow.follow(WEB, WEB, CODE).kind == "not_verified"
    verify(WEB)
    assert follow.follow("web:another", "web:another", CODE).kind == "not_verified"
    assert follow.follow(WEB, WEB, CODE).kind == "followed"
    assert follow.follow(WEB, WEB, CODE).kind == "already"
    verify(WEB, OTHER)
    assert follow.follow(WEB, WEB, OTHER).kind == "limit"  # the same limit as a Telegram chat
    # a Telegram chat is another follower: its own limit, its own list
    verify(f"tg:{CHAT}")
    assert follow.follow(CHAT, f"tg:{CHAT}", CODE).kind == "followed"
    assert [f.code for f in follow.followed(WEB)] == [CODE]
    assert [f.code for f in follow.followed(CHAT)] == [CODE]
    assert follow.unfollow(WEB, CODE) == 1
    assert follow.followed(WEB) == [] and [f.code for f in follow.followed(CHAT)] == [CODE]
    assert follow.follow(WEB, WEB, OTHER).kind == "followed"
    assert follow.stats().following_chats == 2


def test_widget_news_goes_to_its_inbox_once_and_never_to_telegram(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    verify(WEB)
    verify(f"tg:{CHAT}")
    follow.follow(WEB, WEB, CODE)
    follow.follow(CHAT, f"tg:{CHAT}", CODE)
    load(row(CODE, "Chờ bổ sung"))
    report = follow.notify()
    assert (report.notifications, report.messages, report.widget_messages) == (2, 1, 1)
    with session_scope() as s:  # one Telegram delivery, for the chat only
        assert s.scalars(select(Delivery.chat_id)).all() == [CHAT]
    [telegram_text] = follow.delivery_texts(_deliveries()).values()
    assert "<b>" in telegram_text and "/tracuu" in telegram_text  # the bot's HTML and commands

    first = inbox.fetch(WEB)
    [message] = first.messages
    text = message["text"]
    assert text.startswith(f"Hồ sơ {CODE} đã chuyển sang: Chờ bổ sung.")
    assert "<b>" not in text and "/tracuu" not in text and "/botheodoi" not in text
    assert f"gửi mã hồ sơ {CODE}" in text  # the widget looks a dossier up by its code
    assert "Nguyễn" not in text and "5678" not in text and "0912" not in text  # nothing personal
    assert [b["title"] for b in message["buttons"]] == [
        f"Ngừng theo dõi {CODE}",
        "Hồ sơ đang theo dõi",
    ]
    assert first.poll == inbox.follow_poll() and not first.handoff
    assert inbox.fetch("web:someone-else").messages == []  # another session reads nothing
    # Acknowledged by the next request: neither this tab nor a new one gets it again.
    assert inbox.fetch(WEB, message["id"]).messages == []
    assert inbox.fetch(WEB, 0).messages == []
    # Again, and after re-importing the same export: nothing new.
    assert follow.notify().notifications == 0
    load(row(CODE, "Chờ bổ sung"))
    assert follow.notify().notifications == 0
    assert count(WidgetMessage) == 1
    stats = follow.stats()
    assert (stats.widget_messages, stats.widget_seen, stats.messages["pending"]) == (1, 1, 1)


def _deliveries() -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(Delivery.id)))


def test_a_widget_only_run_starts_no_telegram_broadcast(db_url: str, load: Any) -> None:
    load(row(CODE, "Đang xử lý", due="20/11/2026"))
    verify(WEB)
    follow.follow(WEB, WEB, CODE)
    report = follow.notify()  # the due date has passed without a result
    assert (report.overdue, report.widget_messages, report.broadcast_id) == (1, 1, None)
    assert count(Broadcast) == 0 and count(Delivery) == 0
    [message] = inbox.fetch(WEB).messages
    assert "20/11/2026" in message["text"] and "quá hạn" in message["text"]


def test_a_notifier_killed_inside_its_transaction_queues_nothing_then_exactly_once(
    db_url: str, load: Any, tmp_path: Path
) -> None:
    load(row(CODE, "Đang xử lý"))
    verify(WEB)
    follow.follow(WEB, WEB, CODE)
    load(row(CODE, "Đã có kết quả", resolved="08/11/2026 10:00"))
    follow._ensure_cursor()
    marker = tmp_path / "inside"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/follow/notifier_process.py"), str(marker)],
        env=dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_URL=db_url),
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the notifier process ended early"
            assert time.monotonic() < deadline, "the notifier never reached its transaction"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert count(WidgetMessage) == 0 and count(FollowNotification) == 0
    with session_scope() as s:
        assert s.get(FollowCursor, follow.CURSOR).last_id == 0
    assert inbox.fetch(WEB).messages == []
    report = follow.notify()  # the next run: everything, once
    assert (report.notifications, report.widget_messages) == (1, 1)
    assert follow.notify().notifications == 0
    [message] = inbox.fetch(WEB).messages
    assert "Đã có kết quả" in message["text"]


# ---- the widget's API (no Rasa: these buttons are the web app's own) ----------------------------
@pytest.fixture
def http(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TROLYDVC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("RASA_REST_TOKEN", "rest-token-for-tests")
    # Nothing listens on port 9 (discard): Rasa is away, so any answer here is the web app's.
    with TestClient(create_app(rasa_url="http://127.0.0.1:9")) as client:
        yield client


def sender_of(client: TestClient) -> str:
    """The session's sender id, read from the signed cookie as the web app reads it."""
    signed = client.cookies.get("trolydvc_session")
    assert signed
    data = TimestampSigner(SESSION_SECRET).unsign(signed)
    return json.loads(base64.b64decode(data))[SENDER_KEY]


def say(client: TestClient, message: str) -> dict[str, Any]:
    response = client.post("/api/chat", json={"message": message})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_widget_follows_lists_and_stops_through_its_api(http: TestClient, load: Any) -> None:
    load(row(CODE, "Đang xử lý"))
    answer = say(http, follow.FOLLOWED_PAYLOAD)
    assert "chưa theo dõi hồ sơ nào" in answer["messages"][0]["text"]
    assert answer["poll"] == 0 and answer["handoff"] is False
    sender = sender_of(http)
    button = follow.code_payload(follow.FOLLOW_PAYLOAD, CODE)
    refused = say(http, button)  # not verified in this conversation
    assert "xác nhận 4 số cuối" in refused["messages"][0]["text"]
    verify(sender)  # what the dossier action records after the verified lookup
    followed = say(http, button)
    assert followed["messages"][0]["text"].startswith(f"Bạn đã theo dõi hồ sơ {CODE}.")
    assert followed["poll"] == inbox.follow_poll()
    with TestClient(http.app) as stranger:  # another browser: its own session, nothing of ours
        assert stranger.post("/api/inbox", json={"after": 0}).json() == {
            "messages": [],
            "handoff": False,
            "poll": 0,
        }
        assert "xác nhận 4 số cuối" in say(stranger, button)["messages"][0]["text"]

    load(row(CODE, "Đã có kết quả", resolved="08/11/2026 10:00"))
    follow.notify()
    got = http.post("/api/inbox", json={"after": 0}).json()
    [news] = got["messages"]
    assert news["from"] == "bot" and f"Hồ sơ {CODE} đã chuyển sang: Đã có kết quả." in news["text"]
    assert http.post("/api/inbox", json={"after": news["id"]}).json()["messages"] == []
    listed = say(http, follow.FOLLOWED_PAYLOAD)["messages"][0]
    assert f"• {CODE}: Đã có kết quả" in listed["text"]
    stop = next(b for b in news["buttons"] if b["title"] == f"Ngừng theo dõi {CODE}")
    stopped = say(http, stop["payload"])
    assert stopped["messages"][0]["text"] == f"Đã ngừng theo dõi hồ sơ {CODE}."
    assert stopped["poll"] == 0
    assert follow.followed(sender) == []
    assert http.post("/api/inbox", json={"after": -1}).status_code == 422
