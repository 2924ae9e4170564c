"""The Rasa-side store helpers (pure functions) and the purge of stored conversations on a real
PostgreSQL database."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine, text

from trolydvc.rasa_stores import MASK, PRIVATE_REPLY, mask_digits, may_proceed, redact_event


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("1234", MASK),
        ("số cuối 5678 nhé", f"số cuối {MASK} nhé"),
        ("0912 345 678", MASK),
        ("+84912345678", MASK),
        ("hồ sơ HS-2026-000123", "hồ sơ HS-2026-000123"),  # a dossier code is not personal
        ("thống kê quý 3/2026", "thống kê quý 3/2026"),
        ("lệ phí 50000 đồng", "lệ phí 50000 đồng"),
    ],
)
def test_mask_digits(said, kept):
    assert mask_digits(said) == kept


def test_user_event_is_masked_everywhere():
    event = {
        "event": "user",
        "text": "1234",
        "parse_data": {"text": "1234", "entities": [{"entity": "x", "value": "1234"}]},
    }
    stored = json.dumps(redact_event(event))
    assert "1234" not in stored and MASK in stored


def test_private_bot_reply_is_replaced_and_others_kept():
    private = {"event": "bot", "text": "Hồ sơ của Nguyễn Văn A", "metadata": {"private": True}}
    public = {"event": "bot", "text": "Thủ tục đăng ký khai sinh", "metadata": {}}
    assert redact_event(private)["text"] == PRIVATE_REPLY
    assert "Nguyễn" not in json.dumps(redact_event(private))
    assert redact_event(public) == public
    slot = {"event": "slot", "name": "procedure", "value": "1.001193"}
    assert redact_event(slot) == slot


def test_lock_waiter_goes_on_when_earlier_tickets_expired_even_if_its_own_did():
    now = 100.0
    assert not may_proceed(2, [(1, 101.0), (2, 101.2)], now)  # the first still holds it
    assert may_proceed(2, [(1, 99.0), (2, 99.2)], now)  # both expired: Rasa would hang here
    assert may_proceed(1, [(1, 101.0), (2, 101.2)], now)


@pytest.fixture
def events_db(require_service):
    from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres

    try:
        with scratch_postgres("trolydvc_purge", migrate=False) as url:
            engine = create_engine(url)
            with engine.begin() as conn:  # Rasa's SQLTrackerStore table, as it creates it
                conn.execute(
                    text(
                        "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) "
                        "NOT NULL, type_name VARCHAR(255) NOT NULL, timestamp FLOAT, "
                        "intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
                    )
                )
            yield url, engine
            engine.dispose()
    except PostgresUnavailable as exc:
        require_service(str(exc))


@pytest.mark.postgres
def test_purge_deletes_whole_silent_conversations_only(events_db):
    from trolydvc.cluster.retention import purge_conversations

    url, engine = events_db
    day = 86400
    now = time.time()
    rows = [
        ("old", now - 40 * day),
        ("old", now - 35 * day),
        ("active", now - 40 * day),  # started long ago, still talking: kept whole
        ("active", now - 1 * day),
        ("recent", now - 2 * day),
    ]
    with engine.begin() as conn:
        for sender, ts in rows:
            conn.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp) VALUES (:s, 'user', :t)"
                ),
                {"s": sender, "t": ts},
            )
    assert purge_conversations(30, url) == 1
    with engine.connect() as conn:
        left = conn.execute(text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id"))
        assert dict(left.all()) == {"active": 2, "recent": 1}
    assert purge_conversations(0, url) == 2
    with pytest.raises(ValueError):
        purge_conversations(-1, url)


@pytest.mark.postgres
def test_purge_command(events_db, monkeypatch):
    from click.testing import CliRunner

    from trolydvc.cli import main

    url, engine = events_db
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp) VALUES ('x', 'user', 0)")
        )
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["conversations", "purge", "--older-than", "7"])
    assert result.exit_code == 0, result.output
    assert "Đã xoá 1 hội thoại" in result.output
