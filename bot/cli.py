"""`trolydvc bot` (run the Telegram bot) and `trolydvc officials add/remove/list`."""

from __future__ import annotations

import logging

import click


class _NoNetworkTracebacks(logging.Filter):
    """python-telegram-bot logs a full traceback when the Bot API cannot be reached at start;
    the CLI reports that in one clear line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Network Retry Loop" in record.getMessage():
            record.exc_info = None
            record.exc_text = None
        return True


@click.command("bot")
def bot() -> None:
    """Run the Telegram bot (long polling; webhook mode when WEBHOOK_URL is set).

    Needs TELEGRAM_BOT_TOKEN; see the README for TELEGRAM_API_BASE_URL, WEBHOOK_URL/WEBHOOK_SECRET,
    OFFICIALS_CHAT_ID and the rate settings. Rasa must be running (RASA_URL, `make serve`).
    """
    from bot.app import run
    from bot.settings import BotSettings

    try:
        settings = BotSettings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from telegram.error import InvalidToken, NetworkError, TelegramError

    logging.getLogger("telegram.ext").addFilter(_NoNetworkTracebacks())

    from trolydvc.db import DatabaseNotReady

    try:
        run(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except InvalidToken:
        raise click.ClickException(
            "Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)."
        ) from None
    except NetworkError as exc:
        raise click.ClickException(
            f"cannot reach the Bot API at {settings.api_base_url} ({exc.__class__.__name__})."
        ) from None
    except TelegramError as exc:
        raise click.ClickException(
            f"Telegram error: {exc.__class__.__name__}: {exc.message}"
        ) from None
    except DatabaseNotReady as exc:
        raise click.ClickException(f"{exc} (run `trolydvc db upgrade`).") from None


@click.group("officials")
def officials() -> None:
    """Officials allowed to broadcast, see statistics and answer handoffs."""


def _db_error(exc: Exception) -> click.ClickException:
    return click.ClickException(f"database error: {exc.__class__.__name__}: {exc}")


@officials.command("add")
@click.argument("telegram_user_id", type=int)
@click.option(
    "--role", type=click.Choice(["official", "admin"]), default="official", show_default=True
)
@click.option(
    "--label", default="", help='A display label such as "Cán bộ một cửa 1" (not a real name).'
)
def add(telegram_user_id: int, role: str, label: str) -> None:
    """Allow TELEGRAM_USER_ID (the numeric user id, e.g. from @userinfobot) as ROLE."""
    from bot import store

    if telegram_user_id <= 0:
        raise click.BadParameter(
            "a Telegram user id is a positive number", param_hint="TELEGRAM_USER_ID"
        )
    if len(label) > 100:
        raise click.BadParameter("at most 100 characters", param_hint="--label")
    try:
        info, created = store.add_official(telegram_user_id, role, label.strip())
    except Exception as exc:
        raise _db_error(exc) from None
    click.echo(
        f"{'added' if created else 'updated'}: {info.telegram_user_id} ({info.role}) {info.label}".rstrip()
    )


@officials.command("remove")
@click.argument("telegram_user_id", type=int)
def remove(telegram_user_id: int) -> None:
    """Withdraw the rights of TELEGRAM_USER_ID."""
    from bot import store

    try:
        removed = store.remove_official(telegram_user_id)
    except Exception as exc:
        raise _db_error(exc) from None
    if not removed:
        raise click.ClickException(f"{telegram_user_id} is not an active official")
    click.echo(f"removed: {telegram_user_id}")


@officials.command("list")
def list_() -> None:
    """List the active officials."""
    from bot import store

    try:
        rows = store.list_officials()
    except Exception as exc:
        raise _db_error(exc) from None
    if not rows:
        click.echo(
            "no officials yet: add one with `trolydvc officials add TELEGRAM_USER_ID --role admin`"
        )
        return
    for row in rows:
        click.echo(f"{row.telegram_user_id}\t{row.role}\t{row.label}")
