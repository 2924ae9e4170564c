"""Row building: raw field values of one record -> a staging tuple, or ValueError(reason).

The applicant's phone number is reduced to a keyed hash (MAC) and its last four digits here;
it never appears in messages or logs.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from trolydvc.db.models import Dossier
from trolydvc.formatting import fmt_int
from trolydvc.tracking.fields import clean_code, parse_channel, parse_datetime, parse_status
from trolydvc.tracking.privacy import normalize_phone, phone_hasher
from trolydvc.vietnam_time import VN_TZ

# What a message calls each text field.
TEXT_LABELS = {
    "procedure_code": "mã thủ tục",
    "procedure_name": "tên thủ tục",
    "applicant_name": "tên người nộp",
    "agency": "cơ quan",
    "sector": "lĩnh vực",
    "commune": "xã/phường",
    "note": "ghi chú",
}
# The most characters a text field may have: a varchar column's length (the model's), else ours:
# the longest procedure name in the national catalog has 1,094 characters; a note (what to
# supplement, why rejected) is shown in a chat reply.
_TEXT_COLUMN_LIMITS = {"procedure_name": 2000, "note": 4000}
LIMITS = {
    name: Dossier.__table__.c[name].type.length or _TEXT_COLUMN_LIMITS[name]  # type: ignore[attr-defined]
    for name in TEXT_LABELS
}
# Plausible dates: none before EARLIEST, none more than PLAUSIBLE_AHEAD after the import.
EARLIEST = "1990-01-01 00:00:00.000000"
PLAUSIBLE_AHEAD = timedelta(days=366)
TIME_LABELS = (
    "ngày tiếp nhận (received_at)",
    "hạn trả kết quả (due_at)",
    "ngày có kết quả (resolved_at)",
    "ngày trả kết quả (returned_at)",
)


# Whitespace that is not one plain space between words: collapsed (str.split's whitespace).
_ODD_SPACE = re.compile(r"\s\s|[^\S ]")


def clean_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    s = value.strip() if type(value) is str else str(value).strip()
    if not s:
        return None
    if not s.isascii() and not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    if _ODD_SPACE.search(s):  # e.g. a no-break space, a tab, a line break, two spaces
        s = " ".join(s.split())
    if "\0" in s:
        raise ValueError("có ký tự NUL (\\0)")  # PostgreSQL refuses it in text
    limit = LIMITS[name]
    if len(s) > limit:
        raise ValueError(
            f"{TEXT_LABELS[name]} ({name}) dài {fmt_int(len(s))} ký tự, tối đa {fmt_int(limit)}"
        )
    return s


def _implausible(index: int, stored: str) -> ValueError:
    """The error for time ``index`` (received, due, resolved, returned) out of the plausible range."""
    when = f"{stored[8:10]}/{stored[5:7]}/{stored[:4]}"
    if stored < EARLIEST:
        return ValueError(f"{TIME_LABELS[index]} {when} trước năm 1990: ngày không hợp lý")
    return ValueError(
        f"{TIME_LABELS[index]} {when} muộn hơn một năm sau hôm nay: ngày không hợp lý"
    )


def iso_text(dt: datetime | None) -> str | None:
    # The text form SQLAlchemy uses for SQLite DateTime, also accepted by PostgreSQL.
    return None if dt is None else dt.isoformat(" ", "microseconds")


_CODE_OK = re.compile(r"[0-9A-Z][0-9A-Z.\-/_]{0,63}")
_fromiso = datetime.fromisoformat
_CACHE_LIMIT = 50_000
_HH_MM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


class RowBuilder:
    """Turns raw field values into a staging tuple, or raises ValueError(reason).

    Values that repeat across rows (statuses, channels, agencies, dates) are parsed once; a
    ``YYYY-MM-DD HH:MM`` time is assembled from its cached date and time of day.
    """

    def __init__(self) -> None:
        self._hash = phone_hasher()
        # The latest plausible time, as stored text (compares like the time).
        now = datetime.now(VN_TZ).replace(tzinfo=None)
        self._latest = (now + PLAUSIBLE_AHEAD).isoformat(" ", "microseconds")
        self._status: dict[str, str] = {}
        self._channel: dict[str, str] = {}
        self._dates: dict[str, datetime] = {}
        self._iso_cache: dict[str, str] = {}
        self._clock: dict[str, str] = {}
        # A valid date of 10 characters (either layout) -> "YYYY-MM-DD " (its stored prefix).
        self._day: dict[str, str] = {}
        self._due: dict[str, str | None] = {}
        self._text: dict[str, dict[Any, str | None]] = {
            n: {}
            for n in (
                "procedure_code",
                "procedure_name",
                "applicant_name",
                "agency",
                "sector",
                "commune",
            )
        }

    def _dt(self, value: Any) -> datetime | None:
        if value is None or value == "":
            return None
        if type(value) is str:
            cached = self._dates.get(value)
            if cached is not None:
                return cached
            if len(value) >= 10 and value[4] == "-":
                try:
                    dt = _fromiso(value)
                except ValueError:
                    dt = parse_datetime(value)
                else:
                    if dt.tzinfo is not None:
                        dt = dt.astimezone(VN_TZ).replace(tzinfo=None)
            else:
                dt = parse_datetime(value)
            if len(value) <= 10 and len(self._dates) < _CACHE_LIMIT:
                self._dates[value] = dt  # type: ignore[assignment]
            return dt
        return parse_datetime(value)

    def _day_prefix(self, value: str) -> str | None:
        """``"YYYY-MM-DD "`` for a valid 10-character date, else None (cached)."""
        hit = self._day.get(value)
        if hit is not None:
            return hit
        try:
            iso = self._ts(value)
        except ValueError:
            return None
        if iso is None or iso[11:] != "00:00:00.000000":
            return None
        if len(self._day) < _CACHE_LIMIT:
            self._day[value] = iso[:11]
        return iso[:11]

    def _ts(self, value: Any) -> str | None:
        """The value as the stored text form (``iso_text``), or None when empty.

        These strings all have the same fixed layout, so they compare like the times they
        stand for. A date with a minute time (``2025-01-31 07:30``, ``31/01/2025 07:30``) is
        assembled from its cached date and a cached time of day; anything else is parsed.
        """
        if type(value) is not str:
            return iso_text(self._dt(value))
        hit = self._iso_cache.get(value)
        if hit is not None:
            return hit
        if len(value) == 16 and (value[10] == " " or (value[10] == "T" and value[4] == "-")):
            clock = self._clock.get(value[11:])
            if clock is None and _HH_MM.fullmatch(value[11:]):
                clock = self._clock[value[11:]] = f"{value[11:]}:00.000000"
            if clock is not None:
                day = self._day_prefix(value[:10])
                if day is not None:
                    return day + clock
        iso = iso_text(self._dt(value))
        if len(value) <= 10 and len(self._iso_cache) < _CACHE_LIMIT:
            self._iso_cache[value] = iso  # type: ignore[assignment]
        return iso

    def _due_ts(self, value: Any) -> str | None:
        due = self._ts(value)
        if due is not None and due[11:19] == "00:00:00":
            due = f"{due[:11]}23:59:59{due[19:]}"  # a date: due by end of day
        if type(value) is str and len(value) <= 10 and len(self._due) < _CACHE_LIMIT:
            self._due[value] = due
        return due

    def _text_miss(self, value: Any, name: str) -> str | None:
        cleaned = clean_text(value, name)
        cache = self._text[name]
        if len(cache) < _CACHE_LIMIT and (value is None or type(value) in (str, int, float)):
            cache[value] = cleaned  # (a JSON list or object is not cached)
        return cleaned

    def _status_miss(self, raw: Any) -> str:
        text = raw if type(raw) is str else str(raw or "")
        status = parse_status(text)
        if type(raw) is str and len(self._status) < 1000:
            self._status[raw] = status
        return status

    def _channel_miss(self, raw: Any) -> str:
        text = raw if type(raw) is str else str(raw or "")
        channel = parse_channel(text)
        if type(raw) is str and len(self._channel) < 1000:
            self._channel[raw] = channel
        return channel

    def _phone(self, phone: Any) -> tuple[str | None, str | None]:
        p = phone if type(phone) is str else str(phone)
        digits = normalize_phone(p) if p.strip() else None
        if digits is None:
            if p.strip():
                raise ValueError("số điện thoại không hợp lệ")
            return None, None
        return self._hash(digits), digits[-4:]

    def build(
        self,
        code: Any,
        procedure_code: Any,
        procedure_name: Any,
        applicant_name: Any,
        phone: Any,
        received: Any,
        due: Any,
        resolved: Any,
        returned: Any,
        status: Any,
        channel: Any,
        agency: Any,
        sector: Any,
        commune: Any = None,
        note: Any = None,
    ) -> tuple[Any, ...]:
        # The common cases are inlined (this runs once per row); the *_miss / _ts methods
        # handle everything else and fill the caches.
        if type(code) is str and (c := code.strip().upper()) and _CODE_OK.fullmatch(c):
            code_s = c
        else:
            code_s = clean_code(code)
        try:
            status_v = self._status[status]
        except (KeyError, TypeError):
            status_v = self._status_miss(status)
        try:
            channel_v = self._channel[channel]
        except (KeyError, TypeError):
            channel_v = self._channel_miss(channel)
        # Times as their stored text (fixed layout: compares like the times themselves).
        day = self._day
        clock = self._clock
        ts = self._ts
        if received is None or received == "":
            raise ValueError("thiếu ngày tiếp nhận (received_at)")
        if (
            type(received) is str
            and len(received) == 16
            and received[10] == " "
            and (d := day.get(received[:10])) is not None
            and (k := clock.get(received[11:])) is not None
        ):
            received_t = d + k
        else:
            received_t = ts(received)
            if received_t is None:
                raise ValueError("thiếu ngày tiếp nhận (received_at)")
        if due is None or due == "":
            due_t = None
        else:
            try:
                due_t = self._due[due]
            except (KeyError, TypeError):
                due_t = self._due_ts(due)
        if resolved is None or resolved == "":
            resolved_t = None
        else:
            if (
                type(resolved) is str
                and len(resolved) == 16
                and resolved[10] == " "
                and (d := day.get(resolved[:10])) is not None
                and (k := clock.get(resolved[11:])) is not None
            ):
                resolved_t = d + k
            else:
                resolved_t = ts(resolved)
        if returned is None or returned == "":
            returned_t = None
        else:
            if (
                type(returned) is str
                and len(returned) == 16
                and returned[10] == " "
                and (d := day.get(returned[:10])) is not None
                and (k := clock.get(returned[11:])) is not None
            ):
                returned_t = d + k
            else:
                returned_t = ts(returned)
        latest = self._latest
        if received_t < EARLIEST or received_t > latest:
            raise _implausible(0, received_t)
        if due_t is not None and due_t < received_t:
            raise ValueError("hạn trả kết quả trước ngày tiếp nhận")
        if resolved_t is not None and resolved_t < received_t:
            raise ValueError("ngày có kết quả trước ngày tiếp nhận")
        if returned_t is not None and returned_t < received_t:
            raise ValueError("ngày trả kết quả trước ngày tiếp nhận")
        # (Not before received, so not before EARLIEST either.)
        if due_t is not None and due_t > latest:
            raise _implausible(1, due_t)
        if resolved_t is not None and resolved_t > latest:
            raise _implausible(2, resolved_t)
        if returned_t is not None and returned_t > latest:
            raise _implausible(3, returned_t)
        if status_v == "resolved" and resolved_t is None:
            raise ValueError("trạng thái 'Đã có kết quả' nhưng thiếu ngày có kết quả (resolved_at)")
        if status_v == "returned" and resolved_t is None and returned_t is None:
            raise ValueError("trạng thái 'Đã trả kết quả' nhưng thiếu ngày có/trả kết quả")
        if phone is None or phone == "":
            phone_h = last4 = None
        elif type(phone) is str and len(phone) == 10 and phone[0] == "0" and phone.isdigit():
            phone_h, last4 = self._hash(phone), phone[-4:]
        else:
            phone_h, last4 = self._phone(phone)
        text = self._text
        miss = self._text_miss
        try:
            procedure_code_v = text["procedure_code"][procedure_code]
        except (KeyError, TypeError):
            procedure_code_v = miss(procedure_code, "procedure_code")
        try:
            procedure_name_v = text["procedure_name"][procedure_name]
        except (KeyError, TypeError):
            procedure_name_v = miss(procedure_name, "procedure_name")
        try:
            applicant_name_v = text["applicant_name"][applicant_name]
        except (KeyError, TypeError):
            applicant_name_v = miss(applicant_name, "applicant_name")
        try:
            agency_v = text["agency"][agency]
        except (KeyError, TypeError):
            agency_v = miss(agency, "agency")
        try:
            sector_v = text["sector"][sector]
        except (KeyError, TypeError):
            sector_v = miss(sector, "sector")
        if commune is None:
            commune_v = None
        else:
            try:
                commune_v = text["commune"][commune]
            except (KeyError, TypeError):
                commune_v = miss(commune, "commune")
        return (
            code_s,
            procedure_code_v,
            procedure_name_v,
            applicant_name_v,
            phone_h,
            last4,
            received_t,
            due_t,
            resolved_t,
            returned_t,
            status_v,
            channel_v,
            agency_v,
            sector_v,
            commune_v,
            None if note is None else clean_text(note, "note"),
        )


def safe_code(value: Any) -> str | None:
    try:
        return clean_code(value)
    except ValueError:
        return None
