"""The widget in a real browser against the real web app, Rasa and action server.

One `Servers` trio (action server, Rasa, web app: trolydvc.serve.servers with ``web_port``) per
test session, next to the test ports (TROLYDVC_TEST_RASA_PORT + 1, TROLYDVC_TEST_ACTIONS_PORT + 1,
and TROLYDVC_TEST_RASA_PORT + 75 for the web app), with a scratch SQLite database of demo
dossiers and fresh secrets in the environment, as tests/e2e does. The browser is Debian's
chromium (`scripts/ensure_chromium.sh`, run by `make test`), driven by Playwright;
`playwright install` is never needed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trolydvc.config import settings

# Next to tests/e2e's pair (its session fixture still holds its ports while these tests run)
RASA_PORT = settings().test_rasa_port + 1
ACTIONS_PORT = settings().test_actions_port + 1
WEB_PORT = settings().test_rasa_port + 75
# Another site's page carrying the widget's tag (TROLYDVC_WEB_EMBED_ORIGINS)
EMBED_PORT = settings().test_rasa_port + 76
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The running trio (trolydvc.serve.Servers); `web.web_url` is the web app."""
    from trolydvc.db.base import reset_engines
    from trolydvc.db.migrate import upgrade
    from trolydvc.serve import MODEL, ServerError, Servers
    from trolydvc.tracking import privacy
    from trolydvc.tracking.demo import load_demo_data

    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (or `make test`) first")
    tmp = tmp_path_factory.mktemp("web")
    mp = pytest.MonkeyPatch()
    url = f"sqlite:///{tmp / 'dossiers.db'}"
    mp.setenv("DATABASE_URL", url)  # inherited by the action server
    mp.setenv("TROLYDVC_PHONE_KEY", "web-test-key")
    mp.setenv("TROLYDVC_VAR_DIR", str(tmp / "var"))
    mp.delenv("REDIS_URL", raising=False)  # the lookup counters go to the scratch database
    for name in ("RASA_AUTH_TOKEN", "RASA_REST_TOKEN", "ACTION_SERVER_TOKEN", "WEB_SESSION_SECRET"):
        # hex: a token_urlsafe starting with "-" is taken for an option by `rasa run`'s
        # argparse (trolydvc.rasa_server passes "--auth-token TOKEN"): 1 start in 64 fails
        mp.setenv(name, secrets.token_hex(16))
    mp.setenv("TROLYDVC_WEB_EMBED_ORIGINS", f"http://127.0.0.1:{EMBED_PORT}")
    # every browser test comes from 127.0.0.1: the per-address limit is tested in test_api.py
    mp.setenv("TROLYDVC_WEB_LIMIT_ADDRESS", "1000/minute")
    # the web app's follow notifier runs every second (a followed dossier's news within ~3 s)
    mp.setenv("TROLYDVC_FOLLOW_NOTIFY_INTERVAL", "1")
    privacy._key.cache_clear()
    reset_engines()
    upgrade(url)
    load_demo_data(50)
    servers = Servers(RASA_PORT, ACTIONS_PORT, log_dir=tmp / "logs", web_port=WEB_PORT)
    try:
        servers.start()
        servers.wait_ready()
    except ServerError as exc:
        servers.stop()
        mp.undo()
        pytest.fail(str(exc))
    # The action server loads the catalog on its first call: one question through the web app
    # first, so that the tests do not meet that once-only wait (over the 10 s action timeout on a
    # busy machine).
    httpx.post(
        f"{servers.web_url}/api/chat",
        json={"message": "làm giấy khai sinh cần giấy tờ gì"},
        timeout=60,
    )
    try:
        yield servers
    finally:
        servers.stop()
        reset_engines()
        mp.undo()
        privacy._key.cache_clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"no {CHROMIUM}: run scripts/ensure_chromium.sh (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, web: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies and sessionStorage) on the sample commune page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{web.web_url}/")
    try:
        yield page
    finally:
        context.close()
