"""The conversation log: one compact row per user message, for the officials' analytics.

Each row (table ``conversation_log``, model :class:`trolydvc.db.log_models.ConversationLogEntry`)
says when a message came, through which channel, from whom as a keyed hash (never the sender id),
the intent and its confidence, whether the assistant understood it (:data:`OUTCOMES`), the
procedure it was answered about, whether it asked for a human, and whether it began a
conversation (Rasa started a session: the first message, after 60 minutes of silence or after
"bắt đầu lại"). Only a message that was *not* understood keeps its text, redacted
(:func:`redact`: every digit becomes 0, e-mail addresses go, at most :data:`MAX_TEXT_CHARS`), so
that officials can see the unanswered questions and export them as candidate training examples.

Outcome of a message (the first that applies):

- ``fallback``: the intent model was not confident (``nlu_fallback``, config.yml's
  FallbackClassifier), no policy was (``action_default_fallback``), or an action answered with
  its "I did not understand" reply (it tags that reply's metadata with :func:`verdict`; e.g.
  ``action_inform`` that finds nothing to complete). A ``nlu_fallback`` message the fallback
  action still answered from the catalog counts here too: the model missed it, which is what
  a training example fixes.
- ``out_of_scope``: the intent ``out_of_scope`` (the assistant declined, or suggested a procedure).
- ``answered``: everything else ("understood").

Why a Rasa event broker and not the action server: an action sees its turn only up to its own
call (not the replies and their verdicts, nor a core fallback that follows), and a turn whose
action server is down or fails never reaches it, yet every turn must be counted. (Small talk is
answered by custom actions too since it follows the conversation's language, actions/smalltalk.py;
the outcome is decided by the intent, the actions' names and the verdicts, so it is unchanged.)
Rasa streams every event of every turn to its event broker, in every topology (the in-memory
store of ``make run``/``make serve``, Redis with ``--workers``, the cluster's SQL store), so the
broker sees them all. It runs in .venv-rasa (Python 3.10, SQLAlchemy 1.4): it cannot import the
project's SQLAlchemy-2 models, so this module holds only the standard library, the redaction
and the SQL it needs; the main environment imports the same names (columns, outcomes, purge
statement) and a test checks that they agree with the model.

Rows are written by a background thread (:class:`LogWriter`), so a slow or unreachable database
costs the conversation nothing: a failed write is logged (never with user text) and dropped.
Making a turn's row in the event loop costs 32 µs (60 µs with the redaction of a message not
understood; measured over 20,000 turns in .venv-rasa), and trolydvc.rasa_server keeps Rasa's
in-memory and Redis stores from rebuilding the conversation to stream its new events. The
writer also deletes the rows older than the conversation retention period
(``TROLYDVC_CONVERSATION_RETENTION_DAYS``), at start and then hourly, in every topology;
``trolydvc conversations purge`` does the same on demand.

Not logged: a message over 2,000 characters (the REST channel answers it before Rasa's NLU and
nothing of it is stored, trolydvc.rasa_channel).

Rasa builds the broker from endpoints.yml (``event_broker: type:
trolydvc.conversation_log.ConversationLogBroker``, written by trolydvc.serve and
trolydvc.cluster with the database URL, the sender key and the retention period).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from trolydvc.textnorm import DOSSIER_CODE_RE

TABLE = "conversation_log"
ANSWERED, FALLBACK, OUT_OF_SCOPE = "answered", "fallback", "out_of_scope"
OUTCOMES = (ANSWERED, FALLBACK, OUT_OF_SCOPE)
CHANNELS = ("telegram", "web", "terminal", "other")
# The columns the broker writes (the model adds the id); checked against the model by a test.
COLUMNS = (
    "at",
    "channel",
    "sender_hash",
    "conversation_start",
    "intent",
    "confidence",
    "outcome",
    "procedure",
    "topic",
    "human",
    "text",
    "guess",
)
# Deletes what the retention period no longer allows; ``:cutoff`` is a naive UTC datetime.
PURGE_SQL = f"DELETE FROM {TABLE} WHERE at < :cutoff"

# Training examples are short (the longest of nlu_data/nlu/ and the held-out sets: 175 characters,
# formal.yml); a longer message is cut, which also bounds what a row can hold.
MAX_TEXT_CHARS = 300
SENDER_HASH_CHARS = 32  # 128 bits of HMAC-SHA256
OUTCOME_KEY = "outcome"  # key of a bot utterance's metadata (see verdict)
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
CORE_FALLBACK_ACTION = "action_default_fallback"
HUMAN_INTENT = "request_human"
HUMAN_ACTION = "action_request_human"
PROCEDURE_SLOT, TOPIC_SLOT = "procedure", "topic"
# Sender id prefixes of the project's front ends (bot/common.py, trolydvc/web/chat.py,
# trolydvc/chat.py), for a message whose metadata does not name its channel.
_SENDER_PREFIXES = (("tg:", "telegram"), ("web:", "web"), ("terminal-", "terminal"))

logger = logging.getLogger("trolydvc.conversation_log")


def verdict(outcome: str) -> dict[str, str]:
    """Metadata an action adds to its reply (``dispatcher.utter_message(..., **verdict(FALLBACK))``)
    when that reply says it did not understand; Rasa keeps it in the bot event's metadata."""
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    return {OUTCOME_KEY: outcome}


