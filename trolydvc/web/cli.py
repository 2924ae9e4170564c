"""`trolydvc web`: the web app (sample commune page with the chat widget, its API, the
officials' dashboard) under uvicorn, in one process."""

from __future__ import annotations

import os

import click

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Địa chỉ lắng nghe.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Cổng.")
@click.option(
    "--rasa-url", default=None, help="Nơi gặp Rasa (mặc định: RASA_URL, http://127.0.0.1:5005)."
)
def web(host: str, port: int, rasa_url: str | None) -> None:
    """Chạy trang web: trang mẫu của xã có khung trò chuyện, và trang quản trị /quan-tri."""
    import uvicorn  # here, not at the top: keeps `trolydvc --help` fast

    if rasa_url:
        os.environ["RASA_URL"] = rasa_url  # read by create_app() through the settings
    # proxy headers are trusted from 127.0.0.1 only (uvicorn's default): behind a local reverse
    # proxy the limits count the real client address, and nobody else can forge it
    uvicorn.run("trolydvc.web.app:create_app", factory=True, host=host, port=port, log_level="info")
