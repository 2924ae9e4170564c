"""`trolydvc bot` (run the Telegram bot), `trolydvc officials add/remove/list` and the dashboard's
accounts `trolydvc officials web-add/web-disable/web-list`.

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


@officials.command("web-add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["official", "admin"]),
    default="official",
    show_default=True,
    help="Vai trò: official (cán bộ) hoặc admin (quản trị, xem được nhật ký).",
)
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ đầu vào chuẩn (một dòng).")
def web_add(username: str, role: str, password_stdin: bool) -> None:
    """Tạo (hoặc đặt lại mật khẩu) tài khoản USERNAME của trang quản trị /quan-tri."""
    from trolydvc.web.dashboard.accounts import add_account, check_password, check_username

    try:
        username = check_username(username)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="USERNAME") from None
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu"
        )
    try:
        check_password(password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        account, created = add_account(username, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        raise _db_error(exc) from None
    click.echo(
        f"{'Đã tạo' if created else 'Đã cập nhật'} tài khoản: {account.username} ({account.role})"
    )


@officials.command("web-disable")
@click.argument("username")
def web_disable(username: str) -> None:
    """Khóa tài khoản USERNAME của trang quản trị (phiên đang mở kết thúc ngay)."""
    from trolydvc.web.dashboard.accounts import disable_account

    try:
        disabled = disable_account(username)
    except Exception as exc:
        raise _db_error(exc) from None
    if not disabled:
        raise click.ClickException(f"Không có tài khoản đang hoạt động tên {username}")
    click.echo(f"Đã khóa tài khoản: {username}")


@officials.command("web-list")
def web_list() -> None:
    """Liệt kê các tài khoản của trang quản trị."""
    from trolydvc.web.dashboard.accounts import list_accounts

    try:
        rows = list_accounts()
    except Exception as exc:
        raise _db_error(exc) from None
    if not rows:
        click.echo("Chưa có tài khoản nào; tạo bằng `trolydvc officials web-add TÊN --role admin`.")
    for account, disabled_at in rows:
        click.echo(
            f"{account.username}\t{account.role}\t{'đã khóa' if disabled_at else 'hoạt động'}"
        )
