"""Rasa's SQL tracker store, with personal data kept out of the stored events (runs in .venv-rasa).

The cluster (trolydvc.cluster) keeps conversations in PostgreSQL so that any Rasa replica can
continue any conversation. Stored events outlive the request, so they must not hold what a
verified dossier lookup shows nor what the user typed to prove who they are:

- a bot utterance the dossier action flags ``private`` (its metadata: the answer after a verified
  lookup, which names the applicant) is stored as :data:`PRIVATE_REPLY`;
- in what the user wrote (the text and every string of its parse data), phone numbers and lone
  groups of four digits (the last digits of a phone number) become :data:`MASK`.

And :class:`ClusterRedisLockStore`, Rasa's Redis lock store without the hang that follows a
replica killed while holding a conversation's lock (see the class).

Only what is *stored* changes: the turn being handled runs on the events in memory, and the
dialogue policies use intents, slots and actions, never texts, so predictions are the same.

Retention (the expiry of silent conversations) is :func:`purge_sql`, called by ``trolydvc
conversations purge`` and by the running cluster. It deletes whole conversations only: Rasa's SQL
store appends the events it has not stored yet by counting the stored ones, so a conversation
with some of its events deleted would get them stored twice.

Python 3.10, SQLAlchemy 1.4 and Rasa only: imported by Rasa from endpoints.yml
(``tracker_store: type: trolydvc.rasa_stores.RedactingSQLTrackerStore``); the main environment
imports the pure functions (no Rasa) for the purge and the tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

PRIVATE_REPLY = "<private reply not stored>"
MASK = "<digits not stored>"
PRIVATE_FLAG = "private"  # key of a bot utterance's metadata set by actions/dossiers.py
# A Vietnamese phone number, however it is spaced ("0912 345 678", "+84 912345678"), or four digits
# standing alone (not in a longer number, a dossier code "HS-2026-000123" or a date "10/2026").
_PHONE = re.compile(r"(?<![\d.])(?:\+?84|0)(?:[ .\-]?\d){8,10}(?!\d)")
_LAST4 = re.compile(r"(?<![\w/.\-])\d{4}(?![\w/.\-])")


def mask_digits(text: str) -> str:
    return _LAST4.sub(MASK, _PHONE.sub(MASK, text))


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask_digits(value)
    if isinstance(value, list):
        return [_mask_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: _mask_strings(item) for key, item in value.items()}
    return value


def redact_event(data: dict[str, Any]) -> dict[str, Any]:
    """The event (as Rasa's ``Event.as_dict()``) as it may be stored."""
    kind = data.get("event")
    if kind == "bot" and (data.get("metadata") or {}).get(PRIVATE_FLAG):
        return {**data, "text": PRIVATE_REPLY, "data": {}}
    if kind == "user":
        redacted = dict(data)
        if isinstance(data.get("text"), str):
            redacted["text"] = mask_digits(data["text"])
        if "parse_data" in data:
            redacted["parse_data"] = _mask_strings(data["parse_data"])
        return redacted
    return data


def purge_statement(dialect: str = "postgresql") -> str:
    """SQL deleting every conversation whose latest event is older than ``:cutoff`` (seconds
    since the epoch), as one statement (atomic)."""
    del dialect  # the same standard SQL on PostgreSQL and SQLite
    return (
        "DELETE FROM events WHERE sender_id IN ("
        "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff)"
    )


# The latest conversation session's events (Rasa's _event_query with fetch_events_from_all_sessions
# False, written as one statement whose subquery runs once), and their count.
_SESSION_START = (
    "COALESCE((SELECT MAX(timestamp) FROM events WHERE sender_id = :sender "
    "AND type_name = 'session_started'), 0)"
)
LATEST_SESSION_EVENTS = (
    f"SELECT data FROM events WHERE sender_id = :sender AND timestamp >= {_SESSION_START} "
    "ORDER BY id"
)
LATEST_SESSION_COUNT = (
    f"SELECT COUNT(*) FROM events WHERE sender_id = :sender AND timestamp >= {_SESSION_START}"
)


# Attribute of a tracker object: how many of its events are stored (set when it is retrieved and
# saved), so that a save appends the rest without first counting the stored rows.
STORED_ATTRIBUTE = "_trolydvc_stored_events"


def _store_class() -> type:
    """Built on first use so that the main environment can import this module without Rasa."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    events_query = sa.text(LATEST_SESSION_EVENTS)
    count_query = sa.text(LATEST_SESSION_COUNT)

    class RedactingSQLTrackerStore(SQLTrackerStore):
        """SQLTrackerStore with :func:`redact_event` applied to each stored event.

        Same table, same rows, same order as Rasa's, with fewer statements and less Python per
        message (bench/rasa_store.py):

        - the latest session is read with one statement outside a transaction, and appended to
          with one multi-row insert, through SQLAlchemy Core rather than ORM sessions;
        - the save appends the events after those the tracker was retrieved with (the
          conversation's lock is held from retrieval to save, so nobody else appended), instead
          of counting the stored rows first; it counts only for a tracker it did not retrieve;
          the empty tracker Rasa saves when a conversation begins costs nothing.

        The calls stay on the event loop: in a worker thread (asyncio.to_thread) each waited
        for the GIL behind the loop's NLU work, and a retrieval took 18 ms instead of 2 with 5
        users, for more CPU per message (12-13 ms against 9-11, same script, same hour).
        """

        async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
            if fetch_events_from_all_sessions:
                return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
            rows = self._latest_session(sender_id)
            if not self.domain or not rows:
                return None
            events = [json.loads(data) for data in rows]
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            setattr(tracker, STORED_ATTRIBUTE, len(rows))
            return tracker

        def _latest_session(self, sender_id: str) -> list[str]:
            # one statement, which sees one snapshot: no transaction to begin and end (a round
            # trip to PostgreSQL less)
            with self.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                return list(connection.execute(events_query, {"sender": sender_id}).scalars())

        async def save(self, tracker: Any) -> None:
            if not tracker.events:  # a conversation's first, empty tracker: nothing to store
                return
            stored, new_events = self._append(tracker)
            setattr(tracker, STORED_ATTRIBUTE, stored)
            if self.event_broker is not None:
                # the new events as counted here; Rasa's stream_events would read the whole
                # conversation once more to count them
                await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

        def _append(self, tracker: Any) -> tuple[int, list[Any]]:
            """Store the tracker's events that are not stored yet; return how many are stored
            now and the ones just added."""
            events = list(tracker.events)
            with self.engine.begin() as connection:
                stored = getattr(tracker, STORED_ATTRIBUTE, None)
                if stored is None:
                    stored = connection.execute(
                        count_query, {"sender": tracker.sender_id}
                    ).scalar_one()
                new_events = events[stored:]
                rows = [self._row(tracker.sender_id, event) for event in new_events]
                if rows:
                    connection.execute(self.SQLEvent.__table__.insert(), rows)
            return len(events), new_events

        @staticmethod
        def _row(sender_id: str, event: Any) -> dict[str, Any]:
            data = redact_event(event.as_dict())
            intent = (data.get("parse_data") or {}).get("intent") or {}
            return {
                "sender_id": sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": intent.get(INTENT_NAME_KEY),
                "action_name": data.get("name"),
                "data": json.dumps(data),
            }

    return RedactingSQLTrackerStore


# How often a message waiting for its conversation's lock looks again (Rasa: every second). A
# user's messages rarely overlap, so waiting is rare; when a replica dies holding the lock, the
# retried message goes on within this time of the dead ticket's expiry.
LOCK_POLL_SECONDS = 0.05


def may_proceed(ticket: int, waiting: list[tuple[int, float]], now: float) -> bool:
    """Whether the holder of ``ticket`` may go on: no unexpired ticket issued before it.
    ``waiting``: (number, expiry time) of the lock's tickets."""
    return not any(number < ticket and expires >= now for number, expires in waiting)


def _lock_store_class() -> type:
    import asyncio
    import time

    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

    class ClusterRedisLockStore(RedisLockStore):
        """Rasa's Redis lock store, fixed for replicas that die holding a lock, with fewer round
        trips to Redis.

        Rasa's waiter goes on only when its own ticket is "now serving", i.e. the first unexpired
        one. When the ticket it waits behind belongs to a replica that was killed, both tickets
        expire a fraction of a second apart (the same lifetime, issued that far apart), and a
        waiter that looks once a second misses that window: its own ticket expired too, it is
        never served and the message hangs. Here a waiter goes on as soon as no unexpired ticket
        was issued before its own (:func:`may_proceed`), whether or not its own has expired.

        Rasa reads the lock 4 times and writes it 3 times per message, each a blocking call on
        the event loop. Here: a ticket issued when no earlier one was waiting is served at once
        (a ticket issued later has a higher number, it cannot come first), without reading the
        lock again; the clean-up reads it once, then deletes or saves it. 4 calls instead of 7.
        """

        def __init__(self, endpoint_config: Any) -> None:
            super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
            # (conversation, ticket) -> the lock as saved, for tickets nobody was ahead of
            self._served_at_once: dict[tuple[str, int], Any] = {}

        def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
            try:
                lock = self.get_or_create_lock(conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                self.save_lock(lock)
            except Exception as e:  # as Rasa's
                raise LockError(f"Error while acquiring lock. Error:\n{e}") from e
            tickets = [(t.number, t.expires) for t in lock.tickets]
            if may_proceed(ticket, tickets, time.time()):
                self._served_at_once[(conversation_id, ticket)] = lock
            return ticket

        async def _acquire_lock(
            self, conversation_id: str, ticket: int, wait_time_in_seconds: float
        ) -> Any:
            lock = self._served_at_once.pop((conversation_id, ticket), None)
            if lock is not None:
                return lock
            while True:
                lock = self.get_lock(conversation_id)
                if lock is None:  # every ticket expired and the lock was cleaned up
                    return TicketLock(conversation_id)
                tickets = [(t.number, t.expires) for t in lock.tickets]
                if may_proceed(ticket, tickets, time.time()):
                    return lock
                await asyncio.sleep(LOCK_POLL_SECONDS)

        def cleanup(self, conversation_id: str, ticket_number: int) -> None:
            """Rasa's finish_serving and then delete-if-nobody-waits, on one read of the lock."""
            self._served_at_once.pop((conversation_id, ticket_number), None)
            lock = self.get_lock(conversation_id)
            if lock is None:
                return
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                self.save_lock(lock)
            else:
                self.delete_lock(conversation_id)

    return ClusterRedisLockStore


# Rasa looks up a conversation's latest session start for every retrieval with a subquery that
# PostgreSQL, while the table's statistics are young, re-runs for each of the conversation's
# events over the sender_id index: 16 ms for a 214-event conversation here, 0.85 ms with this
# index (EXPLAIN ANALYZE), and it grew with the square of the conversation's length.
SESSION_INDEX = "CREATE INDEX IF NOT EXISTS ix_events_sender_type_ts ON events (sender_id, type_name, timestamp)"


def ensure_schema(endpoints_file: str) -> None:
    """Create the events table (Rasa's model of it) and :data:`SESSION_INDEX`, from the
    tracker_store section of ``endpoints_file``; run once before the replicas start."""
    import sqlalchemy as sa
    import yaml
    from rasa.core.tracker_store import SQLTrackerStore

    with open(endpoints_file, encoding="utf-8") as handle:
        conf = dict(yaml.safe_load(handle)["tracker_store"])
    conf.pop("type", None)
    store = SQLTrackerStore(host=conf.pop("url", None), **conf)
    with store.engine.begin() as connection:
        connection.execute(sa.text(SESSION_INDEX))
    store.engine.dispose()


_FACTORIES = {
    "RedactingSQLTrackerStore": _store_class,
    "ClusterRedisLockStore": _lock_store_class,
}


def __getattr__(name: str) -> Any:
    factory = _FACTORIES.get(name)
    if factory is None:
        raise AttributeError(name)
    cls = factory()
    globals()[name] = cls
    return cls


if __name__ == "__main__":
    import sys

    ensure_schema(sys.argv[1])
