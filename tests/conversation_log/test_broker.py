"""The conversation log's Rasa side in .venv-rasa: the broker built by Rasa's own factory from an
endpoints section, fed by Rasa's in-memory tracker store across two sessions, writing to SQLite
and to PostgreSQL (psycopg2 there) and purging what the retention period no longer allows; the
cheap event streaming publishes exactly what Rasa's own does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import select

from tests.e2e.test_rasa_server import run_in_rasa_env
from trolydvc.conversation_log import ANSWERED, FALLBACK, rasa_database_url, sender_key
from trolydvc.db import reset_engines, session_scope
from trolydvc.db.base import get_engine, utcnow
from trolydvc.db.log_models import ConversationLogEntry
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres

# Four turns of one sender, in two sessions, saved through InMemoryTrackerStore the way Rasa's
# processor does (retrieve the latest session, append the turn, save).
TURNS = r"""
import asyncio, sys, time
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

DOMAIN = Domain.load("domain.yml")
NOW = time.time()

def user(text, intent, confidence, t):
    ranking = [{"name": intent, "confidence": confidence}, {"name": "ask_fee", "confidence": 0.1}]
    return UserUttered(text, {"name": intent, "confidence": confidence}, [],
                       parse_data={"intent": {"name": intent, "confidence": confidence},
                                   "intent_ranking": ranking, "entities": [], "text": text},
                       timestamp=t, metadata={"channel": "telegram"})

def session(t):
    return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t),
            ActionExecuted("action_listen", timestamp=t)]

def turn(text, intent, confidence, t, *answer):
    return [user(text, intent, confidence, t), *answer, ActionExecuted("action_listen", timestamp=t)]

TURN_EVENTS = [
    session(NOW - 50) + turn("lệ phí khai sinh", "ask_fee", 0.97, NOW - 50,
        ActionExecuted("action_fee", timestamp=NOW - 50), BotUttered("Lệ phí …", timestamp=NOW - 50),
        SlotSet("procedure", "1.001193", timestamp=NOW - 50)),
    turn("cho hỏi 0912 345 678", "nlu_fallback", 0.3, NOW - 40,
        ActionExecuted("action_fallback", timestamp=NOW - 40), BotUttered("Xin lỗi", timestamp=NOW - 40)),
    session(NOW - 30) + turn("chào", "greet", 0.99, NOW - 30,
        ActionExecuted("action_greet", timestamp=NOW - 30), BotUttered("Xin chào", timestamp=NOW - 30)),
    turn("gặp cán bộ", "request_human", 1.0, NOW - 20,
        ActionExecuted("action_request_human", timestamp=NOW - 20)),
]

async def run(store, sender="tg:4242"):
    for events in TURN_EVENTS:
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        for event in events:
            tracker.update(event)
        await store.save(tracker)

class Recorder(EventBroker):
    def __init__(self):
        self.events = []
    def publish(self, event):
        self.events.append(event)
"""

STREAMING = (
    TURNS
    + r"""
from rasa.core.tracker_store import RedisTrackerStore
from trolydvc.rasa_server import install_cheap_event_streaming

def redis_store(broker, prefix):
    store = RedisTrackerStore(DOMAIN, port=6379, db=7, key_prefix=prefix, event_broker=broker)
    store.red.delete(store.key_prefix + "tg:4242")
    return store

async def main():
    stores = {"memory": lambda broker: InMemoryTrackerStore(DOMAIN, event_broker=broker)}
    if sys.argv[1:] == ["redis"]:
        stores = {"redis": lambda broker: redis_store(broker, "trolydvcconvlog")}
    for kind, make in stores.items():
        rasas = Recorder()
        await run(make(rasas))
        install_cheap_event_streaming()
        ours = Recorder()
        store = make(ours)
        await run(store)
        assert len(rasas.events) == sum(len(t) for t in TURN_EVENTS), (kind, len(rasas.events))
        assert ours.events == rasas.events, kind
        if kind == "redis":
            store.red.delete(store.key_prefix + "tg:4242")
asyncio.run(main())
print("ok")
"""
)

# The cluster's SQL store publishes the events it counts itself (no second read of the
# conversation): the same events as Rasa's own streaming.
SQL_STREAMING = (
    TURNS
    + r"""
import json
from rasa.core.tracker_store import TrackerStore

async def main():
    rasas = Recorder()
    await run(InMemoryTrackerStore(DOMAIN, event_broker=rasas))
    ours = Recorder()
    config = EndpointConfig.from_dict(json.loads(sys.argv[1]))
    store = TrackerStore.create(config, DOMAIN, ours)
    assert type(store).__name__ == "RedactingSQLTrackerStore", store
    await run(store)
    assert ours.events == rasas.events, (len(ours.events), len(rasas.events))
asyncio.run(main())
print("ok")
"""
)

BROKER = (
    TURNS
    + r"""
