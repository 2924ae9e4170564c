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


# Rasa's SQLTrackerStore and ours, fed the same events through the same calls (a new conversation,
# saves of retrieved trackers, two saves of one object, a new session, a tracker saved without
# being retrieved), store the same rows; and the lock store serves tickets in order.
STORES_SCRIPT = r"""
import asyncio, json, sys, time
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from trolydvc.rasa_stores import RedactingSQLTrackerStore

def events(*made):
    out = []
    for make in made:
        time.sleep(0.002)  # distinct, increasing timestamps
        out.append(make())
    return out

greet = {"name": "greet", "confidence": 1.0}
turns = [
    events(lambda: ActionExecuted("action_session_start"), lambda: SessionStarted(),
           lambda: ActionExecuted("action_listen"), lambda: UserUttered("xin chào", greet),
           lambda: BotUttered("chào bạn"), lambda: ActionExecuted("action_listen")),
    events(lambda: UserUttered("thủ tục khai sinh", greet), lambda: SlotSet("procedure", "1.001193"),
           lambda: ActionExecuted("action_inform")),
    events(lambda: BotUttered("Đăng ký khai sinh"), lambda: ActionExecuted("action_listen")),
    events(lambda: ActionExecuted("action_session_start"), lambda: SessionStarted(),
           lambda: ActionExecuted("action_listen"), lambda: UserUttered("cảm ơn", greet)),
]
domain = Domain.empty()

def add(tracker, batch):
    for event in batch:
        tracker.update(event)  # keeps the event's timestamp (update_with_events sets it to now)

async def flow(store):
    tracker = await store.get_or_create_tracker("s1", append_action_listen=False)
    add(tracker, turns[0])
    await store.save(tracker)
    tracker = await store.retrieve("s1")
    add(tracker, turns[1])
    await store.save(tracker)
    add(tracker, turns[2])
    await store.save(tracker)  # the same object again
    tracker = await store.retrieve("s1")
    add(tracker, turns[3])
    await store.save(tracker)
    latest = await store.retrieve("s1")
    fresh = DialogueStateTracker.from_events("s2", turns[0] + turns[1], domain.slots)
    await store.save(fresh)
    # a tracker this store did not retrieve, with the latest session's events: counted
    stored = [event.as_dict() for event in (await store.retrieve("s2")).events]
    other = DialogueStateTracker.from_dict("s2", stored, domain.slots)
    add(other, turns[2])
    await store.save(other)
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
            "FROM events ORDER BY id")).all()
    return [tuple(row) for row in rows], [e.as_dict() for e in latest.events]

def store(cls, url):
    u = sa.engine.make_url(url)
    return cls(domain=domain, dialect="postgresql", host=u.host, port=u.port, db=u.database,
               username=u.username)

ours = asyncio.run(flow(store(RedactingSQLTrackerStore, sys.argv[1])))
rasas = asyncio.run(flow(store(SQLTrackerStore, sys.argv[2])))
assert len(ours[0]) == (6 + 3 + 2 + 4) + (9 + 2), len(ours[0])  # nothing stored twice
assert ours == rasas, (ours, rasas)
assert [e["event"] for e in ours[1]] == ["session_started", "action", "user"]

from rasa.utils.endpoints import EndpointConfig
from trolydvc.rasa_stores import ClusterRedisLockStore
locks = ClusterRedisLockStore(EndpointConfig(url="127.0.0.1", port=6379, db=7, key_prefix="trolydvctest"))

async def tickets():
    order = []
    first = locks.issue_ticket("c", 15)
    await locks._acquire_lock("c", first, 1)  # nobody ahead: at once
    second = locks.issue_ticket("c", 15)
    waiting = asyncio.ensure_future(locks._acquire_lock("c", second, 1))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # behind the first
    locks.cleanup("c", first)
    await asyncio.wait_for(waiting, 2)
    assert locks.get_lock("c") is not None
    locks.cleanup("c", second)
    assert locks.get_lock("c") is None  # nobody waits: deleted
    async def talk(n):
        async with locks.lock("c2", 15):
            order.append(("in", n)); await asyncio.sleep(0.05); order.append(("out", n))
    await asyncio.gather(*(talk(n) for n in range(3)))
    assert order == [(s, n) for n in range(3) for s in ("in", "out")], order
    assert locks.get_lock("c2") is None

asyncio.run(tickets())
print("ok")
"""


@pytest.mark.postgres
@pytest.mark.rasa
def test_sql_store_stores_what_rasas_does_and_locks_serve_in_order(require_service):
    import os
    import subprocess

    import redis

    from trolydvc.config import ROOT
    from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/7").ping()
    except redis.RedisError as exc:
        require_service(f"Redis: {type(exc).__name__}")
    try:
        with (
            scratch_postgres("trolydvc_store_ours", migrate=False) as ours,
            scratch_postgres("trolydvc_store_rasa", migrate=False) as rasas,
        ):
            result = subprocess.run(
                [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", STORES_SCRIPT, ours, rasas],
                cwd=ROOT,
                env=dict(os.environ, PYTHONWARNINGS="ignore", RASA_TELEMETRY_ENABLED="false"),
                capture_output=True,
                text=True,
                timeout=300,
            )
    except PostgresUnavailable as exc:
        require_service(str(exc))
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
