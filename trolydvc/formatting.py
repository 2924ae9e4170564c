"""vi_VN formatting of numbers, percentages, money and dates (Babel), as official reports write them."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

LOCALE = "vi_VN"


def fmt_int(value: int, locale: str = LOCALE) -> str:
    """3743 -> '3.743'."""
    return format_decimal(value, format="#,##0", locale=locale)


def fmt_percent(value: float, locale: str = LOCALE) -> str:
    """0.9733 -> '97,33%' (two decimals, as reports state them)."""
    return format_percent(value, format="#,##0.00%", locale=locale)


def fmt_ratio(part: int, whole: int, locale: str = LOCALE) -> str:
    """Share of `part` in `whole` as a percentage; '0,00%' when `whole` is 0."""
    return fmt_percent(part / whole if whole else 0.0, locale=locale)


def fmt_vnd(amount: int | float, locale: str = LOCALE) -> str:
    """150000 -> '150.000 ₫' (a plain space, safe in Telegram and terminals)."""
    return format_currency(amount, "VND", locale=locale).replace("\xa0", " ")


def fmt_date(value: date | datetime, locale: str = LOCALE) -> str:
    """Dates as dd/MM/yyyy, the form used on Vietnamese receipts."""
    if isinstance(value, datetime):
        value = value.date()
    return _format_date(value, format="dd/MM/yyyy", locale=locale)


def fmt_datetime(value: datetime, locale: str = LOCALE) -> str:
    """'HH:mm dd/MM/yyyy'."""
    return _format_datetime(value, format="HH:mm dd/MM/yyyy", locale=locale)