from trolydvc.rasa_server import install_cheap_event_streaming

async def main():
    url, key, days = sys.argv[1], sys.argv[2], float(sys.argv[3])
    install_cheap_event_streaming()
    config = EndpointConfig.from_dict({"type": "trolydvc.conversation_log.ConversationLogBroker",
                                       "url": url, "sender_key": key, "retention_days": days})
    broker = await EventBroker.create(config)
    assert type(broker).__name__ == "ConversationLogBroker", broker
    await run(InMemoryTrackerStore(DOMAIN, event_broker=broker))
    await broker.close()  # what Rasa does when it stops: the writer empties its queue
asyncio.run(main())
print("ok")
"""
)


# A database without the table (or unreachable): the turns go on, the rows are dropped, one
# warning without user text says so.
FAILING = (
    TURNS
    + r"""
import logging
records = []
logging.getLogger("trolydvc.conversation_log").addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r.getMessage())})())

async def main():
    broker = await EventBroker.create(EndpointConfig.from_dict({
        "type": "trolydvc.conversation_log.ConversationLogBroker", "url": sys.argv[1],
        "sender_key": "00" * 32, "retention_days": 30}))
    await run(InMemoryTrackerStore(DOMAIN, event_broker=broker))
    await broker.close()
    assert broker.writer._dropped == 4, broker.writer._dropped
    assert len(records) == 1 and "rows not written (OperationalError)" in records[0], records
    assert not any("0912" in r or "0000" in r or "hỏi" in r for r in records), records
asyncio.run(main())
print("ok")
"""
)


@pytest.mark.rasa
def test_a_failing_database_costs_the_conversation_nothing(tmp_path: Path) -> None:
    run_in_rasa_env(FAILING, f"sqlite:///{tmp_path / 'not-migrated.db'}")


@pytest.mark.rasa
def test_cheap_streaming_publishes_what_rasa_does() -> None:
    run_in_rasa_env(STREAMING)


@pytest.mark.rasa
def test_cheap_streaming_from_redis(require_service: Callable[[str], NoReturn]) -> None:
    """`serve --workers N` keeps conversations in Redis (DB 7 here, its own key prefix)."""
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/7").ping()
    except redis.RedisError as exc:
        require_service(f"Redis 127.0.0.1:6379: {type(exc).__name__}")
    run_in_rasa_env(STREAMING, "redis")


def _old_row() -> ConversationLogEntry:
    return ConversationLogEntry(
        at=utcnow() - timedelta(days=40),
        channel="web",
        sender_hash="0" * 32,
        conversation_start=True,
        outcome=FALLBACK,
        text="câu cũ",
    )


def _check_rows(url: str) -> None:
    with session_scope(url) as session:
        rows = list(session.scalars(select(ConversationLogEntry).order_by(ConversationLogEntry.id)))
    assert [(r.intent, r.outcome) for r in rows] == [
        ("ask_fee", ANSWERED),
        ("nlu_fallback", FALLBACK),
        ("greet", ANSWERED),
        ("request_human", ANSWERED),
    ]  # the 40-day-old row was purged when the broker started
    assert [r.conversation_start for r in rows] == [True, False, True, False]
    assert [r.human for r in rows] == [False, False, False, True]
    assert rows[0].procedure == "1.001193" and rows[0].channel == "telegram"
    assert rows[1].text == "cho hỏi 0000 000 000" and rows[1].guess == "ask_fee"
    assert len({r.sender_hash for r in rows}) == 1
    assert all((utcnow() - r.at) < timedelta(minutes=5) for r in rows)


def _run_broker(url: str) -> None:
    with session_scope(url) as session:
        session.add(_old_row())
    key = sender_key(b"broker-test-key")
    run_in_rasa_env(BROKER, rasa_database_url(url), key, "30")
    _check_rows(url)


@pytest.mark.rasa
def test_broker_writes_to_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    get_engine(url)  # migrated on first use
    try:
        _run_broker(url)
    finally:
        reset_engines()


@pytest.mark.rasa
@pytest.mark.postgres
def test_broker_writes_to_postgres(require_service: Callable[[str], NoReturn]) -> None:
    try:
        with scratch_postgres("trolydvc_convlog") as url:
            try:
                _run_broker(url)
            finally:
                reset_engines()
    except PostgresUnavailable as exc:
        require_service(str(exc))


@pytest.mark.rasa
@pytest.mark.postgres
def test_cluster_sql_store_streams_what_rasa_does(
    require_service: Callable[[str], NoReturn],
) -> None:
    from trolydvc.cluster.topology import rasa_sql_store

    try:
        with scratch_postgres("trolydvc_convlog", migrate=False) as url:
            run_in_rasa_env(SQL_STREAMING, json.dumps(rasa_sql_store(url)))
    except PostgresUnavailable as exc:
        require_service(str(exc))
