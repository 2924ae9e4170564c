"""`create_app()`: the one web process. Serves the sample commune page (/), the chat widget
(/static/widget.js) and its API (/api/chat, /api/inbox), and the officials' dashboard
(/quan-tri); runs the follow notifier and ends idle widget handoff cases (trolydvc.web.jobs).

    uvicorn --factory trolydvc.web.app:create_app     (what `trolydvc web` runs)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from trolydvc import config
from trolydvc.locality import load_locality
from trolydvc.rasa_client import RasaClient
from trolydvc.web import chat, dashboard, embed, jobs
from trolydvc.web.handoff import RecentTexts
from trolydvc.web.limiter import ChatLimiter
from trolydvc.web.secrets import session_secret

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def create_app(rasa_url: str | None = None) -> FastAPI:
    settings = config.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.rasa = RasaClient(rasa_url or config.rasa_url(), timeout=settings.rasa_timeout)
        background = asyncio.create_task(jobs.run(), name="web-jobs")
        try:
            yield
        finally:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
            await app.state.rasa.aclose()

    app = FastAPI(
        title="Trợ lý Dịch vụ công",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    # The cookie lasts as long as the browser session, like the widget's history
    # (sessionStorage): closing the browser on a shared computer ends both.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(),
        session_cookie="trolydvc_session",
        max_age=None,
        same_site="lax",
        https_only=settings.web_https_only,  # set it when the site is served over HTTPS
    )
    embed.install(app, session_secret(), settings.embed_origins)
    app.state.chat_limiter = ChatLimiter(settings.web_limit_session, settings.web_limit_address)
    app.state.recent_texts = RecentTexts()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(chat.router)
    app.include_router(dashboard.router)  # /quan-tri, after the session middleware above

    @app.get("/", response_class=HTMLResponse)
    async def commune_page(request: Request) -> HTMLResponse:
        # The sample page presents the first commune of locality.yml, as a commune's site would.
        locality = load_locality()
        commune = locality.communes[0] if locality.communes else None
        office = locality.office(commune.office) if commune else locality.offices[0]
        return templates.TemplateResponse(
            request,
            "commune.html",
            {"locality": locality, "commune": commune, "office": office},
        )

    @app.get("/healthz")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app
