"""trolydvc.rasa_server's cached action-response validator accepts and rejects what Rasa's does."""

from __future__ import annotations

import os
import subprocess

import pytest

from trolydvc.config import ROOT

pytestmark = pytest.mark.rasa

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
    result = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", SCRIPT],
        cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
