"""Handoff from the widget (both backends): a case for the widget session with its last messages,
what the citizen types reaches the case, the dashboard desk answers into the widget's inbox (each
answer delivered once, to that session only), closes the case, and idle cases end; the Telegram
cases and the bot's expiry are untouched. The widget's API end to end without Rasa."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import text, update

from bot import store
from trolydvc.db import session_scope
from trolydvc.db.base import get_engine, reset_engines, utcnow
from trolydvc.db.bot_models import HandoffCase
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
from trolydvc.web import handoff, inbox
from trolydvc.web.app import create_app
from trolydvc.web.chat import SENDER_KEY
from trolydvc.web.dashboard import desk
from trolydvc.web.dashboard.accounts import add_account, disable_account

WEB = "web:desk-session-1"
TABLES = ("widget_messages", "handoff_messages", "handoff_cases", "web_audit_log", "web_accounts")
SESSION_SECRET = "inbox-test-secret"


@pytest.fixture(scope="module")
def postgres_url(require_service: Callable[[str], NoReturn]) -> Iterator[str]:
    try:
        with scratch_postgres("trolydvc_inbox_test") as url:
            yield url
    except PostgresUnavailable as exc:
        require_service(f"PostgreSQL not reachable at {exc}")


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('inbox') / 'inbox.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = request.getfixturevalue(f"{request.param}_url")
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engines()
    with get_engine(url).begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    yield url
    reset_engines()


@pytest.fixture
def official(db_url: str) -> Any:
    """A dashboard account: someone can read the desk."""
    return add_account("canbo.motcua", "mat-khau-du-dai-1", "official")[0]


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine in a thread of its own (a session's Playwright holds this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_no_dashboard_account_means_no_case_but_the_contacts(db_url: str) -> None:
    [message] = handoff.start(WEB, ["cho tôi gặp cán bộ"], "- Đường dây nóng: 0233 123 456")
    assert message["text"].startswith("Xin lỗi, hiện chưa có cán bộ tiếp nhận")
    assert "0233 123 456" in message["text"]
    assert handoff.active_case(WEB) is None
    add_account("motcua.tam", "mat-khau-du-dai-1", "official")
    disable_account("motcua.tam")
    assert not handoff.desk_available()


def test_a_widget_case_on_the_desk_answered_into_the_inbox_once(db_url: str, official: Any) -> None:
    telegram_case, _ = store.open_case(424242, "vi")
    [opened] = handoff.start(WEB, ["làm giấy khai sinh cần gì", "cho tôi gặp cán bộ"], None)
    assert opened["text"].startswith("Tôi đã chuyển cuộc trò chuyện đến cán bộ bộ phận một cửa.")
    assert opened["buttons"] == [{"title": handoff.END_TITLE, "payload": handoff.END_PAYLOAD}]
    [again] = handoff.start(WEB, [], None)  # one open case per session
    assert again["text"].startswith("Yêu cầu của Bạn đã được chuyển đến cán bộ.")
    case = handoff.active_case(WEB)
    assert case is not None and desk.channel_of(case) == "widget"
    handoff.relay(case, "con tôi sinh ở bệnh viện tỉnh")

    cases = {c.id: c for c in desk.open_cases()}
    assert cases[telegram_case.id].channel == "telegram" and cases[telegram_case.id].messages == ()
    shown = cases[case.id]
    assert shown.channel_name == "trang web"
    assert [(m.author, m.text) for m in shown.messages] == [
        ("citizen", "làm giấy khai sinh cần gì"),
        ("citizen", "cho tôi gặp cán bộ"),
        ("citizen", "con tôi sinh ở bệnh viện tỉnh"),
    ]
    assert inbox.fetch(WEB).messages == []  # the citizen's own words never come back
    assert inbox.fetch(WEB).poll == inbox.HANDOFF_POLL

    run(desk.answer(case.id, "Bạn mang giấy chứng sinh <bản chính> nhé."))
    [answer] = inbox.fetch(WEB).messages
    assert answer["from"] == "official"
    assert answer["text"] == "Cán bộ trả lời:\nBạn mang giấy chứng sinh <bản chính> nhé."
    assert inbox.fetch("web:another-session").messages == []
    assert inbox.fetch(WEB, answer["id"]).messages == []  # acknowledged: shown once
    assert inbox.fetch(WEB, 0).messages == []  # a new tab of the session: not again
    said = desk.open_cases()[-1].messages[-1]
    assert (said.author, said.seen) == ("official", True)  # the desk sees it was fetched

    with pytest.raises(ValueError, match="Telegram"):
        desk.close(telegram_case.id)
    desk.close(case.id)
    [closing] = inbox.fetch(WEB, answer["id"]).messages
    assert closing["text"] == "Cán bộ đã kết thúc cuộc trao đổi. " + (
        "Tôi là trợ lý tự động, Bạn có thể tiếp tục đặt câu hỏi."
    )
    found = inbox.fetch(WEB, closing["id"])
    assert (found.messages, found.handoff, found.poll) == ([], False, 0)
    with pytest.raises(ValueError, match="không còn chờ"):
        desk.close(case.id)
    with pytest.raises(ValueError, match="không còn chờ"):
        run(desk.answer(case.id, "Còn nữa"))
    assert store.get_case(telegram_case.id).status == "open"  # type: ignore[union-attr]


def test_idle_widget_cases_end_and_the_bot_leaves_them_alone(db_url: str, official: Any) -> None:
    handoff.start(WEB, [], None)
    telegram_case, _ = store.open_case(434343, "vi")
    with session_scope() as s:
        s.execute(update(HandoffCase).values(last_activity_at=utcnow() - timedelta(hours=5)))
    # The bot's expiry ends its Telegram chats' cases only (it would write to a Telegram chat).
    assert [c.id for c in store.expire_cases(timedelta(hours=4))] == [telegram_case.id]
    assert handoff.active_case(WEB) is not None
    assert handoff.expire(timedelta(hours=4)) == 1
    assert handoff.active_case(WEB) is None and handoff.expire(timedelta(hours=4)) == 0
    [closed] = inbox.fetch(WEB).messages
    assert closed["text"].startswith(
        "Cuộc trao đổi với cán bộ đã tự đóng do lâu không có hoạt động."
    )


def test_a_session_and_a_chat_are_exactly_one_of_the_two(db_url: str) -> None:
    with pytest.raises(Exception, match="(?i)check|constraint"), session_scope() as s:
        s.add(HandoffCase(chat_id=1, web_sender="web:x"))


# ---- the widget's API (no Rasa: a case is opened by the assistant's answer, which the domain
# function stands for here; the browser test asks the real assistant) ------------------------
@pytest.fixture
def http(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("TROLYDVC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("RASA_REST_TOKEN", "rest-token-for-tests")
    # Nothing listens on port 9 (discard): Rasa is away, so any answer here is the web app's.
    with TestClient(create_app(rasa_url="http://127.0.0.1:9")) as client:
        yield client


def sender_of(client: TestClient) -> str:
    data = TimestampSigner(SESSION_SECRET).unsign(client.cookies["trolydvc_session"])
    return json.loads(base64.b64decode(data))[SENDER_KEY]


def test_the_widget_talks_to_the_official_through_its_api(http: TestClient, official: Any) -> None:
    assert http.post("/api/inbox", json={"after": 0}).json()["poll"] == 0  # no session yet
    assert (
        "không trao đổi với cán bộ"
        in http.post("/api/chat", json={"message": handoff.END_PAYLOAD}).json()["messages"][0][
            "text"
        ]
    )
    sender = sender_of(http)
    case, _ = handoff.open_case(sender, [])
    relayed = http.post("/api/chat", json={"message": "tôi cần nộp thêm giấy gì?"})
    assert relayed.status_code == 200  # not Rasa's 503: the text went to the case
    assert relayed.json() == {"messages": [], "relayed": True, "handoff": True, "poll": 3}
    assert http.post("/api/chat", json={"message": "/greet"}).status_code == 503  # buttons: Rasa
    run(desk.answer(case.id, "Bạn cần thêm bản sao CCCD."))
    got = http.post("/api/inbox", json={"after": 0})
    assert got.headers["cache-control"] == "no-store"
    [answer] = got.json()["messages"]
    assert answer["text"].endswith("Bạn cần thêm bản sao CCCD.") and got.json()["handoff"]
    with TestClient(http.app) as stranger:  # another browser: nothing of this session
        stranger.post("/api/chat", json={"message": handoff.END_PAYLOAD})
        assert stranger.post("/api/inbox", json={"after": 0}).json()["messages"] == []
    ended = http.post("/api/chat", json={"message": handoff.END_PAYLOAD}).json()
    assert ended["messages"][0]["text"].startswith("Bạn đã kết thúc cuộc trao đổi với cán bộ.")
    assert (ended["handoff"], ended["poll"]) == (False, 0)
    # the citizen ended it: the answer came in the chat, nothing more in the inbox
    assert http.post("/api/inbox", json={"after": answer["id"]}).json()["messages"] == []
    conversation = [m for c in desk.open_cases() for m in c.messages]
    assert conversation == []  # the case is no longer on the desk