# ---- redaction ---------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
EMAIL_MASK = "<email>"
DOSSIER_CODE_MASK = "000.00.00.H00-000000-0000"


def redact(text: str) -> str:
    """What a not-understood message may be stored as: one line; every digit 0 (phone numbers,
    ID numbers, the last four digits, dates), a dossier code as the masked code (still one for
    the NLU's dossier code pattern), e-mail addresses as ``<email>``; at most
    :data:`MAX_TEXT_CHARS` characters. Names cannot be told apart from other words and stay."""
    # a lone surrogate (JSON allows "\ud800") cannot be encoded for the database: "?"
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    text = DOSSIER_CODE_RE.sub(DOSSIER_CODE_MASK, text)
    text = _DIGIT.sub("0", _EMAIL.sub(EMAIL_MASK, text))
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    return text


def sender_key(deployment_key: bytes) -> str:
    """The key of the sender hashes (hex), derived from the deployment's key
    (trolydvc.tracking.privacy.phone_key) so that every machine sharing the database agrees."""
    return hashlib.sha256(b"trolydvc-conversation-log:" + deployment_key).hexdigest()


def sender_hash(key: bytes, sender_id: str) -> str:
    """A keyed hash of a sender id: the same sender gives the same value (conversations are
    counted with it), and without the key it cannot be tied to a Telegram chat or a browser."""
    mac = hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return mac[:SENDER_HASH_CHARS]


def channel_of(sender_id: str, metadata: dict[str, Any] | None) -> str:
    named = (metadata or {}).get("channel")
    if named in CHANNELS:
        return str(named)
    for prefix, channel in _SENDER_PREFIXES:
        if sender_id.startswith(prefix):
            return channel
    return "other"


def rasa_database_url(url: str) -> str:
    """The project's database URL for SQLAlchemy 1.4 in .venv-rasa (psycopg2, not psycopg 3)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


# ---- turns -------------------------------------------------------------------------------------
def _best_guess(parse_data: dict[str, Any]) -> str | None:
    """The model's best intent other than the fallback (what a reviewer starts from)."""
    for entry in parse_data.get("intent_ranking") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name and name != FALLBACK_INTENT:
            return str(name)
    return None


