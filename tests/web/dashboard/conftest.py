"""Fixtures of the dashboard tests: a scratch SQLite database (with demo dossiers), a minimal
FastAPI app (SessionMiddleware + the dashboard router), a logged-in client, the fake Bot API."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware

ROOT = Path(__file__).resolve().parents[3]
DEMO_TODAY = date(2026, 11, 30)
USERNAME, PASSWORD = "canbo.motcua", "mat-khau-du-dai-1"


def _fake_telegram_module() -> Any:
    name = "fake_telegram"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests/bot/fake_telegram.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _build(path: Path, with_demo: bool) -> Path:
    from trolydvc.db import get_engine, reset_engines
    from trolydvc.tracking.demo import load_demo_data

    url = f"sqlite:///{path}"
    get_engine(url)  # the embedded database is upgraded to the newest migration
    if with_demo:
        load_demo_data(800, today=DEMO_TODAY, url=url)
    reset_engines()
    return path


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Migrated databases built once (empty, and with demo dossiers); each test gets a copy."""
    folder = tmp_path_factory.mktemp("dashboard-templates")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TROLYDVC_PHONE_KEY", "test-key")
        return {demo: _build(folder / f"demo-{demo}.db", demo) for demo in (False, True)}


def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> Iterator[str]:
    from trolydvc.db import reset_engines
    from trolydvc.tracking import privacy

    path = tmp_path / "dashboard.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TROLYDVC_PHONE_KEY", "test-key")
    privacy._key.cache_clear()
    reset_engines()
    yield url
    reset_engines()


@pytest.fixture
def database(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _templates: dict[bool, Path],
) -> Iterator[str]:
    with_demo = "demo_data" in request.fixturenames
    yield from _database(tmp_path, monkeypatch, _templates[with_demo])


@pytest.fixture
def demo_data(database: str) -> str:
    """The database holds 800 seeded demo dossiers up to DEMO_TODAY."""
    return database


@pytest.fixture
def account(database: str) -> Any:
    from trolydvc.web.dashboard.accounts import add_account

    return add_account(USERNAME, PASSWORD, "admin")[0]


def make_app() -> FastAPI:
    from trolydvc.web.dashboard import router

    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key="test-session-key", same_site="strict")
    app.include_router(router)
    return app


@pytest.fixture
def app_factory() -> Any:
    return make_app


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    with TestClient(make_app(), follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found[1]


def login(client: TestClient, username: str = USERNAME, password: str = PASSWORD) -> Any:
    page = client.get("/quan-tri/dang-nhap")
    return client.post(
        "/quan-tri/dang-nhap",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


@pytest.fixture
def logged_in(client: TestClient, account: Any) -> TestClient:
    response = login(client)
    assert response.status_code == 303, response.text
    return client


class ThreadedFakeTelegram:
    """tests/bot's fake Bot API, served from its own event loop in a thread (the dashboard's
    answer opens its own HTTP client, as a separate web process would)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fake = _fake_telegram_module().FakeTelegram
        self.server = asyncio.run_coroutine_threadsafe(fake().start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake = ThreadedFakeTelegram()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.server.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake.server.base_url)
    yield fake.server
    fake.stop()


class Helpers:
    """The tests' shared helpers (conftest cannot be imported under --import-mode=importlib)."""

    username, password = USERNAME, PASSWORD
    csrf_of = staticmethod(csrf_of)
    login = staticmethod(login)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
