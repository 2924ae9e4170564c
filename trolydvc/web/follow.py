"""Following dossiers from the widget: the "Theo dõi hồ sơ này" button of a verified lookup, the
list of followed dossiers and stopping (the Telegram bot's button, /theodoi and /botheodoi:
bot.follow). The web app handles these button payloads itself, never the NLU.

The rules (consent within the offer's life, the limit, the end after the result) are
trolydvc.tracking.follow's, for a Telegram chat and a widget session alike. The follower is the
session's sender id, which is also its Rasa conversation: only the conversation whose lookup was
verified holds the offer that lets it follow. The news arrives in the widget's inbox.

Functions are blocking (database): call them from a worker thread.
"""

from __future__ import annotations

from typing import Any

from trolydvc.tracking import follow as domain
from trolydvc.tracking.fields import STATUS_LABELS
from trolydvc.tracking.follow import (
    FOLLOW_PAYLOAD,
    FOLLOWED_PAYLOAD,
    UNFOLLOW_PAYLOAD,
    code_of_payload,
    web_list_button,
    web_stop_button,
)

PAYLOADS = (FOLLOW_PAYLOAD, FOLLOWED_PAYLOAD, UNFOLLOW_PAYLOAD)
LANGUAGE = "vi"  # the widget's
WHERE = (
    "Tin báo hiện trong khung trò chuyện này khi Bạn mở trang, trong phiên trình duyệt này "
    "(đóng trình duyệt là kết thúc)."
)

Message = dict[str, Any]


def _say(text: str, buttons: list[dict[str, str]] | None = None) -> list[Message]:
    return [{"text": text, "buttons": buttons or []}]


def _list_button() -> dict[str, str]:
    return web_list_button(LANGUAGE)


def _stop_button(code: str) -> dict[str, str]:
    return web_stop_button(code, LANGUAGE)


def handle(sender: str, text: str) -> list[Message]:
    """The answer to one of PAYLOADS pressed in the widget of session `sender`."""
    command = text.strip().split("{", 1)[0]
    if command == FOLLOW_PAYLOAD:
        return _follow(sender, text)
    if command == FOLLOWED_PAYLOAD:
        return _followed(sender)
    return _stop(sender, text)


def _follow(sender: str, text: str) -> list[Message]:
    code = code_of_payload(text)
    if code is None:
        return _say("Nút này không còn dùng được. Bạn vui lòng tra cứu lại hồ sơ.")
    result = domain.follow(sender, sender, code, LANGUAGE)
    if result.kind == "followed":
        return _say(
            f"Bạn đã theo dõi hồ sơ {code}. Tôi sẽ báo Bạn khi hồ sơ đổi trạng thái hoặc quá "
            f"hạn, cho đến {domain.days_after_result()} ngày sau khi trả kết quả. {WHERE}",
            [_list_button(), _stop_button(code)],
        )
    if result.kind == "already":
        return _say(f"Bạn đã theo dõi hồ sơ {code} rồi.", [_list_button()])
    if result.kind == "limit":
        return _say(
            f"Bạn đang theo dõi {result.count} hồ sơ, là số tối đa. Bạn vui lòng ngừng theo dõi "
            "một hồ sơ rồi thử lại.",
            [_list_button()],
        )
    # not verified in this conversation (or too long ago), or unknown
    return _say(
        f"Để theo dõi hồ sơ {code}, Bạn vui lòng tra cứu lại và xác nhận 4 số cuối của số điện "
        "thoại đã đăng ký với hồ sơ."
    )


def _followed(sender: str) -> list[Message]:
    items = domain.followed(sender)
    if not items:
        return _say(
            "Bạn chưa theo dõi hồ sơ nào. Sau khi tra cứu hồ sơ và xác nhận 4 số cuối số điện "
            "thoại, Bạn bấm «Theo dõi hồ sơ này»."
        )
    lines = ["Hồ sơ Bạn đang theo dõi:"]
    lines += [f"• {i.code}: {STATUS_LABELS.get(i.status, i.status)}" for i in items]
    buttons = [_stop_button(i.code) for i in items]
    if len(items) > 1:
        buttons.append({"title": "Ngừng theo dõi tất cả", "payload": UNFOLLOW_PAYLOAD})
    return _say("\n".join(lines), buttons)


def _stop(sender: str, text: str) -> list[Message]:
    everything = text.strip() == UNFOLLOW_PAYLOAD
    code = None if everything else code_of_payload(text, UNFOLLOW_PAYLOAD)
    if not everything and code is None:
        return _say("Nút này không còn dùng được.", [_list_button()])
    ended = domain.unfollow(sender, code)
    if not ended:
        return _say("Bạn không theo dõi hồ sơ đó.", [_list_button()])
    if code is not None:
        return _say(f"Đã ngừng theo dõi hồ sơ {code}.")
    return _say(f"Đã ngừng theo dõi {ended} hồ sơ.")