def turn_row(
    sender_id: str, events: list[dict[str, Any]], key: bytes, conversation_start: bool
) -> dict[str, Any] | None:
    """The log row of one turn: its user event (first) and the events that followed it."""
    if not events or events[0].get("event") != "user":
        return None
    user = events[0]
    parse = user.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    actions = {e.get("name") for e in events if e.get("event") == "action"}
    verdicts = {
        (e.get("metadata") or {}).get(OUTCOME_KEY) for e in events if e.get("event") == "bot"
    }
    slots: dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in (PROCEDURE_SLOT, TOPIC_SLOT):
            slots[event["name"]] = event.get("value")
    if name == FALLBACK_INTENT or CORE_FALLBACK_ACTION in actions or FALLBACK in verdicts:
        outcome = FALLBACK
    elif name == OUT_OF_SCOPE_INTENT or OUT_OF_SCOPE in verdicts:
        outcome = OUT_OF_SCOPE
    else:
        outcome = ANSWERED
    text = user.get("text")
    stamp = user.get("timestamp")
    at = datetime.fromtimestamp(float(stamp), timezone.utc) if stamp else _now()
    procedure, topic = slots.get(PROCEDURE_SLOT), slots.get(TOPIC_SLOT)
    return {
        "at": at.replace(tzinfo=None),
        "channel": channel_of(sender_id, user.get("metadata")),
        "sender_hash": sender_hash(key, sender_id),
        "conversation_start": conversation_start,
        "intent": str(name)[:64] if name else None,
        "confidence": float(confidence) if isinstance(confidence, (int, float)) else None,
        "outcome": outcome,
        "procedure": str(procedure)[:32] if isinstance(procedure, str) and procedure else None,
        "topic": str(topic)[:16] if isinstance(topic, str) and topic else None,
        "human": name == HUMAN_INTENT or HUMAN_ACTION in actions,
        "text": redact(text) if outcome != ANSWERED and isinstance(text, str) else None,
        "guess": _best_guess(parse) if outcome != ANSWERED else None,
    }


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TurnCollector:
    """Groups the events Rasa streams into turns and makes each turn's row.

    Rasa publishes a turn's new events together when it saves the conversation, in order: the
    session start (when one began), the user message, the actions, replies and slots, and the
    ``action_listen`` that ends the turn. A turn is closed by that ``action_listen``, or by the
    sender's next message if it never came (or after :data:`MAX_TURN_EVENTS` events)."""

    MAX_TURN_EVENTS = 200

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._open: dict[str, tuple[bool, list[dict[str, Any]]]] = {}
        self._session_started: set[str] = set()

    def add(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Take one streamed event; return the row of the turn it completes, if any."""
        sender = event.get("sender_id")
        if not isinstance(sender, str):
            return None
        kind = event.get("event")
        if kind == "session_started":
            row = self._close(sender)
            if len(self._session_started) > 10_000:  # sessions that never got a message
                self._session_started.clear()
            self._session_started.add(sender)
            return row
        if kind == "user":
            row = self._close(sender)
            started = sender in self._session_started
            self._session_started.discard(sender)
            self._open[sender] = (started, [event])
            return row
        turn = self._open.get(sender)
        if turn is None:
            return None
        turn[1].append(event)
        if kind == "action" and event.get("name") == "action_listen":
            return self._close(sender)
        if len(turn[1]) >= self.MAX_TURN_EVENTS:
            return self._close(sender)
        return None

    def _close(self, sender: str) -> dict[str, Any] | None:
        turn = self._open.pop(sender, None)
        if turn is None:
            return None
        return turn_row(sender, turn[1], self.key, turn[0])


# ---- writing (Rasa side: SQLAlchemy 1.4) -------------------------------------------------------
_STOP = object()


class LogWriter:
    """A daemon thread that inserts the rows it is given and purges old ones.

    ``put`` never blocks nor raises: the queue holds at most :data:`QUEUE_SIZE` rows (minutes
    of traffic if the database is down) and drops the rest, counted in the next warning."""

    QUEUE_SIZE = 10_000
    BATCH = 500
    PURGE_INTERVAL = 3600.0
    WARN_INTERVAL = 60.0

    def __init__(self, url: str, retention_days: float | None) -> None:
        self.url = url
        self.retention_days = retention_days
        self._queue: queue.Queue[Any] = queue.Queue(self.QUEUE_SIZE)
        self._dropped = 0
        self._last_warning = 0.0
        self._engine: Any = None
        self._thread = threading.Thread(target=self._run, name="conversation-log", daemon=True)
        self._thread.start()

    def put(self, row: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self._dropped += 1

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def warn(self, what: str, exc: BaseException | None = None) -> None:
        now = time.monotonic()
        if now - self._last_warning < self.WARN_INTERVAL:
            return
        self._last_warning = now
        reason = f" ({type(exc).__name__})" if exc is not None else ""
        logger.warning(
            "Conversation log: %s%s; %d rows dropped so far", what, reason, self._dropped
        )

    def _connect(self) -> Any:
        if self._engine is None:
            import sqlalchemy as sa

            if self.url.startswith("sqlite"):
                self._engine = sa.create_engine(self.url, connect_args={"timeout": 10})
            else:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=1)
        return self._engine

    def _run(self) -> None:
        next_purge = 0.0
        while True:
            try:
                item = self._queue.get(timeout=min(60.0, self.PURGE_INTERVAL))
            except queue.Empty:
                item = None
            rows = [] if item is None or item is _STOP else [item]
            stopping = item is _STOP
            while len(rows) < self.BATCH and not stopping:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                else:
                    rows.append(more)
            if rows:
                self._write(rows)
            if self.retention_days is not None and time.monotonic() >= next_purge:
                self._purge()
                next_purge = time.monotonic() + self.PURGE_INTERVAL
            if stopping:
                if self._engine is not None:
                    self._engine.dispose()
                return

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            engine = self._connect()
            with engine.begin() as connection:
                connection.execute(_insert_statement(), rows)
        except Exception as exc:  # never the conversation's problem; no row content logged
            self._dropped += len(rows)
            self.warn("rows not written", exc)
            self._reset()

    def _purge(self) -> None:
        if self.retention_days is None:
            return
        try:
            engine = self._connect()
            with engine.begin() as connection:
                connection.execute(_purge_statement(), {"cutoff": cutoff(self.retention_days)})
        except Exception as exc:
            self.warn("old rows not purged", exc)
            self._reset()

    def _reset(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def cutoff(retention_days: float, now: datetime | None = None) -> datetime:
    """Naive UTC instant before which rows are deleted."""
    moment = (now or _now()) - timedelta(days=retention_days)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _insert_statement() -> Any:
    import sqlalchemy as sa

    types = {"at": sa.DateTime(), "conversation_start": sa.Boolean(), "human": sa.Boolean()}
    table = sa.table(TABLE, *(sa.column(name, types.get(name)) for name in COLUMNS))
    return table.insert()


def _purge_statement() -> Any:
    import sqlalchemy as sa

    return sa.text(PURGE_SQL).bindparams(sa.bindparam("cutoff", type_=sa.DateTime()))


def _broker_class() -> type:
    """Built on first use so that the main environment can import this module without Rasa."""
    from rasa.core.brokers.broker import EventBroker

    class ConversationLogBroker(EventBroker):
        """Rasa event broker writing the conversation log (see the module docstring).

        endpoints.yml: ``event_broker: {type: trolydvc.conversation_log.ConversationLogBroker,
        url: <SQLAlchemy URL>, sender_key: <hex>, retention_days: <days>}``."""

        def __init__(self, url: str, sender_key: str, retention_days: float | None = None) -> None:
            self.collector = TurnCollector(bytes.fromhex(sender_key))
            self.writer = LogWriter(url, retention_days)

        @classmethod
        async def from_endpoint_config(cls, broker_config: Any, event_loop: Any = None) -> Any:
            return cls(broker_config.url, **broker_config.kwargs)

        def publish(self, event: dict[str, Any]) -> None:
            try:
                row = self.collector.add(event)
                if row is not None:
                    self.writer.put(row)
            except Exception as exc:  # a malformed event must not break the turn
                self.writer.warn("event not logged", exc)

        async def close(self) -> None:
            self.writer.stop()

    return ConversationLogBroker


def __getattr__(name: str) -> Any:
    if name != "ConversationLogBroker":
        raise AttributeError(name)
    cls = _broker_class()
    globals()[name] = cls
    return cls
