"""The generated configuration: nginx accepts it, Rasa's stores point at DATABASE_URL/REDIS_URL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from trolydvc.cluster.topology import Ports, endpoints_yaml, render_nginx


def test_endpoints_name_our_stores(monkeypatch):
    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    conf = yaml.safe_load(
        endpoints_yaml(
            Ports(actions_entry=7150),
            "postgresql+psycopg://user:p%40ss@db.local:5433/trolydvc",
            "redis://127.0.0.1:6379/7",
        )
    )
    assert conf["action_endpoint"]["url"] == "http://127.0.0.1:7150/webhook"
    store = conf["tracker_store"]
    assert store["type"] == "trolydvc.rasa_stores.RedactingSQLTrackerStore"
    assert (store["url"], store["port"], store["db"]) == ("db.local", 5433, "trolydvc")
    assert (store["username"], store["password"]) == ("user", "p@ss")
    lock = conf["lock_store"]
    assert lock["type"] == "trolydvc.rasa_stores.ClusterRedisLockStore"
    assert (lock["url"], lock["port"], lock["db"]) == ("127.0.0.1", 6379, 7)
    broker = conf["event_broker"]  # the conversation log, in the same database (psycopg2)
    assert broker["type"] == "trolydvc.conversation_log.ConversationLogBroker"
    assert broker["url"] == "postgresql+psycopg2://user:p%40ss@db.local:5433/trolydvc"


def test_sqlite_is_refused():
    from trolydvc.serve import ServerError

    with pytest.raises(ServerError, match="PostgreSQL"):
        endpoints_yaml(Ports(), "sqlite:///x.db", "redis://127.0.0.1:6379/0")


def test_nginx_accepts_the_generated_configuration(tmp_path, require_service):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        require_service("nginx is not installed (`make nginx`)")
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / sub).mkdir()
    text = render_nginx(Ports("127.0.0.1:7181"), 3, tmp_path, tmp_path, bot_path="tg-hook")
    assert text.count("server 127.0.0.1:") == 6 and "{{" not in text
    assert "location = /tg-hook" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "location / {\n            return 404;" in text  # no web app: nothing else routed
    web = render_nginx(Ports("127.0.0.1:7181", web=7182), 2, tmp_path, tmp_path)
    assert "proxy_pass http://127.0.0.1:7182;" in web
    conf.write_text(web)
    result = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
