"""The terminal chat's rendering, the server launcher's checks and the training-input hash."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from trolydvc.chat import choose, render
from trolydvc.config import ROOT
from trolydvc.serve import ServerError, Servers


def test_render_numbers_buttons_and_choose_sends_the_payload():
    messages = [
        {"text": "Bạn muốn hỏi lệ phí của thủ tục nào?", "buttons": [
            {"title": "Đăng ký khai sinh", "payload": '/inform{"procedure": "1.001193"}'},
            {"title": "Đăng ký kết hôn", "payload": '/inform{"procedure": "1.000894"}'},
        ]},
        {"text": "Hoặc gõ tên thủ tục."},
    ]  # fmt: skip
    shown, buttons = render(messages)
    assert "  1. Đăng ký khai sinh" in shown and "  2. Đăng ký kết hôn" in shown
    assert shown.endswith("Hoặc gõ tên thủ tục.")
    assert choose("2", buttons) == '/inform{"procedure": "1.000894"}'
    assert choose(" 1. ", buttons) == '/inform{"procedure": "1.001193"}'
    assert choose("3", buttons) == "3"  # not a choice: sent as typed
    assert choose("khai sinh", buttons) == "khai sinh"


def test_render_of_an_empty_answer_says_so():
    shown, buttons = render([])
    assert "không trả lời" in shown and buttons == []


def test_servers_refuse_to_start_without_a_model(tmp_path: Path):
    servers = Servers(5391, 5392, model=tmp_path / "missing.tar.gz")
    with pytest.raises(ServerError, match="make train"):
        servers.start()


def _train_module():
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "scripts" / "train.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_hash_follows_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    train = _train_module()
    (tmp_path / "nlu_data" / "nlu").mkdir(parents=True)
    (tmp_path / "domain.yml").write_text("version: '3.1'\n")
    (tmp_path / "config.yml").write_text("language: vi\n")
    examples = tmp_path / "nlu_data" / "nlu" / "a.yml"
    examples.write_text("nlu: []\n")
    monkeypatch.setattr(train, "ROOT", tmp_path)
    first = train.training_hash()
    assert train.training_hash() == first
    examples.write_text("nlu: [x]\n")
    second = train.training_hash()
    assert second != first
    (tmp_path / "notes.md").write_text("not a training input\n")
    assert train.training_hash() == second


def test_several_workers_share_conversations_in_redis(monkeypatch: pytest.MonkeyPatch):
    import yaml

    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@10.0.0.5:6380/2")
    servers = Servers(5391, 5392, workers=2)
    try:
        endpoints = yaml.safe_load(servers._endpoints_file().read_text())
    finally:
        servers.stop()
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:5392/webhook"
    for store in ("tracker_store", "lock_store"):
        assert endpoints[store]["type"] == "redis"
        assert (endpoints[store]["url"], endpoints[store]["port"]) == ("10.0.0.5", 6380)
        assert endpoints[store]["db"] == 2 and endpoints[store]["password"] == "s3cret"
    assert endpoints["tracker_store"]["record_exp"] == 3600


def test_endpoints_carry_the_conversation_log(monkeypatch: pytest.MonkeyPatch):
    """The pair's endpoints name the conversation log's broker with the project's database (as
    .venv-rasa's SQLAlchemy 1.4 reads it), in a directory only this user can read."""
    import stat

    import yaml

    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.local/trolydvc")
    monkeypatch.setenv("TROLYDVC_CONVERSATION_RETENTION_DAYS", "7")
    single = Servers()
    try:
        path = single._endpoints_file()
        assert path == single._endpoints_file()  # one file per pair
        conf = yaml.safe_load(path.read_text())
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        single.stop()
    assert not path.exists()
    assert "tracker_store" not in conf  # one process: conversations in memory
    assert conf["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    broker = conf["event_broker"]
    assert broker["type"] == "trolydvc.conversation_log.ConversationLogBroker"
    assert broker["url"] == "postgresql+psycopg2://u@db.local/trolydvc"
    assert broker["retention_days"] == 7.0 and len(bytes.fromhex(broker["sender_key"])) == 32
