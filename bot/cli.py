"""`trolydvc bot` (run the Telegram bot) and `trolydvc officials add/remove/list`.

Every `trolydvc` command loads this module, so the bot's heavy modules (telegram, the
application, the database) are imported inside the commands: `trolydvc --help` stays fast.
"""

from __future__ import annotations

import click


@click.command("bot")
def bot() -> None:
    """Chạy bot Telegram (long polling; chế độ webhook khi đã đặt WEBHOOK_URL).

    Cần TELEGRAM_BOT_TOKEN; xem README về TELEGRAM_API_BASE_URL, WEBHOOK_URL/WEBHOOK_SECRET,
    OFFICIALS_CHAT_ID và các thiết lập giới hạn tốc độ gửi. Rasa phải đang chạy (RASA_URL,
    `make serve`).
    """
    from bot.app import run
    from bot.log_filters import install_log_filters
    from bot.settings import BotSettings

    try:
        settings = BotSettings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from telegram.error import InvalidToken, NetworkError, TelegramError

    # (logging is configured by the `trolydvc` group before this command runs)
    install_log_filters(settings.token)

    from trolydvc.db import DatabaseNotReady

    try:
        run(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except InvalidToken:
        raise click.ClickException(
            "Telegram từ chối TELEGRAM_BOT_TOKEN (hãy kiểm tra lại với @BotFather)."
        ) from None
    except NetworkError as exc:
        raise click.ClickException(
            f"Không kết nối được Bot API tại {settings.api_base_url} ({exc.__class__.__name__})."
        ) from None
    except TelegramError as exc:
        raise click.ClickException(
            f"Lỗi Telegram: {exc.__class__.__name__}: {exc.message}"
        ) from None
    except DatabaseNotReady as exc:
        raise click.ClickException(f"{exc} (hãy chạy `trolydvc db upgrade`).") from None


@click.group("officials")
def officials() -> None:
    """Cán bộ được phép gửi thông báo chung, xem thống kê và tiếp nhận các câu hỏi do trợ lý chuyển sang."""


def _db_error(exc: Exception) -> click.ClickException:
    return click.ClickException(f"Lỗi cơ sở dữ liệu: {exc.__class__.__name__}: {exc}")


@officials.command("add")
@click.argument("telegram_user_id", type=int)
@click.option(
    "--role",
    type=click.Choice(["official", "admin"]),
    default="official",
    show_default=True,
    help="Vai trò: official (cán bộ) hoặc admin (quản trị).",
)
@click.option(
    "--label", default="", help='Nhãn hiển thị, ví dụ "Cán bộ một cửa 1" (không ghi họ tên thật).'
)
def add(telegram_user_id: int, role: str, label: str) -> None:
    """Cấp quyền cho TELEGRAM_USER_ID (mã số người dùng Telegram, xem bằng @userinfobot) với vai trò --role."""
    from bot import store

    if telegram_user_id <= 0:
        raise click.BadParameter(
            "mã người dùng Telegram phải là số dương", param_hint="TELEGRAM_USER_ID"
        )
    if len(label) > 100:
        raise click.BadParameter("tối đa 100 ký tự", param_hint="--label")
    try:
        info, created = store.add_official(telegram_user_id, role, label.strip())
    except Exception as exc:
        raise _db_error(exc) from None
    click.echo(
        f"{'Đã thêm' if created else 'Đã cập nhật'}: {info.telegram_user_id} ({info.role}) {info.label}".rstrip()
    )


@officials.command("remove")
@click.argument("telegram_user_id", type=int)
def remove(telegram_user_id: int) -> None:
    """Thu hồi quyền của TELEGRAM_USER_ID."""
    from bot import store

    try:
        removed = store.remove_official(telegram_user_id)
    except Exception as exc:
        raise _db_error(exc) from None
    if not removed:
        raise click.ClickException(
            f"{telegram_user_id} không có trong danh sách cán bộ đang có quyền"
        )
    click.echo(f"Đã thu hồi quyền: {telegram_user_id}")


@officials.command("list")
def list_() -> None:
    """Liệt kê các cán bộ đang có quyền."""
    from bot import store

    try:
        rows = store.list_officials()
    except Exception as exc:
        raise _db_error(exc) from None
    if not rows:
        click.echo(
            "Chưa có cán bộ nào; thêm bằng lệnh "
            "`trolydvc officials add TELEGRAM_USER_ID --role admin`."
        )
        return
    for row in rows:
        click.echo(f"{row.telegram_user_id}\t{row.role}\t{row.label}")
