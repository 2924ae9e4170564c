"""Fixtures of the bot tests: a scratch database, the fake Bot API and Rasa servers, a running bot."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from aiohttp import web

HERE = Path(__file__).resolve().parent


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fake_telegram = _load("fake_telegram")
FakeTelegram = fake_telegram.FakeTelegram


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from trolydvc.db import get_engine, reset_engines

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_engines()
    get_engine()  # creates the schema (Alembic upgrade of the embedded database)
    yield url
    reset_engines()


class FakeRasa:
    """Rasa's REST channel on 127.0.0.1 with scripted answers; records what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.delay = 0.0
        self.script: dict[str, list[dict[str, Any]]] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeRasa:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        text = body.get("message", "")
        sender = body.get("sender")
        answer = self.script.get(text)
        if answer is None:
            answer = [{"recipient_id": sender, "text": f"Bạn hỏi: {text}"}]
        return web.json_response([dict(a, recipient_id=sender) for a in answer])


@pytest.fixture
async def telegram() -> AsyncIterator[Any]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    server = await FakeRasa().start()
    yield server
    await server.stop()


def settings_for(telegram: Any, rasa_url: str, **overrides: Any) -> Any:
    from bot.settings import BotSettings

    values: dict[str, Any] = dict(
        token=telegram.token,
        api_base_url=telegram.base_url,
        file_base_url=telegram.base_file_url,
        rasa_url=rasa_url,
        rasa_timeout=2.0,
        overall_rate=1000.0,
        per_chat_interval=0.0,
        poll_timeout=1.0,
    )
    values.update(overrides)
    return BotSettings(**values)


class RunningBot:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.stopped = False

    async def start(self) -> RunningBot:
        from bot.app import on_startup

        await self.app.initialize()
        await on_startup(self.app)
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
        return self

    async def stop(self) -> None:
        from bot.app import on_shutdown, on_stop

        if self.stopped:
            return
        self.stopped = True
        if self.app.updater.running:
            await self.app.updater.stop()
        await on_stop(self.app)
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await on_shutdown(self.app)


@contextlib.asynccontextmanager
async def bot_factory(telegram: Any, rasa: FakeRasa | None) -> AsyncIterator[Callable[..., Any]]:
    """Builds and starts bots against the fake servers (or a real Rasa: ``rasa=None`` and a
    ``rasa_url`` override); stops them all on exit."""
    started: list[RunningBot] = []

    async def factory(**overrides: Any) -> RunningBot:
        from bot.app import build_application

        sender_options = overrides.pop("sender_options", None)
        rasa_url = (
            overrides.pop("rasa_url") if rasa is None else overrides.pop("rasa_url", rasa.url)
        )
        app = build_application(
            settings_for(telegram, rasa_url, **overrides), sender_options=sender_options
        )
        running = await RunningBot(app).start()
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            await running.stop()


@pytest.fixture
async def make_bot(
    telegram: Any, rasa: FakeRasa, database: str
) -> AsyncIterator[Callable[..., Any]]:
    async with bot_factory(telegram, rasa) as factory:
        yield factory


@pytest.fixture
async def bot(make_bot: Callable[..., Any]) -> RunningBot:
    return await make_bot()


@pytest.fixture
def make_settings(telegram: Any, rasa: FakeRasa) -> Callable[..., Any]:
    """BotSettings pointing at the fake servers, with overrides."""
    return lambda **overrides: settings_for(telegram, rasa.url, **overrides)


@pytest.fixture
def pg_database(
    monkeypatch: pytest.MonkeyPatch, require_service: Callable[[str], NoReturn]
) -> Iterator[str]:
    """A scratch PostgreSQL database, migrated, exported as DATABASE_URL; dropped afterwards."""
    from trolydvc.db import reset_engines
    from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres

    try:
        with scratch_postgres("trolydvc_bot_test") as url:
            monkeypatch.setenv("DATABASE_URL", url)
            reset_engines()
            yield url
    except PostgresUnavailable as exc:
        require_service(f"PostgreSQL not reachable: {exc}")


@pytest.fixture
async def make_pg_bot(
    telegram: Any, rasa: FakeRasa, pg_database: str
) -> AsyncIterator[Callable[..., Any]]:
    async with bot_factory(telegram, rasa) as factory:
        yield factory
