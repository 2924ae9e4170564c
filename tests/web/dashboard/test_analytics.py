"""Analytics from the conversation log, the ratings and the handoff requests: figures from known
rows (SQLite and PostgreSQL), the page, the exports of the questions not understood (audited),
the retention purge."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot import store
from tests.e2e.test_rasa_server import run_in_rasa_env
from trolydvc.catalog import load_catalog
from trolydvc.cluster.commands import conversations
from trolydvc.cluster.retention import purge_conversation_log
from trolydvc.conversation_log import ANSWERED, FALLBACK, OUT_OF_SCOPE
from trolydvc.db import reset_engines, session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Feedback
from trolydvc.db.log_models import ConversationLogEntry
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
from trolydvc.db.web_models import WebAuditEntry
from trolydvc.tracking.stats import parse_period_text
from trolydvc.web.dashboard import analytics

UTC = timezone.utc
A, B, C = "a" * 32, "b" * 32, "c" * 32


def _codes() -> tuple[str, str]:
    codes = load_catalog().codes()
    return codes[0], codes[1]


def seed_november() -> None:
    """Three senders in November 2026 (Vietnam time), and rows just outside it."""
    p1, p2 = _codes()

    def row(at: datetime, sender: str, outcome: str = ANSWERED, **kw: Any) -> ConversationLogEntry:
        kw.setdefault("channel", "telegram" if sender == C else "web")
        kw.setdefault("conversation_start", False)
        kw.setdefault("human", False)
        return ConversationLogEntry(at=at, sender_hash=sender, outcome=outcome, **kw)

    t = datetime
    rows = [
        # C: a conversation begun on 31/10 (Vietnam) goes on past midnight into November
        row(t(2026, 10, 31, 16, 0, tzinfo=UTC), C, conversation_start=True, intent="greet"),
        row(t(2026, 10, 31, 17, 30, tzinfo=UTC), C, intent="ask_fee", procedure=p2),
        # A: 10/11, asks for an official; a new conversation at 00:30 on 11/11 (Vietnam)
        row(t(2026, 11, 10, 2, 0, tzinfo=UTC), A, conversation_start=True, intent="ask_fee", procedure=p1),
        row(t(2026, 11, 10, 2, 1, tzinfo=UTC), A, FALLBACK, intent="nlu_fallback", text="cho hỏi 0000", guess="ask_fee"),
        row(t(2026, 11, 10, 2, 2, tzinfo=UTC), A, intent="request_human", human=True),
        row(t(2026, 11, 10, 17, 30, tzinfo=UTC), A, conversation_start=True, intent="greet"),
        # B: 11/11
        row(t(2026, 11, 11, 3, 0, tzinfo=UTC), B, OUT_OF_SCOPE, conversation_start=True, intent="out_of_scope", text="thời tiết hôm nay", guess="out_of_scope"),
        row(t(2026, 11, 11, 3, 1, tzinfo=UTC), B, intent="ask_required_documents", procedure=p1),
        row(t(2026, 11, 11, 3, 2, tzinfo=UTC), B, FALLBACK, intent="inform", text="Cho hỏi 0000?", guess="inform"),
        # 00:00 on 1/12 in Vietnam: December
        row(t(2026, 11, 30, 17, 0, tzinfo=UTC), B, FALLBACK, conversation_start=True, intent="nlu_fallback", text="tháng sau", guess="greet"),
    ]  # fmt: skip
    with session_scope() as session:
        session.add_all(rows)


def check_november(result: analytics.Analytics) -> None:
    p1, p2 = _codes()
    assert (result.messages, result.understood, result.fallbacks, result.out_of_scope) == (
        8,
        5,
        2,
        1,
    )
    assert result.understood_share == 5 / 8
    # A twice, B, and C's conversation that began in October; A's first asked for an official
    assert (result.conversations, result.contained, result.containment) == (4, 3, 0.75)
    assert [(d.day, d.messages, d.understood, d.conversations, d.human) for d in result.days] == [
        (date(2026, 11, 1), 1, 1, 0, 0),
        (date(2026, 11, 10), 3, 2, 1, 1),
        (date(2026, 11, 11), 4, 2, 2, 0),
    ]
    assert result.channels == [("web", 7), ("telegram", 1)]
    assert [(p.code, p.messages, p.senders) for p in result.procedures] == [(p1, 2, 2), (p2, 1, 1)]
    assert result.procedures[0].name == load_catalog().get(p1).name
    assert [(u.text, u.count, u.outcome, u.guess) for u in result.unanswered] == [
        ("Cho hỏi 0000?", 2, FALLBACK, "inform"),  # the latest wording of the two
        ("thời tiết hôm nay", 1, OUT_OF_SCOPE, "out_of_scope"),
    ]
    assert result.unanswered_distinct == 2


def test_figures_from_known_rows(database: str) -> None:
    seed_november()
    check_november(analytics.compute(parse_period_text("11/2026")))
    empty = analytics.compute(parse_period_text("2020"))
    assert (empty.messages, empty.conversations, empty.unanswered) == (0, 0, [])
    assert empty.understood_share is None and empty.containment is None


@pytest.mark.postgres
def test_figures_on_postgres(
    monkeypatch: pytest.MonkeyPatch, require_service: Callable[[str], NoReturn]
) -> None:
    """The Vietnam day is computed by the database: another expression on PostgreSQL."""
    try:
        with scratch_postgres("trolydvc_analytics") as url:
            monkeypatch.setenv("DATABASE_URL", url)
            reset_engines()
            try:
                for days_ago in (29, 31):
                    with session_scope() as session:
                        session.add(
                            ConversationLogEntry(
                                at=utcnow() - timedelta(days=days_ago),
                                channel="web",
                                sender_hash=A,
                                outcome=ANSWERED,
                            )
                        )
                assert purge_conversation_log(30, url) == 1
                assert purge_conversation_log(0, url) == 1
                seed_november()
                check_november(analytics.compute(parse_period_text("11/2026")))
            finally:
                reset_engines()
    except PostgresUnavailable as exc:
        require_service(str(exc))


def test_page_shows_the_log_ratings_and_handoffs(logged_in: TestClient) -> None:
    seed_november()
    page = logged_in.get("/quan-tri/phan-tich", params={"ky": "11/2026"})
    assert page.status_code == 200
    text = page.text
    assert 'id="messages">8<' in text and 'id="understood-share">62,50%<' in text
    assert 'id="conversations">4<' in text and 'id="containment">75,00%<' in text
    assert 'id="fallbacks">2<' in text and 'id="out-of-scope">1<' in text
    assert "<td>10/11/2026</td><td>3</td><td>2</td><td>66,67%</td><td>1</td><td>1</td>" in text
    assert "<td>Cho hỏi 0000?</td><td>2</td><td>Không hiểu</td><td>inform</td>" in text
    assert f"<td>{load_catalog().get(_codes()[0]).name}</td>" in text
    assert "chưa lưu nhật ký" not in text and 'id="stored">Nhật ký tin nhắn giữ 30 ngày' in text
    assert "cau-chua-hieu.csv?ky=11/2026" in text


def test_ratings_and_handoffs_of_the_period(logged_in: TestClient) -> None:
    code = load_catalog().codes()[0]
    for rating in (5, 4, 4):
        store.save_feedback("tg:abc", rating, None, code)
    store.save_feedback("tg:def", 1, "chậm", "handoff:1")
    with session_scope() as session:  # a rating of last year is outside the period
        session.add(
            Feedback(sender_id="tg:old", rating=1, created_at=utcnow() - timedelta(days=400))
        )
    store.open_case(990001, "vi")
    store.open_case(990002, "vi")

    page = logged_in.get("/quan-tri/phan-tich", params={"ky": "năm nay"})
    assert page.status_code == 200
    assert 'id="ratings">4<' in page.text and 'id="average">3,50<' in page.text
    assert 'id="handoffs">2<' in page.text
    assert f"<td>{load_catalog().get(code).name}</td><td>3</td><td>4,33</td>" in page.text
    assert "<td>Trao đổi với cán bộ</td><td>1</td><td>1,00</td>" in page.text


def test_empty_period_and_a_bad_one(logged_in: TestClient) -> None:
    page = logged_in.get("/quan-tri/phan-tich", params={"ky": "2020"})
    assert 'id="ratings">0<' in page.text and "Chưa có đánh giá." in page.text
    assert 'id="messages">0<' in page.text and "Không có câu nào." in page.text
    bad = logged_in.get("/quan-tri/phan-tich", params={"ky": "quý 5"})
    assert bad.status_code == 400 and "Không hiểu kỳ" in bad.text
    export = logged_in.get("/quan-tri/phan-tich/cau-chua-hieu.csv", params={"ky": "quý 5"})
    assert export.status_code == 400


def _exports(database: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(select(WebAuditEntry.detail).where(WebAuditEntry.action == "export"))
        )


def test_csv_export_of_the_questions_not_understood(logged_in: TestClient, database: str) -> None:
    seed_november()
    with session_scope() as session:  # a citizen's text must not become a spreadsheet formula
        session.add(
            ConversationLogEntry(
                at=datetime(2026, 11, 20, tzinfo=UTC),
                channel="web",
                sender_hash=A,
                outcome=FALLBACK,
                text='=HYPERLINK("http://x")',
                guess="greet",
            )
        )
    response = logged_in.get("/quan-tri/phan-tich/cau-chua-hieu.csv", params={"ky": "11/2026"})
    assert response.status_code == 200
    assert (
        'filename="cau-chua-hieu-2026-11-01-2026-11-30.csv"'
        in response.headers["content-disposition"]
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("Câu trợ lý chưa hiểu, tháng 11/2026")
    assert rows[2] == ["Cho hỏi 0000?", "2", "11/11/2026 10:02", "Không hiểu", "inform"]
    assert ['\'=HYPERLINK("http://x")', "1"] in [r[:2] for r in rows]
    assert len(rows) == 2 + 3
    assert _exports(database) == ["CSV câu chưa hiểu tháng 11/2026; 3 câu"]


def test_nlu_export_is_rasa_training_data(logged_in: TestClient, database: str) -> None:
    seed_november()
    with session_scope() as session:  # brackets that would read as an entity annotation
        session.add(
            ConversationLogEntry(
                at=datetime(2026, 11, 20, tzinfo=UTC),
                channel="web",
                sender_hash=A,
                outcome=FALLBACK,
                text="[giấy](tờ) gì",
                guess="ask_required_documents",
            )
        )
    response = logged_in.get("/quan-tri/phan-tich/cau-chua-hieu.yml", params={"ky": "11/2026"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith(
        'cau-chua-hieu-2026-11-01-2026-11-30.yml"'
    )
    text = response.content.decode("utf-8")
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    assert {b["intent"]: b["examples"] for b in data["nlu"]} == {
        "ask_required_documents": "- [giấy] (tờ) gì\n",
        "inform": "- Cho hỏi 0000?\n",
        "out_of_scope": "- thời tiết hôm nay\n",
    }
    assert _exports(database) == ["YML câu chưa hiểu tháng 11/2026; 3 câu"]
    empty = logged_in.get("/quan-tri/phan-tich/cau-chua-hieu.yml", params={"ky": "2020"})
    assert yaml.safe_load(empty.content)["nlu"] == []


READER = r"""
import sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
data = RasaYAMLReader().reads(open(sys.argv[1], encoding="utf-8").read())
examples = sorted((m.get("intent"), m.get("text"), len(m.get("entities") or [])) for m in data.intent_examples)
assert examples == [("ask_fee", "cho hỏi 0000", 0), ("out_of_scope", "[giấy] (tờ) gì", 0)], examples
print("ok")
"""


@pytest.mark.rasa
def test_rasa_reads_the_nlu_export(tmp_path: Any) -> None:
    period = parse_period_text("11/2026")
    at = datetime(2026, 11, 2, tzinfo=UTC)
    items = [
        analytics.Unanswered("cho hỏi 0000", 3, FALLBACK, "ask_fee", at),
        analytics.Unanswered("[giấy](tờ) gì", 1, OUT_OF_SCOPE, None, at),
    ]
    path = tmp_path / "candidates.yml"
    path.write_text(analytics.unanswered_nlu_yaml(period, items), encoding="utf-8")
    run_in_rasa_env(READER, str(path))


def test_retention_purge_and_its_command(database: str) -> None:
    def add(days_ago: float) -> None:
        with session_scope() as session:
            session.add(
                ConversationLogEntry(
                    at=utcnow() - timedelta(days=days_ago),
                    channel="web",
                    sender_hash=A,
                    outcome=ANSWERED,
                )
            )

    def count() -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(ConversationLogEntry)) or 0)

    for days in (0.5, 29, 31, 45):
        add(days)
    assert purge_conversation_log(30) == 2 and count() == 2
    with pytest.raises(ValueError):
        purge_conversation_log(-1)
    result = CliRunner().invoke(conversations, ["purge", "--older-than", "10"])
    assert result.exit_code == 0, result.output
    assert "Đã xoá 1 dòng nhật ký tin nhắn cũ hơn 10 ngày." in result.output and count() == 1


def test_command_line_prints_the_same_figures(database: str, tmp_path: Any) -> None:
    from trolydvc.cli import main

    seed_november()
    out_csv, out_nlu = tmp_path / "q.csv", tmp_path / "q.yml"
    result = CliRunner().invoke(
        main,
        [
            "analytics",
            "--ky",
            "11/2026",
            "--export-csv",
            str(out_csv),
            "--export-nlu",
            str(out_nlu),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "Phân tích tháng 11/2026",
        "Tin nhắn: 8; trợ lý hiểu 5 (62,50%), không hiểu 2, ngoài phạm vi 1",
        "Hội thoại: 4; không cần chuyển cán bộ 3 (75,00%)",
    ]
    assert "  2 × Cho hỏi 0000? [Không hiểu; inform]" in lines
    assert out_csv.read_bytes() == analytics.unanswered_csv(
        parse_period_text("11/2026"), analytics.unanswered(parse_period_text("11/2026"))
    )
    assert yaml.safe_load(out_nlu.read_text(encoding="utf-8"))["version"] == "3.1"
    bad = CliRunner().invoke(main, ["analytics", "--ky", "quý 5"])
    assert bad.exit_code == 2 and "--ky" in bad.output


def test_the_page_shows_who_follows_dossiers(
    logged_in: TestClient, tmp_path: Any, monkeypatch: Any
) -> None:
    from tests.follow.conftest import CODE, HEADER, OTHER, row
    from trolydvc.tracking import follow, privacy
    from trolydvc.tracking.importer import import_file

    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    privacy._key.cache_clear()
    export = tmp_path / "a.csv"
    export.write_text(HEADER + row(CODE, "Đang xử lý") + row(OTHER, "Đang xử lý"), "utf-8")
    assert import_file(export).errors == []
    for chat, sender, code in ((77, "tg:77", CODE), (None, "web:abc", CODE), (78, "tg:78", OTHER)):
        assert follow.record_offer(sender, code)
        assert follow.follow(chat if chat is not None else sender, sender, code).kind == "followed"
    page = logged_in.get("/quan-tri/phan-tich", params={"ky": "11/2026"}).text
    assert 'id="followed-dossiers">2<' in page and 'id="followers">3<' in page
    assert 'id="follow-notifications">0<' in page
