"""`trolydvc chat`: talk to the assistant in the terminal through Rasa's REST channel.

Buttons are shown as numbered choices; typing the number sends that button's payload.
Ctrl-D, Ctrl-C or "/thoat" leaves.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import click

from trolydvc.config import rasa_url
from trolydvc.rasa_client import RasaClient, RasaRefused, RasaUnavailable

QUIT_WORDS = {"/thoat", "/thoát", "/quit", "/exit"}
# A message longer than the REST channel takes is answered by Rasa itself (a short "too long"
# reply); only a body Rasa refuses outright (over 1 MiB) is answered here.


def render(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Text to print for Rasa's bot messages, and the buttons offered (numbered from 1)."""
    lines: list[str] = []
    buttons: list[dict[str, Any]] = []
    for message in messages:
        if text := message.get("text"):
            lines.append(str(text))
        if image := message.get("image"):
            lines.append(f"[Hình ảnh] {image}")
        for button in message.get("buttons") or []:
            buttons.append(button)
            lines.append(f"  {len(buttons)}. {button.get('title', '')}")
    if not lines:
        lines.append("(Trợ lý không trả lời. Bạn thử hỏi cách khác nhé.)")
    return "\n".join(lines), buttons


def choose(text: str, buttons: list[dict[str, Any]]) -> str:
    """The payload of button N when the user typed N, else the text itself."""
    stripped = text.strip().rstrip(".")
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return str(buttons[int(stripped) - 1].get("payload") or buttons[int(stripped) - 1]["title"])
    return text


async def _chat(url: str, sender: str) -> None:
    async with RasaClient(url, timeout=60.0) as client:
        try:
            ready = await client.is_ready()
        except RasaRefused:
            click.echo(
                f"Trợ lý tại {url} từ chối kết nối: thiếu hoặc sai mã RASA_REST_TOKEN "
                "(đặt giống như cho `trolydvc serve`).",
                err=True,
            )
            return
        if not ready:
            click.echo(
                f"Không kết nối được trợ lý tại {url}. Hãy chạy `make serve` trước.", err=True
            )
            return
        click.echo(
            "Trợ lý Dịch vụ công — gõ câu hỏi rồi nhấn Enter. "
            'Gõ số để chọn một gợi ý, "bắt đầu lại" để làm lại từ đầu, Ctrl-D để thoát.\n'
        )
        buttons: list[dict[str, Any]] = []
        while True:
            try:
                text = await asyncio.to_thread(input, "Bạn: ")
            except (EOFError, KeyboardInterrupt):
                click.echo("")
                return
            if text.strip().lower() in QUIT_WORDS:
                return
            message = choose(text, buttons)
            try:
                replies = await client.send(sender, message)
            except RasaRefused as exc:
                if exc.status == 413:
                    click.echo(
                        "Trợ lý: Tin nhắn của Bạn dài quá. Bạn gửi câu hỏi ngắn gọn hơn nhé."
                    )
                else:
                    click.echo("Trợ lý: Xin lỗi, trợ lý từ chối kết nối (sai mã RASA_REST_TOKEN).")
                continue
            except RasaUnavailable:
                click.echo("Trợ lý: Xin lỗi, hệ thống đang bận hoặc đã dừng. Bạn thử lại sau nhé.")
                continue
            shown, buttons = render(replies)
            click.echo("Trợ lý: " + shown.replace("\n", "\n        ") + "\n")


def chat_loop(url: str | None = None, sender: str | None = None) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    asyncio.run(_chat(url or rasa_url(), sender or f"terminal-{uuid.uuid4().hex[:12]}"))


@click.command()
@click.option(
    "--url",
    default=None,
    help="Địa chỉ gốc của Rasa (mặc định: RASA_URL hoặc 127.0.0.1:5005).",
)
def chat(url: str | None) -> None:
    """Trò chuyện với trợ lý ngay trong terminal (cần `make serve` đang chạy)."""
    chat_loop(url)
