"""trolydvc.config.Settings: the one reader of environment variables, and the README's table of them."""

from __future__ import annotations

import re

import pytest

from trolydvc import config


def test_defaults_when_unset_or_empty(monkeypatch: pytest.MonkeyPatch):
    for name in config.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RASA_URL", "")  # empty counts as unset
    settings = config.settings()
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.var_dir == config.ROOT / "var"
    assert settings.rasa_workers == 1 and settings.officials_chat_id is None
    assert settings.handoff_timeout == 4 * 3600.0
    assert settings.phone_key.get_secret_value() == ""
    assert config.database_url() == f"sqlite:///{config.VAR_DIR / 'trolydvc.db'}"


def test_read_at_call_time_and_stripped(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RASA_URL", "  http://rasa:5005/ ")
    assert config.rasa_url() == "http://rasa:5005"
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert config.database_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/other")
    assert config.database_url() == "postgresql+psycopg://u@h/other"
    monkeypatch.setenv("OFFICIALS_CHAT_ID", "-100123")
    assert config.settings().officials_chat_id == -100123


def test_a_value_of_the_wrong_kind_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RASA_TIMEOUT", "mười lăm")
    with pytest.raises(config.SettingsError, match="RASA_TIMEOUT không hợp lệ"):
        config.settings()


def test_secrets_are_not_shown(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret-token")
    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "phone-secret")
    shown = repr(config.settings())
    assert "secret-token" not in shown and "phone-secret" not in shown


def test_the_readme_lists_every_variable():
    readme = (config.ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings (environment)", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert set(config.ENV_NAMES) <= listed, set(config.ENV_NAMES) - listed
    assert listed <= set(config.ENV_NAMES), listed - set(config.ENV_NAMES)
