"""Analytics from the stored ratings and handoff requests; what is not stored is said, not guessed."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from bot import store
from trolydvc.catalog import load_catalog
from trolydvc.db import session_scope
from trolydvc.db.base import utcnow
from trolydvc.db.bot_models import Feedback


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
    assert "chưa lưu nhật ký hội thoại" in page.text


def test_empty_period_and_a_bad_one(logged_in: TestClient) -> None:
    page = logged_in.get("/quan-tri/phan-tich", params={"ky": "2020"})
    assert 'id="ratings">0<' in page.text and "Chưa có đánh giá." in page.text
    bad = logged_in.get("/quan-tri/phan-tich", params={"ky": "quý 5"})
    assert bad.status_code == 400 and "Không hiểu kỳ" in bad.text
