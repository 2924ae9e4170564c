"""The secrets of the embedded default and the checks behind the servers' protections, one by
one (tests/e2e/test_security.py attacks the running pair)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trolydvc import config
from trolydvc.action_server import authorized
from trolydvc.rasa_server import (
    REDACTED,
    _failure_reason,
    _with_auth_token,
    apology,
    model_replacement_refusal,
    redact,
)

NAMES = ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN")


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "var")
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "var"


# --- secrets (make run / make serve with no settings) -----------------------------------------


def test_secrets_are_generated_once_and_kept_private(var_dir: Path):
    assert config.rasa_rest_token() is None  # nothing yet: a client sends no token
    first = config.ensure_secrets()
    assert set(first) == set(NAMES) and len(set(first.values())) == 3
    assert all(len(value) >= 40 for value in first.values())  # 32 random bytes
    path = var_dir / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == first
    assert config.ensure_secrets() == first  # the next start keeps them
    # the chat and the bot of this installation find them
    assert config.rasa_rest_token() == first["RASA_REST_TOKEN"]
    assert config.rasa_auth_token() == first["RASA_AUTH_TOKEN"]
    assert config.action_server_token() == first["ACTION_SERVER_TOKEN"]


def test_the_operators_settings_win_and_are_not_written(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in NAMES:
        monkeypatch.setenv(name, f"set-{name}")
    assert config.ensure_secrets() == {name: f"set-{name}" for name in NAMES}
    assert not (var_dir / "secrets.json").exists()
    monkeypatch.delenv("RASA_REST_TOKEN")
    generated = config.ensure_secrets()["RASA_REST_TOKEN"]
    assert json.loads((var_dir / "secrets.json").read_text()) == {"RASA_REST_TOKEN": generated}
    assert config.rasa_auth_token() == "set-RASA_AUTH_TOKEN"


# --- the action server's secret -----------------------------------------------------------------


def test_action_server_token_check():
    assert authorized("Bearer s3cret", "s3cret")
    for header in (None, "", "s3cret", "Bearer s3cre", "Bearer s3cret ", "bearer s3cret"):
        assert not authorized(header, "s3cret")


def test_action_server_does_not_start_without_its_secret():
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "trolydvc.action_server", "--actions", "actions", "--port", "6499"],
        cwd=config.ROOT,
        env={**env, "PYTHONPATH": str(config.ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "ACTION_SERVER_TOKEN" in result.stderr


# --- Rasa's HTTP API -------------------------------------------------------------------------


def test_auth_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    run = ["run", "-m", "models/assistant.tar.gz"]
    assert _with_auth_token([*run, "--enable-api"]) is None  # an open API is refused
    assert _with_auth_token(run) == run  # no API, nothing to protect
    assert _with_auth_token([*run, "--enable-api", "--auth-token", "x"]) is not None
    monkeypatch.setenv("RASA_AUTH_TOKEN", "tok")
    assert _with_auth_token([*run, "--enable-api"]) == [*run, "--enable-api", "--auth-token=tok"]


@pytest.mark.rasa
def test_rasa_server_refuses_an_open_api():
    env = {k: v for k, v in os.environ.items() if k != "RASA_AUTH_TOKEN"}
    result = subprocess.run(
        [str(config.ROOT / ".venv-rasa" / "bin" / "python"), "-m", "trolydvc.rasa_server"]
        + ["run", "--enable-api", "-m", "models/assistant.tar.gz"],
        cwd=config.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "RASA_AUTH_TOKEN" in result.stderr


def test_model_replacement_only_from_the_models_directory(tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "new.tar.gz").write_bytes(b"x")
    (tmp_path / "other.tar.gz").write_bytes(b"x")
    (models / "link.tar.gz").symlink_to(tmp_path / "other.tar.gz")
    assert model_replacement_refusal({"model_file": str(models / "new.tar.gz")}, models) is None
    for body in (
        {"model_file": str(tmp_path / "other.tar.gz")},
        {"model_file": str(models / ".." / "other.tar.gz")},
        {"model_file": str(models / "link.tar.gz")},  # a link out of models/
        {"model_file": str(models / "missing.tar.gz")},
        {"model_file": str(models)},
        {"model_file": str(models / "new.tar.gz"), "model_server": {"url": "http://x"}},
        {"model_file": str(models / "new.tar.gz"), "remote_storage": "aws"},
        {"model_file": 3},
        {},
        [],
        None,
    ):
        assert model_replacement_refusal(body, models) is not None, body


# --- failed actions -------------------------------------------------------------------------


def test_apology_names_the_hotline_or_the_provincial_office(tmp_path: Path):
    locality = tmp_path / "locality.yml"
    locality.write_text(
        "offices:\n"
        "  - {id: a, level: commune, name: Xã A, phone: '0200 1'}\n"
        "  - {id: b, level: province, name: Trung tâm B, phone: '0200 2'}\n"
        "hotline: {name: Đường dây C, phone: '1900 3'}\n",
        encoding="utf-8",
    )
    assert apology(locality).endswith("Nếu cần gấp, Bạn gọi Đường dây C: 1900 3.")
    locality.write_text(locality.read_text(encoding="utf-8").split("hotline")[0], encoding="utf-8")
    assert apology(locality).endswith("Bạn gọi Trung tâm B: 0200 2.")
    locality.write_text(  # generated, phones not filled yet
        "offices:\n  - {id: b, level: province, name: Trung tâm B, phone: ''}\n", encoding="utf-8"
    )
    assert apology(locality).endswith("Bạn liên hệ bộ phận một cửa nơi Bạn cư trú.")
    text = apology(tmp_path / "missing.yml")
    assert text.startswith("Xin lỗi Bạn, hệ thống đang gặp sự cố") and "gọi" not in text


def test_failure_reason_names_types_not_messages():
    class ClientResponseError(Exception):
        status = 500

    try:
        try:
            raise ClientResponseError('{"request_body": "tên Nguyễn Văn A"}')
        except ClientResponseError as exc:
            raise RuntimeError("Failed to execute custom action 'x'") from exc
    except RuntimeError as exc:
        reason = _failure_reason(exc)
    assert reason == "RuntimeError <- ClientResponseError 500"


# --- no user text in log lines ------------------------------------------------------------------


def test_redact_takes_out_the_text_its_words_and_numbers():
    text = '/tim_nguyen{"ho_ten": "Nguyễn Văn An"} 0912 345 678'
    line = (
        f"Failed to parse arguments in line '{text}'. Expected the intent to be one of "
        "['greet', 'inform'] but found tim_nguyen. found {'ho_ten'}; value Nguy\\u1ec5n; 345"
    )
    cleaned = redact(line, text)
    for piece in ("tim_nguyen", "ho_ten", "Nguyễn", "Nguy\\u1ec5n", "Văn", "0912", "345", "678"):
        assert piece not in cleaned
    assert cleaned.startswith(f"Failed to parse arguments in line '{REDACTED}'")
    assert "['greet', 'inform']" in cleaned
    assert redact("nothing to hide", None) == "nothing to hide"  # no message being handled


CLOSED_PORT_SCRIPT = r"""
import asyncio, socket
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from trolydvc import rasa_server

rasa_server.install_action_failure_reply()
with socket.socket() as s:  # a port nobody listens on
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
action = RemoteAction("action_check_dossier_status", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
domain = Domain.empty()
tracker = DialogueStateTracker("someone", domain.slots)
events = asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, domain))
assert len(events) == 1 and isinstance(events[0], BotUttered), events
assert events[0].text == rasa_server.apology(), events[0].text
assert rasa_server.FAILED_ACTIONS.value == 1
print("ok")
"""


@pytest.mark.rasa
def test_unreachable_action_server_gives_the_apology():
    result = subprocess.run(
        [str(config.ROOT / ".venv-rasa" / "bin" / "python"), "-c", CLOSED_PORT_SCRIPT],
        cwd=config.ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
    logged = "failed (RasaException <- ClientConnectorError <- ConnectionRefusedError); 1 failed"
    assert logged in result.stdout + result.stderr
