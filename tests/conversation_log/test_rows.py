"""The conversation log's rows from streamed events (pure functions, as the Rasa-side broker runs
them): outcome, redaction, sender hash, channel, conversation starts, turn boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from trolydvc.conversation_log import (
    ANSWERED,
    COLUMNS,
    FALLBACK,
    MAX_TEXT_CHARS,
    OUT_OF_SCOPE,
    TurnCollector,
    channel_of,
    rasa_database_url,
    redact,
    sender_hash,
    sender_key,
    turn_row,
    verdict,
)
from trolydvc.db.log_models import ConversationLogEntry

KEY = bytes.fromhex(sender_key(b"test-key"))


def user(text: str, intent: str, confidence: float = 0.9, **extra: Any) -> dict[str, Any]:
    ranking = [{"name": intent, "confidence": confidence}, {"name": "ask_fee", "confidence": 0.05}]
    return {
        "event": "user",
        "timestamp": 1_780_000_000.5,
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": ranking,
            "entities": [],
        },
        "metadata": extra.pop("metadata", {}),
        **extra,
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def bot(text: str, **metadata: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": metadata}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


LISTEN = action("action_listen")


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("gọi cho tôi 0912 345 678 nhé", "gọi cho tôi 0000 000 000 nhé"),
        ("cccd 038095001234 của tôi", "cccd 000000000000 của tôi"),
        ("số cuối 5678", "số cuối 0000"),
        ("hồ sơ 000.00.20.h99-250415-9002 sao rồi", "hồ sơ 000.00.00.H00-000000-0000 sao rồi"),
        ("mail nguyen.van.a+1@gmail.com giúp", "mail <email> giúp"),
        ("dòng một\ndòng\thai\x00  ba", "dòng một dòng hai ba"),
        ("lỗi \ud800 mã", "lỗi ? mã"),
        ("thời tiết hôm nay", "thời tiết hôm nay"),
    ],
)
def test_redact(said: str, kept: str) -> None:
    assert redact(said) == kept


def test_redact_caps_the_length() -> None:
    kept = redact("a" * 5000)
    assert len(kept) == MAX_TEXT_CHARS and kept.endswith("…")


def test_sender_hash_is_keyed_and_stable() -> None:
    assert sender_hash(KEY, "tg:12345") == sender_hash(KEY, "tg:12345")
    assert sender_hash(KEY, "tg:12345") != sender_hash(KEY, "tg:12346")
    other_key = bytes.fromhex(sender_key(b"another-deployment"))
    assert sender_hash(other_key, "tg:12345") != sender_hash(KEY, "tg:12345")
    assert "12345" not in sender_hash(KEY, "tg:12345") and len(sender_hash(KEY, "x")) == 32


def test_channel_from_metadata_or_sender_prefix() -> None:
    assert channel_of("tg:1", None) == "telegram"
    assert channel_of("abc", {"channel": "telegram"}) == "telegram"
    assert channel_of("web:Zx", {"channel": "web"}) == "web"
    assert channel_of("terminal-1a2b", {}) == "terminal"
    assert channel_of("e2e-1", {"channel": "fax"}) == "other"


def test_understood_answer_keeps_no_text() -> None:
    row = turn_row(
        "tg:1",
        [
            user("lệ phí khai sinh 0912345678", "ask_fee", 0.97),
            action("action_fee"),
            bot("Lệ phí …"),
            slot("procedure", "1.001193"),
            slot("topic", "fee"),
            LISTEN,
        ],
        KEY,
        True,
    )
    assert row is not None
    assert set(row) == set(COLUMNS)
    assert row["outcome"] == ANSWERED and row["text"] is None and row["guess"] is None
    assert (row["intent"], row["confidence"]) == ("ask_fee", 0.97)
    assert (row["procedure"], row["topic"], row["channel"]) == ("1.001193", "fee", "telegram")
    assert row["conversation_start"] is True and row["human"] is False
    assert "0912345678" not in repr(row) and "tg:1" not in repr(row)
    assert row["at"].tzinfo is None and row["at"].year == 2026


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([user("abc xyz", "nlu_fallback", 0.3), action("action_fallback"), bot("?"), LISTEN], FALLBACK),
        ([user("abc", "greet"), action("action_default_fallback"), bot("?"), LISTEN], FALLBACK),
        # an understood intent whose action still says it did not understand
        ([user("xyz", "inform"), action("action_inform"), bot("?", **verdict(FALLBACK)), LISTEN], FALLBACK),
        ([user("thời tiết", "out_of_scope"), action("action_out_of_scope"), LISTEN], OUT_OF_SCOPE),
        ([user("chào", "greet"), action("action_greet"), bot("Xin chào"), LISTEN], ANSWERED),
    ],
)  # fmt: skip
def test_outcomes(events: list[dict[str, Any]], outcome: str) -> None:
    row = turn_row("web:a", events, KEY, False)
    assert row is not None and row["outcome"] == outcome
    if outcome == ANSWERED:
        assert row["text"] is None
    else:
        assert row["text"] and row["guess"] is not None and row["guess"] != "nlu_fallback"


def test_asking_for_a_human() -> None:
    by_intent = turn_row("tg:1", [user("gặp cán bộ", "request_human"), LISTEN], KEY, False)
    by_button = turn_row(
        "tg:1",
        [user("/request_human", "request_human"), action("action_request_human")],
        KEY,
        False,
    )
    plain = turn_row("tg:1", [user("chào", "greet"), action("action_greet"), LISTEN], KEY, False)
    assert by_intent and by_intent["human"] and by_button and by_button["human"]
    assert plain and not plain["human"]


def test_collector_groups_turns_and_marks_conversation_starts() -> None:
    collector = TurnCollector(KEY)
    stream = [
        action("action_session_start"),
        {"event": "session_started"},
        LISTEN,
        user("chào", "greet"),
        action("action_greet"),
        bot("Xin chào"),
        LISTEN,
        user("lệ phí khai sinh", "ask_fee"),
        action("action_fee"),
        slot("procedure", "1.001193"),
        LISTEN,
        user("asdf", "nlu_fallback", 0.2),  # a turn never ended by action_listen ...
        action("action_fallback"),
        user("cảm ơn", "thank"),  # ... is closed by the next message
    ]
    rows = [r for e in stream if (r := collector.add({"sender_id": "tg:9", **e})) is not None]
    assert [r["intent"] for r in rows] == ["greet", "ask_fee", "nlu_fallback"]
    assert [r["conversation_start"] for r in rows] == [True, False, False]
    assert rows[1]["procedure"] == "1.001193" and rows[0]["procedure"] is None
    # other senders' turns do not mix; a closing event of no open turn is ignored
    assert collector.add({"sender_id": "tg:8", **LISTEN}) is None
    last = collector.add({"sender_id": "tg:9", **LISTEN})
    assert last is not None and last["intent"] == "thank"


def test_columns_are_the_models() -> None:
    model = {c.name for c in ConversationLogEntry.__table__.columns} - {"id"}
    assert model == set(COLUMNS)


def test_database_url_for_the_rasa_environment() -> None:
    assert (
        rasa_database_url("postgresql+psycopg://u:p@h:5433/d")
        == "postgresql+psycopg2://u:p@h:5433/d"
    )
    assert rasa_database_url("postgres://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert rasa_database_url("sqlite:////srv/var/trolydvc.db") == "sqlite:////srv/var/trolydvc.db"
