"""trolydvc.rasa_server's fixes: the action-response validator accepts and rejects what Rasa's does;
the sequential graph runner gives the same parse and predictions as dask's."""

from __future__ import annotations

import os
import subprocess

import pytest

from trolydvc.config import ROOT

pytestmark = pytest.mark.rasa


def run_in_rasa_env(script: str, *args: str) -> None:
    """Runs ``script`` with .venv-rasa's python; it must print "ok" last."""
    result = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", script, *args],
        cwd=ROOT,
        env=dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            PYTHONWARNINGS="ignore",
            RASA_TELEMETRY_ENABLED="false",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


SCRIPT = r"""
import jsonschema
from rasa.core.actions.action import RemoteAction
from trolydvc.rasa_server import install_action_response_validator

original = RemoteAction._validate_action_result
install_action_response_validator()
patched = RemoteAction._validate_action_result
assert patched is not original
action = RemoteAction("action_x", None)
good = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "procedure", "value": "1.001193"}],
     "responses": [{"text": "xin chào", "buttons": [{"title": "a", "payload": "/greet"}]}]},
    {"events": [{"event": "restart"}], "responses": []},
]
bad = [
    {"events": [{"event": "slot", "name": 3}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "procedure"}]},
    {"events": [{"event": "slot", "name": "a"}, {"event": "bot", "text": 5}]},
    {"events": [{"event": "user", "text": "x", "parse_data": {"intent": 3}}]},
    {"events": "x"},
]
for result in good:
    assert original(action, result) and patched(action, result)
for result in bad:
    messages = []
    for fn in (original, patched):
        try:
            fn(action, result)
        except jsonschema.ValidationError as exc:
            messages.append(exc.message)
    assert len(messages) == 2 and messages[0] == messages[1], messages
print("ok")
"""


def test_cached_validator_matches_rasa():
    run_in_rasa_env(SCRIPT)


GRAPH_SCRIPT = r"""
import asyncio, json, sys
from rasa.core.agent import load_agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.runner.dask import DaskGraphRunner
import rasa.core.processor
from trolydvc.rasa_server import install_sequential_graph_runner

TEXTS = ["làm giấy khai sinh cần giấy tờ gì", "còn lệ phí?", "tra cứu hồ sơ 000.00.20.h50-221107-0001",
         "hôm nay trời đẹp", "xin chào"]

async def outputs():
    agent = await load_agent(model_path=sys.argv[1])
    parsed = [await agent.parse_message(t) for t in TEXTS]
    tracker = await agent.processor.fetch_tracker_and_update_session("graph-test")
    predictions = []
    for text in TEXTS:
        tracker = await agent.processor.log_message(UserMessage(text, sender_id="graph-test"))
        prediction = agent.processor._predict_next_with_tracker(tracker)
        predictions.append([prediction.max_confidence_index, round(prediction.max_confidence, 6)])
    return {"runner": type(agent.processor.graph_runner).__name__, "parsed": parsed,
            "predictions": predictions}

first = asyncio.run(outputs())
install_sequential_graph_runner()
second = asyncio.run(outputs())
assert first["runner"] == "DaskGraphRunner" and second["runner"] == "SequentialGraphRunner", (first["runner"], second["runner"])
for a, b in zip(first["parsed"], second["parsed"]):
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), (a, b)
assert first["predictions"] == second["predictions"], (first["predictions"], second["predictions"])
print("ok")
"""


def test_sequential_graph_runner_matches_dask():
    model = ROOT / "models" / "assistant.tar.gz"
    if not model.exists():
        pytest.fail("models/assistant.tar.gz is missing: run `make train`")
    run_in_rasa_env(GRAPH_SCRIPT, str(model))


SESSION_SCRIPT = r"""
import asyncio
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig
from trolydvc.rasa_server import install_shared_endpoint_sessions

install_shared_endpoint_sessions()
peers = []

async def webhook(request):
    peers.append(request.transport.get_extra_info("peername"))
    return web.json_response({"ok": len(peers)})

async def serve(port):
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]

async def main():
    runner, port = await serve(0)
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    answers = [await endpoint.request(json={"n": i}) for i in range(3)]
    assert answers == [{"ok": 1}, {"ok": 2}, {"ok": 3}], answers
    assert len(set(peers)) == 1, peers  # one kept-alive connection for the three calls
    await runner.cleanup()  # the action server restarts on the same port
    await asyncio.sleep(0.2)
    runner, _ = await serve(port)
    assert await endpoint.request(json={}) == {"ok": 4}
    assert len(set(peers)) == 2, peers
    await runner.cleanup()

asyncio.run(main())
print("ok")
"""


def test_endpoint_session_is_kept_alive_and_survives_a_restart():
    run_in_rasa_env(SESSION_SCRIPT)


EVENT_TYPES_SCRIPT = r"""
import rasa.shared.utils.common as common
from rasa.shared.core.events import Event
from trolydvc.rasa_server import install_event_type_cache

original = Event.resolve_by_type
names = {cls.type_name for cls in common.all_subclasses(Event)}
install_event_type_cache()
assert Event.resolve_by_type is not original
for _ in range(2):  # the second time from the cache
    for name in names:
        assert Event.resolve_by_type(name) is original(name), name
assert Event.resolve_by_type("topic") is None and Event.resolve_by_type("x", Event) is Event
for fn in (original, Event.resolve_by_type):
    try:
        fn("no_such_event")
    except ValueError as exc:
        assert "no_such_event" in str(exc)
    else:
        raise AssertionError("no error")
user = Event.from_parameters({"event": "user", "text": "xin chào", "timestamp": 1.0,
                              "parse_data": {"intent": {"name": "greet"}, "entities": []}})
assert type(user).__name__ == "UserUttered" and user.text == "xin chào"
print("ok")
"""


def test_event_type_cache_resolves_as_rasa():
    run_in_rasa_env(EVENT_TYPES_SCRIPT)
