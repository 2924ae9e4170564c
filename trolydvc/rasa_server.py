"""Start ``rasa run`` (in .venv-rasa, Python 3.10) with performance fixes; used by trolydvc.serve.

Measured with py-spy under bench/e2e.py, each removes CPU time from every turn without changing
what Rasa computes:

1. Action responses: Rasa 3.6 checks every action-server response with
   ``jsonschema.validate(result, schema)``, which re-validates the large (constant) events
   schema against the JSON Schema meta-schema on every call (~55 ms per custom action here).
   The validator is built once; and since the schema's ``oneOf`` over event types pins a
   distinct ``event`` constant in each of its alternatives, each event is checked against the
   one alternative its ``event`` names (the others cannot match). Any response that this fast
   path does not accept goes through the full schema, so errors are exactly Rasa's.
2. Graph runner: predictions run the model's graph through dask's scheduler, whose per-call
   bookkeeping cost more than the NLU itself. ``SequentialGraphRunner`` evaluates the same
   nodes, each once, after its inputs, in the calling thread.
3. Action calls: Rasa opens a new aiohttp session (and TCP connection) for every call to the
   action server. Each endpoint here keeps one session per event loop, with keep-alive
   connections that the client drops after 15 s idle, well before the action server's own
   120 s, so a reused connection is never one the server has just closed.
4. Event types: every event Rasa reads back (each tracker retrieval, each action response) is
   rebuilt through ``Event.resolve_by_type``, which walked all subclasses of Event per event;
   the class found for a type name is remembered (``install_event_type_cache``).
5. Event streaming (the conversation log's broker, trolydvc.conversation_log): to find a
   turn's new events Rasa's in-memory and Redis tracker stores rebuild the stored conversation
   once more on every save (2.3 ms for a 5-turn conversation, 4.2 ms for 10 turns, 14.7 ms for
   30, measured with 800-character replies). The number of stored events is read from the
   stored JSON instead (:func:`latest_session_length`: 0.1, 0.3, 0.5 ms), the same count
   without replaying a single event.

Security (README "Security"), each a small patch installed before Rasa starts:

6. HTTP API: ``--auth-token`` comes from RASA_AUTH_TOKEN (not the command line, which every
   local user can read); ``--enable-api`` without it is refused. Besides Rasa's ``?token=``,
   the API accepts ``Authorization: Bearer <token>``, so clients keep the token out of URLs
   (and out of their request logs). ``PUT /model`` loads only a file under the project's
   models/ directory (never a model server or remote storage).
7. Bounded work: request bodies above :data:`MAX_REQUEST_BYTES` are refused (Sanic's default
   is 100 MB); an action call times out after :data:`ACTION_TIMEOUT_SECONDS` (Rasa: 300 s)
   and a failed or timed-out call gives the user :func:`apology` (with the hotline of
   locality.yml) instead of nothing, is logged without user text and counted.
8. No user text in log lines at INFO and above: the structured events' text fields are
   replaced, and while a message is handled (:data:`USER_TEXT`, set by trolydvc.rasa_channel)
   its text and words are cut out of every other log line, traceback and warning
   (:func:`redact`).

Usage: .venv-rasa/bin/python -m trolydvc.rasa_server run -m models/assistant.tar.gz ...
(the same arguments as the ``rasa`` command).
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from inspect import isawaitable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
# The REST channel takes messages of up to trolydvc.rasa_channel.MAX_MESSAGE_CHARS (2,000
# characters, at most 12 KB as JSON); 1 MiB leaves room for any API call this project makes
# while keeping a hostile body from costing more than a few milliseconds of parsing.
MAX_REQUEST_BYTES = 1024 * 1024
# The slowest action measured is a year's statistics over 1,000,000 dossiers with its chart
# (bench/tracking_stats.py: 0.4 s); 10 s is 25 times that, for a busy machine, and still short
# enough that a user whose action server is stuck gets the apology instead of waiting.
ACTION_TIMEOUT_SECONDS = 10
REDACTED = "<user text>"
# The text of the message being handled, set by the REST channel for its handling task.
USER_TEXT: ContextVar[str | None] = ContextVar("trolydvc_user_text", default=None)
logger = logging.getLogger("trolydvc.rasa_server")


class Counter:
    """A running count (per process; Sanic workers count separately)."""

    def __init__(self) -> None:
        self.value = 0

    def increment(self) -> int:
        self.value += 1
        return self.value


FAILED_ACTIONS = Counter()


def install_action_response_validator() -> None:
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, instead of once per action call
    validator = cls(schema)
    fast_path = _event_dispatch(schema, cls)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        if fast_path is not None and fast_path(result):
            return True
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _event_dispatch(schema: dict[str, Any], cls: Any) -> Callable[[Any], bool] | None:
    """A check accepting exactly the responses ``schema`` accepts that validate, or None when
    the schema is not shaped as expected (then every response takes the full path).

    Expected: ``events.items`` has ``required: [event]`` and a ``oneOf`` whose alternatives
    each pin ``event`` to a different constant. An event then satisfies the ``oneOf`` exactly
    when it satisfies the alternative of its own constant.
    """
    try:
        items = schema["properties"]["events"]["items"]
        alternatives = items["oneOf"]
        consts = [alt["properties"]["event"]["const"] for alt in alternatives]
    except (KeyError, TypeError):
        return None
    if "event" not in items.get("required", []) or len(set(consts)) != len(consts):
        return None
    base_schema = copy.deepcopy(schema)
    del base_schema["properties"]["events"]["items"]["oneOf"]
    base = cls(base_schema)
    by_event = {const: cls(alt) for const, alt in zip(consts, alternatives, strict=True)}

    def check(result: Any) -> bool:
        if not base.is_valid(result):
            return False
        for event in result.get("events") or []:
            alternative = by_event.get(event.get("event"))
            if alternative is None or not alternative.is_valid(event):
                return False
        return True

    return check


def install_sequential_graph_runner() -> None:
    import rasa.core.processor
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    class SequentialGraphRunner(DaskGraphRunner):
        """DaskGraphRunner's nodes and results, evaluated depth-first without dask."""

        def run(
            self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
        ) -> dict[str, Any]:
            run_targets = targets if targets else self._graph_schema.target_names
            nodes = self._graph_schema.nodes
            inputs = inputs or {}
            for value in inputs.values():  # the same refusal as DaskGraphRunner
                if isinstance(value, str) and value in nodes:
                    raise GraphRunError(
                        f"Input value '{value}' clashes with a node name. Make sure that "
                        f"none of the input names passed to the `run` method are the same "
                        f"as node names in the graph schema."
                    )
            done: dict[str, Any] = {}

            def evaluate(name: str) -> Any:
                if name in done:
                    return done[name]
                if name in inputs:
                    done[name] = (name, inputs[name])
                elif name not in nodes:
                    done[name] = name  # unresolved: the node logs it, as under dask
                else:
                    parents = [evaluate(parent) for parent in nodes[name].needs.values()]
                    done[name] = self._instantiated_nodes[name](*parents)
                return done[name]

            try:
                return dict(evaluate(target) for target in run_targets)
            except RuntimeError as e:
                raise GraphRunError("Error running runner.") from e

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]


