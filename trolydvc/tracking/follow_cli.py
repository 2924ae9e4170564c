"""`trolydvc follow notify` and `trolydvc follow stats` (registered in ``trolydvc.cli``)."""

from __future__ import annotations

import click

from trolydvc.tracking.cli import _friendly_errors


@click.group()
def follow() -> None:
    """Theo dõi hồ sơ: gửi thông báo khi hồ sơ được theo dõi đổi trạng thái; số liệu."""


@follow.command("notify")
@_friendly_errors
def notify_cmd() -> None:
    """Xếp hàng thông báo cho các thay đổi mới; bot Telegram đang chạy sẽ gửi đi (trang web
    hiện thông báo trong khung trò chuyện)."""
    from trolydvc.tracking.follow import notify

    report = notify()
    click.echo(
        f"Đã đọc {report.history_rows} thay đổi trạng thái; xếp hàng {report.notifications} "
        f"thông báo ({report.overdue} quá hạn) trong {report.messages} tin nhắn Telegram và "
        f"{report.widget_messages} tin nhắn trên trang web."
    )
    if report.broadcast_id is not None:
        click.echo("Bot Telegram đang chạy sẽ gửi các tin nhắn này trong lần kiểm tra tới.")


@follow.command("stats")
@_friendly_errors
def stats_cmd() -> None:
    """Số hồ sơ đang được theo dõi và số tin nhắn thông báo đã gửi."""
    from trolydvc.tracking.follow import stats

    s = stats()
    m = s.messages
    click.echo(f"Đang theo dõi: {s.followed_dossiers} hồ sơ, {s.following_chats} người dùng")
    click.echo(f"Thông báo đã tạo: {s.notifications}")
    click.echo(
        f"Tin nhắn: đã gửi {m['sent']}, chờ gửi {m['pending'] + m['sending']}, "
        f"bị chặn {m['blocked']}, lỗi {m['failed']}, không rõ {m['unknown']}"
    )
    click.echo(
        f"Trên trang web (widget): {s.widget_messages} tin nhắn, người dùng đã nhận {s.widget_seen}"
    )
