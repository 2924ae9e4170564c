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
from trolydvc.rasa_client import RasaClient, RasaUnavailable

QUIT_WORDS = {"/thoat", "/thoát", "/quit", "/exit"}
MAX_INPUT_CHARS = 4000  # longer messages are cut (and the user told so)


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
        if not await client.is_ready():
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
            if len(text) > MAX_INPUT_CHARS:
                click.echo(f"(Tin nhắn dài quá nên chỉ gửi {MAX_INPUT_CHARS} ký tự đầu.)")
                text = text[:MAX_INPUT_CHARS]
            message = choose(text, buttons)
            try:
                replies = await client.send(sender, message)
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