def install_event_type_cache() -> None:
    """Event.resolve_by_type with the classes it found remembered by type name.

    Rasa rebuilds every event it reads -- each retrieval of a tracker, from the in-memory or the
    SQL store, and each action response -- through Event.resolve_by_type, which walks all ~30
    subclasses of Event (with inspect.isabstract on each) per event: 0.19 ms an event, 5.2 ms of
    the 5.6 ms of CPU a 27-event tracker's retrieval took (cProfile, bench/rasa_store.py). The
    answer for a type name cannot change: it is the first non-abstract subclass with that name in
    definition order, and a class defined later comes after it. Names it does not know (None, or
    an error) still go through Rasa's code each time."""
    from rasa.shared.core.events import Event

    resolve = Event.resolve_by_type
    found: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = found.get(type_name)
        if cls is None:
            cls = resolve(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


class _BorrowedSession:
    """``async with`` yields the shared session and leaves it open for the next call."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def install_shared_endpoint_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    # (id of the endpoint, id of the loop) -> (endpoint, loop, session); the endpoint and the
    # loop are kept so that their ids cannot be reused by other objects
    shared: dict[tuple[int, int], tuple[Any, Any, Any]] = {}

    def session(self: Any) -> _BorrowedSession:
        loop = asyncio.get_running_loop()
        key = (id(self), id(loop))
        entry = shared.get(key)
        if entry is None or entry[2].closed:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            entry = (
                self,
                loop,
                aiohttp.ClientSession(
                    headers=self.headers,
                    auth=auth,
                    timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                    connector=aiohttp.TCPConnector(keepalive_timeout=15.0),
                ),
            )
            shared[key] = entry
        return _BorrowedSession(entry[2])

    EndpointConfig.session = session  # type: ignore[method-assign,assignment]


def latest_session_length(serialised: str | bytes) -> int:
    """How many events Rasa's ``retrieve`` gives for a tracker stored as JSON text: those of its
    latest session, from the last ``action_session_start`` on (all of them if there is none),
    as ``rasa.shared.core.trackers.get_trackers_for_conversation_sessions`` splits them."""
    events = json.loads(serialised).get("events") or []
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "action" and event.get("name") == "action_session_start":
            return len(events) - index
    return len(events)


def install_cheap_event_streaming() -> None:
    import itertools

    from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore

    async def stream_events(self: Any, tracker: Any) -> None:
        if self.event_broker is None:
            return
        if isinstance(self, InMemoryTrackerStore):
            stored = self.store.get(tracker.sender_id)
        else:
            stored = self.red.get(self.key_prefix + tracker.sender_id)
        offset = latest_session_length(stored) if stored is not None else 0
        new_events = list(itertools.islice(tracker.events, offset, len(tracker.events)))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    for store in (InMemoryTrackerStore, RedisTrackerStore):
        store.stream_events = stream_events  # type: ignore[method-assign]


def install_api_token_header() -> None:
    """Rasa's ``requires_auth`` also accepting ``Authorization: Bearer <auth token>``."""
    import rasa.server

    original = rasa.server.requires_auth

    def requires_auth(app: Any, token: str | None = None) -> Callable[[Any], Any]:
        rasa_decorator = original(app, token)

        def decorator(handler: Any) -> Any:
            checked = rasa_decorator(handler)

            async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
                if token and _bearer_matches(request.headers.get("authorization"), token):
                    result = handler(request, *args, **kwargs)
                    return await result if isawaitable(result) else result
                return await checked(request, *args, **kwargs)

            decorated.__name__ = checked.__name__  # Sanic names routes after their handler
            decorated.__wrapped__ = handler  # type: ignore[attr-defined]
            return decorated

        return decorator

    rasa.server.requires_auth = requires_auth  # type: ignore[assignment]


def _bearer_matches(header: str | None, token: str) -> bool:
    return header is not None and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def model_replacement_refusal(body: Any, models_dir: Path = MODELS_DIR) -> str | None:
    """Why a ``PUT /model`` body may not be loaded, or None when it names a model file under
    ``models_dir``. A model server or remote storage would run code from elsewhere."""
    if not isinstance(body, dict):
        return "the body must be a JSON object with model_file"
    if set(body) - {"model_file"}:
        return "only model_file is accepted (no model_server, no remote_storage)"
    model_file = body.get("model_file")
    if not isinstance(model_file, str) or not model_file:
        return "model_file is missing"
    path = Path(model_file)
    if not path.is_absolute():
        path = ROOT / path
    path = path.resolve()
    if not path.is_relative_to(models_dir.resolve()) or not path.is_file():
        return f"model_file must be a file under {models_dir}"
    return None


def install_server_limits() -> None:
    """The body limit and the ``PUT /model`` check on the app Rasa builds."""
    import rasa.core.run
    from sanic import response

    original = rasa.core.run.configure_app

    async def guard_model_replacement(request: Any) -> Any:
        if request.method == "PUT" and request.path.rstrip("/") == "/model":
            reason = model_replacement_refusal(request.json)
            if reason is not None:
                return response.json(
                    {"status": "failure", "reason": "Forbidden", "message": reason}, status=403
                )
        return None

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
        app.register_middleware(guard_model_replacement, "request")
        return app

    rasa.core.run.configure_app = configure_app  # type: ignore[assignment]


def apology(locality_file: Path | None = None) -> str:
    """What the user reads when an action fails: a short apology and who to call, from
    locality.yml (its hotline, else its first provincial one-stop shop). Read here with plain
    YAML because trolydvc.locality needs the main environment's pydantic 2."""
    import yaml

    path = locality_file or Path(os.environ.get("TROLYDVC_LOCALITY_FILE", ROOT / "locality.yml"))
    text = "Xin lỗi Bạn, hệ thống đang gặp sự cố nên chưa trả lời được câu này. Bạn thử lại sau ít phút nhé."
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return text
    contact = data.get("hotline") or next(
        (o for o in data.get("offices") or [] if o.get("level") == "province"), None
    )
    if isinstance(contact, dict) and contact.get("phone"):
        text += (
            f" Nếu cần gấp, Bạn gọi {contact.get('name', 'đường dây hỗ trợ')}: {contact['phone']}."
        )
    else:  # a generated locality.yml whose phones the operator has not filled yet
        text += " Nếu cần gấp, Bạn liên hệ bộ phận một cửa nơi Bạn cư trú."
    return text


def install_action_failure_reply() -> None:
    """Action calls time out after ACTION_TIMEOUT_SECONDS; a failed call (action server down,
    stuck, erroring, or an invalid reply) becomes the apology, one log line and a count."""
    import rasa.core.actions.action as action_module
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.core.events import BotUttered

    action_module.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT_SECONDS  # read at each call
    text = apology()
    original = RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # the action declined (a form's validation): Rasa predicts another one
        except Exception as exc:  # noqa: BLE001 - every failure gets the same reply
            count = FAILED_ACTIONS.increment()
            logger.error(
                "Custom action %s failed (%s); %d failed action call(s) since start.",
                self.name(),
                _failure_reason(exc),
                count,
            )
            return [BotUttered(text)]

    RemoteAction.run = run  # type: ignore[method-assign]


def _failure_reason(exc: BaseException) -> str:
    """Exception type names and HTTP status, never the message (it can hold the tracker)."""
    parts = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        status = getattr(current, "status", None)
        parts.append(type(current).__name__ + (f" {status}" if isinstance(status, int) else ""))
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


# structured-event fields that hold what a user wrote (Rasa's own anonymizer list, trimmed to
# the ones about messages)
_TEXT_FIELDS = frozenset(
    {
        "text", "response_text", "user_text", "parse_data_text", "parse_data_entities",
        "tracker_latest_message", "message", "user_message", "json_message", "rasa_event",
        "rasa_events", "slot_values", "prefilled_slots", "entity", "token_text",
        "current_entity", "next_entity", "slot_candidates",
    }
)  # fmt: skip


def redact(message: str, text: str | None = None) -> str:
    """``message`` without ``text`` (default: the message being handled): neither the whole text
    nor any of its words of 3 or more characters or numbers of 2 or more digits, as written or
    JSON-escaped. Word by word because Rasa also logs pieces of a message ("Expected the intent
    to be one of [...] but found <the user's word>")."""
    text = USER_TEXT.get() if text is None else text
    if not text:
        return message
    return _fragments(text).sub(REDACTED, message)


@lru_cache(maxsize=64)
def _fragments(text: str) -> re.Pattern[str]:
    parts = {text, *re.findall(r"\w{3,}|\d{2,}", text)}
    forms = parts | {json.dumps(part)[1:-1] for part in parts}
    # longest first, so that the whole text goes before its words
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


def install_user_text_redaction() -> None:
    import rasa.utils.log_utils

    anonymizer = rasa.utils.log_utils._anonymizer

    def redacting_anonymizer(wrapped: Any, method_name: str, event_dict: dict[str, Any]) -> Any:
        event_dict = anonymizer(wrapped, method_name, event_dict)
        if method_name != "debug":
            for key in _TEXT_FIELDS & event_dict.keys():
                event_dict[key] = REDACTED
        return event_dict

    # configure_structlog (run by rasa's main) puts the module's _anonymizer first in line
    rasa.utils.log_utils._anonymizer = redacting_anonymizer  # type: ignore[assignment]

    make_record = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.levelno >= logging.INFO and USER_TEXT.get():
            try:
                record.msg, record.args = redact(record.getMessage()), ()
            except (TypeError, ValueError):  # a malformed call: keep only the format
                record.msg, record.args = redact(str(record.msg)), ()
            if record.exc_info:
                record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(record_factory)

    show = warnings.showwarning

    def showwarning(message: Any, *args: Any, **kwargs: Any) -> None:
        show(redact(str(message)) if USER_TEXT.get() else message, *args, **kwargs)

    warnings.showwarning = showwarning


def _with_auth_token(argv: list[str]) -> list[str] | None:
    """``argv`` with ``--auth-token`` from RASA_AUTH_TOKEN added; None when the API would be
    open (``--enable-api`` and no token at all)."""
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in argv):
        return argv
    token = os.environ.get("RASA_AUTH_TOKEN", "").strip()
    if token:
        # one argument: a token_urlsafe token may start with "-" (1 in 64), which argparse would
        # take for an option
        return [*argv, f"--auth-token={token}"]
    return None if "--enable-api" in argv else argv


def main() -> int:
    argv = _with_auth_token(sys.argv[1:])
    if argv is None:
        print(
            "--enable-api cần mã RASA_AUTH_TOKEN (biến môi trường) hoặc --auth-token: "
            "HTTP API của Rasa không được mở cho mọi người.",
            file=sys.stderr,
        )
        return 2
    install_action_response_validator()
    install_sequential_graph_runner()
    install_event_type_cache()
    install_shared_endpoint_sessions()
    install_cheap_event_streaming()
    install_api_token_header()
    install_server_limits()
    install_action_failure_reply()
    install_user_text_redaction()
    from rasa.__main__ import main as rasa_main

    sys.argv = [re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0]), *argv]
    rasa_main()
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: trolydvc.rasa_channel reads the
    # counters and the user-text variable of ``trolydvc.rasa_server``, which must be the ones the
    # patches use.
    from trolydvc import rasa_server

    raise SystemExit(rasa_server.main())
