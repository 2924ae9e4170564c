"""Import dossiers exported by one-stop-shop software: canonical CSV or iGate-style JSON.

Public API:

- ``import_file(path, *, url=None, dry_run=False, progress=False, batch_size=10000)
  -> ImportResult``: validates every record, then upserts the good ones by ``code`` in one
  transaction with set-based SQL: on PostgreSQL each batch is loaded with a binary ``COPY``
  (the server parses no text) into a temporary table and one ``INSERT ... SELECT ... ON
  CONFLICT ... RETURNING`` statement upserts it and writes the history; on SQLite an
  ``executemany`` upsert follows a lookup of the batch's old statuses. On PostgreSQL rows that
  would not change skip the upsert. A first load into an empty table writes each code it has
  not written yet with a plain ``COPY`` (PostgreSQL) or ``INSERT`` (SQLite) straight into
  ``dossiers`` and their first history rows with one ``INSERT ... SELECT`` per batch (a code
  repeated in a later batch takes the upsert path); it drops the secondary indexes (on
  PostgreSQL also the history's foreign key and the unique code, rebuilt as soon as a repeated
  code needs it) inside its transaction and builds them once at the end (on PostgreSQL,
  readers of the still empty table wait for the load to finish); an SQLite import uses a
  512 MiB page cache for its own transaction, then restores the setting. Parsing runs in
  parallel with the database work: a big file (``_CHILD_MIN_BYTES``) is parsed by a forked
  child process that sends its batches through a pipe (a thread would share the GIL with the
  database work), a small one by this process while a writer thread does the database work.
  Plain CSV lines are split directly, a line with quotes (or a NUL) goes through the ``csv``
  module; the cyclic garbage collector is paused during the import. A new dossier (its first status) or one whose status changed gets a row
  in the status history; receipt, result and return times are columns of the dossier.
  Re-importing the same file changes nothing. Empty cells never erase a stored value. A bad
  record (a NUL character included) is skipped whole and listed in ``result.errors`` with its
  line (CSV, JSON Lines) or record number (JSON array) and the reason; a database error rolls
  the whole import back.
- ``ImportFormatError``: the file is not a canonical CSV or a JSON export (clear message).
- ``CSV_COLUMNS``: the canonical header (plus optional ``commune`` and ``note``).

The applicant's phone number is reduced to a keyed hash (MAC) and its last four digits before
it leaves this module; it never appears in messages or logs.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import json
import multiprocessing
import pickle
import queue
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, bindparam, text

from trolydvc.tracking.fields import (
    VN_TZ,
    clean_code,
    parse_channel,
    parse_datetime,
    parse_status,
)
from trolydvc.tracking.privacy import normalize_phone, phone_hasher

CSV_COLUMNS = (
    "code",
    "procedure_code",
    "procedure_name",
    "applicant_name",
    "applicant_phone",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "channel",
    "agency",
    "sector",
)
OPTIONAL_COLUMNS = ("commune", "note")
REQUIRED_COLUMNS = ("code", "received_at", "status")

# Columns of the staging table, in the order build_row returns them.
STAGE_COLUMNS = (
    "code",
    "procedure_code",
    "procedure_name",
    "applicant_name",
    "phone_hash",
    "phone_last4",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
    "status",
    "channel",
    "agency",
    "sector",
    "commune",
    "note",
)
_UPDATABLE = STAGE_COLUMNS[1:]
# Their PostgreSQL types for a binary COPY (received_at .. returned_at are the timestamps).
_BINARY_TYPES = ("varchar",) * 6 + ("timestamp",) * 4 + ("varchar",) * 6
_TIME_COLUMNS = {"received_at", "due_at", "resolved_at", "returned_at"}

_LIMITS = {
    "procedure_code": 32,
    "applicant_name": 255,
    "agency": 255,
    "sector": 255,
    "commune": 255,
}


class ImportFormatError(Exception):
    """The file as a whole cannot be imported (wrong format, unreadable)."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    code: str | None = None
    unit: str = "dòng"

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}"
        return f"{where} ({self.code}): {self.reason}" if self.code else f"{where}: {self.reason}"


@dataclass
class ImportResult:
    path: str
    format: str
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def valid(self) -> int:
        return self.records - len(self.errors)

    def summary(self) -> str:
        from trolydvc.formatting import fmt_int

        parts = [
            f"Đã đọc {fmt_int(self.records)} bản ghi ({self.format}) trong {self.seconds:.1f} giây",
        ]
        if self.dry_run:
            parts.append(f"hợp lệ {fmt_int(self.valid)} (chạy thử, chưa ghi vào cơ sở dữ liệu)")
        else:
            parts.append(
                f"thêm mới {fmt_int(self.inserted)}, cập nhật {fmt_int(self.updated)}, "
                f"không đổi {fmt_int(self.unchanged)}"
            )
        if self.duplicates:
            parts.append(f"{fmt_int(self.duplicates)} mã lặp lại trong tệp (giữ bản ghi sau cùng)")
        parts.append(f"lỗi {fmt_int(len(self.errors))}")
        return "; ".join(parts) + "."


# --- record validation ----------------------------------------------------------------------


def _clean(value: Any, name: str) -> str | None:
    if value is None:
        return None
    s = value.strip() if type(value) is str else str(value).strip()
    if not s:
        return None
    if not s.isascii() and not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    if "  " in s or "\t" in s or "\n" in s or "\r" in s:
        s = " ".join(s.split())
    if "\0" in s:
        raise ValueError("có ký tự NUL (\\0)")  # PostgreSQL refuses it in text
    limit = _LIMITS.get(name)
    if limit and len(s) > limit:
        raise ValueError(f"{name} dài quá {limit} ký tự")
    return s


def _iso(dt: datetime | None) -> str | None:
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
        """The value as the stored text form (``_iso``), or None when empty.

        These strings all have the same fixed layout, so they compare like the times they
        stand for. A date with a minute time (``2025-01-31 07:30``, ``31/01/2025 07:30``) is
        assembled from its cached date and a cached time of day; anything else is parsed.
        """
        if type(value) is not str:
            return _iso(self._dt(value))
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
        iso = _iso(self._dt(value))
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
        cleaned = _clean(value, name)
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
        if due_t is not None and due_t < received_t:
            raise ValueError("hạn trả kết quả trước ngày tiếp nhận")
        if resolved_t is not None and resolved_t < received_t:
            raise ValueError("ngày có kết quả trước ngày tiếp nhận")
        if returned_t is not None and returned_t < received_t:
            raise ValueError("ngày trả kết quả trước ngày tiếp nhận")
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
            None if note is None else _clean(note, "note"),
        )


# --- readers: yield chunks (lists) of records, each a staging tuple or a RowError ----------

Chunk = list[Any]  # staging tuples and RowErrors, in file order
_CHUNK = 2048


def _sniff(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ImportFormatError(f"Không đọc được tệp {path}: {exc.strerror or exc}") from exc
    if not head.strip():
        raise ImportFormatError(f"Tệp {path.name} rỗng.")
    if head.startswith(b"PK\x03\x04"):
        raise ImportFormatError(
            f"{path.name} là tệp nén/Excel. Hãy xuất dữ liệu ra CSV (UTF-8) hoặc JSON rồi nhập lại."
        )
    if b"\x00" in head:
        raise ImportFormatError(f"{path.name} không phải tệp văn bản CSV/JSON.")
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "jsonl" if _looks_like_jsonl(path) else "json"
    return "csv"


def _looks_like_jsonl(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        line = fh.readline().strip()
    if not line:
        return False
    try:
        first = json.loads(line)
    except ValueError:
        return False
    # One line holding a whole export ({"content": [...]}) is plain JSON, not JSON Lines.
    return isinstance(first, dict) and not any(isinstance(first.get(k), list) for k in _LIST_KEYS)


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def _read_csv(path: Path, builder: RowBuilder, tick: Callable[[int], None]) -> Iterator[Chunk]:
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise ImportFormatError(f"Không đọc được tệp {path}: {exc.strerror or exc}") from exc
    with fh:
        try:
            header_line = fh.readline()
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"{path.name} không phải văn bản UTF-8.") from exc
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delimiter))]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ImportFormatError(
                f"{path.name} không phải CSV hồ sơ chuẩn: thiếu cột {', '.join(missing)}. "
                f"Dòng tiêu đề cần có: {', '.join(CSV_COLUMNS)} (thêm tùy chọn: commune, note)."
            )
        wanted = CSV_COLUMNS + OPTIONAL_COLUMNS
        width = len(header)
        # A missing optional column reads the None appended to every row (index `width`).
        pick = itemgetter(*[header.index(c) if c in header else width for c in wanted])
        pick_code = header.index("code")
        build = builder.build
        chunk: Chunk = []
        append = chunk.append
        lines = iter(fh)
        line = 1  # the physical line a record ends on (the header is line 1)
        try:
            for text_line in lines:
                line += 1
                if '"' in text_line or "\0" in text_line:
                    # Quoting (a field may span lines) or anything unusual: the csv module.
                    sub = csv.reader(itertools.chain((text_line,), lines), delimiter=delimiter)
                    row = next(sub, [])
                    line += sub.line_num - 1
                    if any("\0" in v for v in row):
                        code = _safe_code(row[pick_code]) if len(row) > pick_code else None
                        append(RowError(line, "có ký tự NUL (\\0)", code))
                        continue
                else:  # a plain line: its fields are between the delimiters
                    row = text_line.rstrip("\r\n").split(delimiter)
                if len(row) == width:
                    row.append(None)
                    values = pick(row)
                    try:
                        append(build(*values))
                    except ValueError as exc:
                        append(RowError(line, str(exc), _safe_code(values[0])))
                elif not row or (len(row) == 1 and not row[0].strip()):
                    continue
                else:
                    append(RowError(line, f"có {len(row)} cột, tiêu đề có {width} cột"))
                if len(chunk) >= _CHUNK:
                    tick(len(chunk))
                    yield chunk
                    chunk = []
                    append = chunk.append
            if chunk:
                tick(len(chunk))
                yield chunk
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"{path.name}: dòng {line + 1} không phải văn bản UTF-8."
            ) from exc
        except csv.Error as exc:
            raise ImportFormatError(f"{path.name}: CSV hỏng ở dòng {line}: {exc}") from exc


def _safe_code(value: Any) -> str | None:
    try:
        return clean_code(value)
    except ValueError:
        return None


# iGate-style field names, first match wins; dotted names walk nested objects.
JSON_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("dossierNo", "nationCode", "dossierCode", "code", "maHoSo"),
    "procedure_code": ("procedureCode", "procedure.code", "procedure.nationCode", "maTTHC"),
    "procedure_name": (
        "procedureName",
        "procedure.name",
        "procedure.translate.name",
        "tenTTHC",
    ),
    "applicant_name": (
        "applicantName",
        "applicant.fullname",
        "applicant.fullName",
        "applicant.name",
        "applicant.data.fullname",
        "ownerFullname",
        "ownerName",
        "chuHoSo",
    ),
    "applicant_phone": (
        "applicantPhone",
        "phoneNumber",
        "applicant.phone",
        "applicant.phoneNumber",
        "applicant.data.phoneNumber",
        "soDienThoai",
    ),
    "received_at": ("acceptedDate", "receivedDate", "receiptDate", "appliedDate", "ngayTiepNhan"),
    "due_at": ("appointmentDate", "dueDate", "ngayHenTra"),
    "resolved_at": ("completedDate", "resolvedDate", "finishDate", "ngayCoKetQua"),
    "returned_at": ("returnedDate", "returnDate", "ngayTraKetQua"),
    "status": (
        "dossierStatusName",
        "dossierStatus.name",
        "statusName",
        "dossierStatus",
        "status",
        "trangThai",
    ),
    "channel": ("applyMethodName", "applyMethod.name", "applyMethod", "channel", "hinhThucNop"),
    "agency": ("agencyName", "agency.name", "receivingAgencyName", "coQuan"),
    "sector": ("sectorName", "sector.name", "linhVuc"),
    "commune": ("communeName", "wardName", "commune"),
    "note": ("note", "supplementNote", "additionalRequirement", "ghiChu"),
}
_JSON_ORDER = CSV_COLUMNS + OPTIONAL_COLUMNS
_LIST_KEYS = ("content", "data", "items", "dossiers", "records", "result")


def _get(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict):
        value = value.get("name") or value.get("vi") or None
    return value


def _json_values(record: dict[str, Any]) -> list[Any]:
    out = []
    for name in _JSON_ORDER:
        value = None
        for key in JSON_FIELDS[name]:
            value = _get(record, key)
            if value not in (None, ""):
                break
        out.append(value)
    return out


def _json_records(path: Path, fmt: str) -> tuple[Iterable[tuple[int, Any]], str]:
    try:
        if fmt == "jsonl":

            def lines() -> Iterator[tuple[int, Any]]:
                with open(path, encoding="utf-8-sig") as fh:
                    for n, line in enumerate(fh, start=1):
                        if not line.strip():
                            continue
                        try:
                            yield n, json.loads(line)
                        except ValueError:
                            yield n, ValueError("không phải JSON hợp lệ")

            return lines(), "dòng"
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path.name} không phải văn bản UTF-8.") from exc
    except ValueError as exc:
        raise ImportFormatError(f"{path.name} không phải JSON hợp lệ: {exc}") from exc
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data] if any(_get(data, k) for k in JSON_FIELDS["code"]) else None
    if not isinstance(data, list):
        raise ImportFormatError(
            f"{path.name}: không tìm thấy danh sách hồ sơ (mảng JSON, hoặc khóa "
            f"{', '.join(_LIST_KEYS)})."
        )
    return enumerate(data, start=1), "bản ghi"


def _read_json(
    path: Path, fmt: str, builder: RowBuilder, tick: Callable[[int], None]
) -> Iterator[Chunk]:
    records, unit = _json_records(path, fmt)
    recognised = False
    chunk: Chunk = []
    for n, record in records:
        if len(chunk) == _CHUNK:
            tick(_CHUNK)
            yield chunk
            chunk = []
        if isinstance(record, Exception):
            chunk.append(RowError(n, str(record), unit=unit))
            continue
        if not isinstance(record, dict):
            chunk.append(RowError(n, "không phải một đối tượng JSON", unit=unit))
            continue
        values = _json_values(record)
        if values[0] is None and values[9] is None and values[5] is None:
            if not recognised and n >= 20:
                raise ImportFormatError(
                    f"{path.name}: không nhận ra bản ghi hồ sơ nào (cần các trường như dossierNo, "
                    "acceptedDate, dossierStatusName)."
                )
            chunk.append(RowError(n, "không có mã hồ sơ (dossierNo)", unit=unit))
            continue
        recognised = True
        try:
            chunk.append(builder.build(*values))
        except ValueError as exc:
            chunk.append(RowError(n, str(exc), _safe_code(values[0]), unit=unit))
    if not recognised:
        raise ImportFormatError(
            f"{path.name}: không nhận ra bản ghi hồ sơ nào (cần các trường như dossierNo, "
            "acceptedDate, dossierStatusName)."
        )
    if chunk:
        tick(len(chunk))
        yield chunk


# --- writer ---------------------------------------------------------------------------------


_HISTORY_TIME = (
    # A new dossier's first history row is dated by the export when it can be; a status change
    # by the import time (when it was observed). Receipt/result/return times are on the dossier.
    "CASE WHEN {old} THEN :now_local "
    "WHEN {d}.status = 'resolved' THEN COALESCE({d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status = 'returned' THEN COALESCE({d}.returned_at, {d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status IN ('received', 'processing') THEN {d}.received_at "
    "ELSE :now_local END"
)


# Page cache during an SQLite import, in KiB (negative PRAGMA value): 512 MiB at most.
_SQLITE_IMPORT_CACHE_KIB = -524288
_DEFERRED_TABLES = "('dossiers', 'dossier_status_history')"


class _Writer:
    """Writes batches of staging tuples through one connection (one transaction).

    One history row is written per new dossier (its status when first seen) and per status
    change; unchanged rows are not rewritten (``updated_at`` keeps its value).
    """

    def __init__(self, conn: Connection, source: str) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.params = {
            "source": source[:255],
            "now": now.replace(tzinfo=None),  # created/updated/recorded: naive UTC
            "now_local": now.astimezone(VN_TZ).replace(tzinfo=None),
        }
        self.cols = ", ".join(STAGE_COLUMNS)
        self.sets = ", ".join(f"{c} = COALESCE(excluded.{c}, dossiers.{c})" for c in _UPDATABLE)
        self.ts = (bindparam("now", type_=DateTime), bindparam("now_local", type_=DateTime))
        if self.dialect == "postgresql":
            # Writers wait until the import ends (readers do not): a first load below relies on
            # being the only writer (the table stays as found empty; new ids come in order).
            conn.exec_driver_sql("LOCK TABLE dossiers IN SHARE ROW EXCLUSIVE MODE")
            self._init_postgres()
        else:
            self._init_sqlite()
        # A first load (the table was empty) remembers the codes it wrote: a code not seen yet
        # is new and is written by a plain COPY/INSERT without the lookup and upsert; a code seen
        # in an earlier batch takes the general path.
        self._seen: set[str] | None = None
        self._deferred_unique: list[str] = []
        self._deferred_indexes = self._defer_indexes()
        if self._seen is not None:
            self._init_first_load()

    # A first load into an empty table: the secondary indexes are dropped inside the import's
    # transaction and built once at the end (a sort instead of one B-tree insertion per row and
    # index). Transactional DDL on both backends: a failed import rolls the drop back too.
    # On SQLite readers keep seeing the last committed state; on PostgreSQL they wait for the
    # import to end (the table was empty, so they could not find anything in it yet).
    def _defer_indexes(self) -> list[str]:
        conn = self.conn
        if conn.exec_driver_sql("SELECT 1 FROM dossiers LIMIT 1").first() is not None:
            return []
        self._seen = set()
        deferred: list[str] = []
        if self.dialect == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                f"AND tablename IN {_DEFERRED_TABLES} AND substr(indexdef, 1, 13) <> 'CREATE UNIQUE'"
            ).all()
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            # The history's foreign key too: checked row by row it costs as much as the insert;
            # added back at the end it is validated by one join. (The history of an empty
            # dossiers table is empty.)
            fks = conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'dossier_status_history'::regclass AND contype = 'f'"
            ).all()
            deferred = []
            for name, definition in fks:
                conn.exec_driver_sql(f'ALTER TABLE dossier_status_history DROP CONSTRAINT "{name}"')
                deferred.append(
                    f'ALTER TABLE dossier_status_history ADD CONSTRAINT "{name}" {definition}'
                )
            # The unique code too: inserted row by row into its B-tree it is the most costly
            # part of the COPY; built at the end it is one sort. The codes a first load writes
            # are distinct (``_seen``); a code repeated in a later batch needs the constraint
            # for its upsert, so it is built then (``_restore_unique``). Not when a foreign key
            # relies on it.
            uniques = conn.exec_driver_sql(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.conrelid = 'dossiers'::regclass AND c.contype = 'u' AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)"
            ).all()
            for name, definition in uniques:
                conn.exec_driver_sql(f'ALTER TABLE dossiers DROP CONSTRAINT "{name}"')
                self._deferred_unique.append(
                    f'ALTER TABLE dossiers ADD CONSTRAINT "{name}" {definition}'
                )
        else:
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                f"AND tbl_name IN {_DEFERRED_TABLES} AND sql IS NOT NULL "
                "AND substr(sql, 1, 13) <> 'CREATE UNIQUE'"
            ).all()
        for name, _sql in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows] + deferred

    def _restore_unique(self) -> None:
        for sql in self._deferred_unique:
            self.conn.exec_driver_sql(sql)
        self._deferred_unique = []

    def finish(self) -> None:
        """Builds the indexes deferred by a first load (inside the import's transaction)."""
        self._restore_unique()
        for sql in self._deferred_indexes:
            self.conn.exec_driver_sql(sql)
        self._deferred_indexes = []

    # PostgreSQL: COPY into a temporary table, then one statement does everything.
    def _init_postgres(self) -> None:
        self.conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS import_stage ("
            "code varchar(64), procedure_code varchar(32), procedure_name text, "
            "applicant_name varchar(255), phone_hash varchar(64), phone_last4 varchar(4), "
            "received_at timestamp, due_at timestamp, resolved_at timestamp, "
            "returned_at timestamp, status varchar(24), channel varchar(16), "
            "agency varchar(255), sector varchar(255), commune varchar(255), note text) "
            "ON COMMIT DROP"
        )
        changed = " OR ".join(
            f"(s.{c} IS NOT NULL AND s.{c} IS DISTINCT FROM d.{c})" for c in _UPDATABLE
        )
        distinct = " OR ".join(
            f"(excluded.{c} IS NOT NULL AND excluded.{c} IS DISTINCT FROM dossiers.{c})"
            for c in _UPDATABLE
        )
        scols = ", ".join(f"s.{c}" for c in STAGE_COLUMNS)
        # All parts of one statement see the same snapshot: `j` is the state before the upsert.
        # Unchanged rows are filtered out before the INSERT: ON CONFLICT DO UPDATE would lock
        # (and so write) every conflicting row even when its WHERE is false.
        self.sql_pg = text(
            # The lateral subquery (OFFSET 0 keeps it un-flattened) probes the code index once
            # per staged row; a join could be planned as a scan of all dossiers (the table's
            # statistics lag inside one import).
            f"WITH j AS MATERIALIZED (SELECT {scols}, d.id AS old_id, d.status AS old_status, "
            f"(d.id IS NULL OR {changed}) AS changed FROM import_stage s "
            "LEFT JOIN LATERAL (SELECT * FROM dossiers WHERE dossiers.code = s.code OFFSET 0) d "
            "ON true), "
            f"up AS (INSERT INTO dossiers ({self.cols}, created_at, updated_at) "
            f"SELECT {self.cols}, :now, :now FROM j WHERE changed "
            f"ON CONFLICT (code) DO UPDATE SET {self.sets}, updated_at = excluded.updated_at "
            f"WHERE {distinct} "
            "RETURNING id, code, status, received_at, resolved_at, returned_at), "
            "hist AS (INSERT INTO dossier_status_history (dossier_id, status, changed_at, "
            "source, recorded_at) SELECT up.id, up.status, "
            + _HISTORY_TIME.format(old="j.old_id IS NOT NULL", d="up")
            + ", :source, :now FROM up JOIN j ON j.code = up.code "
            "WHERE j.old_id IS NULL OR j.old_status <> up.status RETURNING 1) "
            "SELECT (SELECT count(*) FROM j WHERE old_id IS NOT NULL) AS existing, "
            "(SELECT count(*) FROM up) AS changed"
        ).bindparams(*self.ts)

    def _write_postgres(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        self.conn.exec_driver_sql("TRUNCATE import_stage")
        _copy_binary(self.conn, f"COPY import_stage ({self.cols}) FROM STDIN (FORMAT BINARY)", rows)
        existing, changed = self.conn.execute(self.sql_pg, self.params).one()
        return existing, changed

    # SQLite: remember the old statuses of the batch's codes, upsert with executemany, then
    # write the history from a join.
    def _init_sqlite(self) -> None:
        # A bigger page cache for the duration of the import: the indexes of a large table no
        # longer fit in the default one, and SQLite would spill dirty pages to the WAL in the
        # middle of the transaction. Restored by close(); durability settings are untouched.
        self._cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        self.conn.exec_driver_sql(f"PRAGMA cache_size={_SQLITE_IMPORT_CACHE_KIB}")
        # The import is one transaction from here on, DDL included (pysqlite would otherwise
        # open it only at the first INSERT/UPDATE/DELETE); it also takes the write lock now.
        self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        self.conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS import_codes (code TEXT, old_status TEXT)"
        )
        distinct = " OR ".join(
            f"(excluded.{c} IS NOT NULL AND excluded.{c} IS NOT dossiers.{c})" for c in _UPDATABLE
        )
        now = _iso(self.params["now"])  # our own constant, safe to inline
        self.sql_codes = "INSERT INTO import_codes (code) VALUES (?)"
        self.sql_mark = (
            "UPDATE import_codes SET old_status = d.status FROM dossiers d "
            "WHERE d.code = import_codes.code"
        )
        self.sql_upsert = (
            f"INSERT INTO dossiers ({self.cols}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * len(STAGE_COLUMNS))}, '{now}', '{now}') "
            f"ON CONFLICT (code) DO UPDATE SET {self.sets}, updated_at = excluded.updated_at "
            f"WHERE {distinct}"
        )
        self.sql_history = text(
            "INSERT INTO dossier_status_history (dossier_id, status, changed_at, source, "
            "recorded_at) SELECT d.id, d.status, "
            + _HISTORY_TIME.format(old="s.old_status IS NOT NULL", d="d")
            + ", :source, :now FROM import_codes s JOIN dossiers d ON d.code = s.code "
            "WHERE s.old_status IS NULL OR s.old_status <> d.status ORDER BY d.id"
        ).bindparams(*self.ts)

    def _write_sqlite(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        conn = self.conn
        conn.exec_driver_sql("DELETE FROM import_codes")
        conn.exec_driver_sql(self.sql_codes, [(row[0],) for row in rows])
        conn.exec_driver_sql(self.sql_mark)
        existing = conn.exec_driver_sql(
            "SELECT count(*) FROM import_codes WHERE old_status IS NOT NULL"
        ).scalar_one()
        changed = conn.exec_driver_sql(self.sql_upsert, rows).rowcount
        conn.execute(self.sql_history, self.params)
        return existing, changed

    # A first load: rows whose code is new go straight into dossiers; their first history rows
    # are then written by one INSERT ... SELECT over the ids the batch added.
    def _init_first_load(self) -> None:
        cols = f"{self.cols}, created_at, updated_at"
        self.now_s = _iso(self.params["now"])
        self.sql_copy_new = f"COPY dossiers ({cols}) FROM STDIN (FORMAT BINARY)"
        self.sql_insert_new = (
            f"INSERT INTO dossiers ({cols}) "
            f"VALUES ({', '.join('?' * len(STAGE_COLUMNS))}, '{self.now_s}', '{self.now_s}')"
        )
        # The batch's rows are the `n` with ids above those of the earlier batches (nobody else
        # writes). LIMIT makes the planner walk the primary key from `after`: the table's
        # statistics still say "empty" and a scan of the whole table per batch would grow
        # with every batch.
        history = (
            "INSERT INTO dossier_status_history (dossier_id, status, changed_at, source, "
            "recorded_at) SELECT d.id, d.status, "
            + _HISTORY_TIME.format(old="1 = 0", d="d")
            + ", :source, :now FROM dossiers d WHERE d.id > :after ORDER BY d.id LIMIT :n"
        )
        if self.dialect == "postgresql":
            # ... and returns the highest id written: the next batch's `after`.
            history = f"WITH h AS ({history} RETURNING dossier_id) SELECT max(dossier_id) FROM h"
        self.sql_history_new = text(history).bindparams(*self.ts)
        self._after = 0  # the table was empty

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        params = {**self.params, "after": self._after, "n": len(rows)}
        if self.dialect == "postgresql":
            _copy_binary(conn, self.sql_copy_new, rows, self.params["now"])
            self._after = conn.execute(self.sql_history_new, params).scalar_one()
        else:
            conn.exec_driver_sql(self.sql_insert_new, rows)
            conn.execute(self.sql_history_new, params)
            self._after = conn.exec_driver_sql("SELECT max(id) FROM dossiers").scalar_one()

    def close(self) -> None:
        """Restores the connection settings changed for the import (the pool reuses it)."""
        if self.dialect == "sqlite":
            self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self._cache_size)}")

    def write(self, rows: list[tuple[Any, ...]]) -> tuple[int, int, int]:
        """Returns (inserted, updated, unchanged)."""
        seen = self._seen
        if seen is not None:
            new: list[tuple[Any, ...]] = []
            again: list[tuple[Any, ...]] = []
            for row in rows:
                if row[0] in seen:
                    again.append(row)
                else:
                    seen.add(row[0])
                    new.append(row)
            if new:
                self._insert_new(new)
            if not again:
                return len(new), 0, 0
            inserted, updated, unchanged = self._write(again)
            return inserted + len(new), updated, unchanged
        return self._write(rows)

    def _write(self, rows: list[tuple[Any, ...]]) -> tuple[int, int, int]:
        self._restore_unique()  # the upsert and its lookups need it
        if self.dialect == "postgresql":
            existing, changed = self._write_postgres(rows)
        else:
            existing, changed = self._write_sqlite(rows)
        inserted = len(rows) - existing
        return inserted, changed - inserted, len(rows) - changed


def _copy_binary(
    conn: Connection, sql: str, rows: list[tuple[Any, ...]], now: datetime | None = None
) -> None:
    """COPY staging tuples in the binary format (PostgreSQL parses no text), optionally followed
    by ``now`` for created_at and updated_at."""
    fromiso = _fromiso
    types = _BINARY_TYPES + (("timestamp", "timestamp") if now is not None else ())
    tail = (now, now) if now is not None else ()
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(types)
        write = copy.write_row
        for r in rows:
            # Times travel as their fixed-layout text until here (see RowBuilder._ts).
            write(
                (
                    *r[:6],
                    fromiso(r[6]),
                    r[7] and fromiso(r[7]),
                    r[8] and fromiso(r[8]),
                    r[9] and fromiso(r[9]),
                    *r[10:],
                    *tail,
                )
            )


_DONE = object()


def _write_each(engine: Engine, batches: Iterable[list[tuple[Any, ...]]], source: str) -> list[int]:
    """Writes batches in this thread, in one transaction; returns (inserted, updated, unchanged).

    The batches come from a parsing child process, or from ``_write_all``'s queue."""
    totals = [0, 0, 0]
    with engine.begin() as conn:
        writer = _Writer(conn, source)
        try:
            for batch in batches:
                for i, n in enumerate(writer.write(batch)):
                    totals[i] += n
            writer.finish()
        finally:
            writer.close()
    return totals


def _write_all(engine: Engine, batches: Iterator[list[tuple[Any, ...]]], source: str) -> list[int]:
    """Writes batches in a background thread (parsing overlaps the database work)."""
    totals: list[int] = []
    q: queue.Queue[Any] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def queued() -> Iterator[list[tuple[Any, ...]]]:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def run() -> None:
        try:
            totals.extend(_write_each(engine, queued(), source))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="dossier-import-writer", daemon=True)
    thread.start()

    def put(item: Any) -> bool:
        while thread.is_alive():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(batch):
                break
        put(_DONE)
    except BaseException as exc:
        put(_Abort(exc))
        thread.join()
        raise
    thread.join()
    if failure:
        raise failure[0]
    return totals


class _Abort(Exception):
    pass


def _batches(
    reader: Iterator[Chunk], batch_size: int, result: ImportResult
) -> Iterator[list[tuple[Any, ...]]]:
    """Groups the good records into batches of distinct codes; errors go to ``result``.

    A code repeated within a batch keeps its last record: the duplicates are the good records
    that did not make it into a batch.
    """
    pending: dict[str, tuple[Any, ...]] = {}
    records = written = 0
    errors = result.errors
    for chunk in reader:
        records += len(chunk)
        for item in chunk:
            if type(item) is tuple:
                pending[item[0]] = item
                if len(pending) >= batch_size:
                    written += len(pending)
                    yield list(pending.values())
                    pending = {}
            else:
                errors.append(item)
    if pending:
        written += len(pending)
        yield list(pending.values())
    result.records = records
    result.duplicates = records - len(errors) - written


def _reader(path: Path, fmt: str, builder: RowBuilder, tick: Callable[[int], None]) -> Any:
    return _read_csv(path, builder, tick) if fmt == "csv" else _read_json(path, fmt, builder, tick)


# A file at least this big is parsed by a forked child process while this one does the
# database work. A parsing thread would share the GIL with it: SQLite runs in this process
# and holds the GIL between rows; the PostgreSQL writer formats the COPY data and waits for
# the GIL after each round trip. (The child costs the pickling of the rows: not worth it for
# small files.)
_CHILD_MIN_BYTES = 8 << 20


def _use_child(path: Path) -> bool:
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and path.stat().st_size >= _CHILD_MIN_BYTES
    )


def _child_main(
    path: Path, fmt: str, builder: RowBuilder, batch_size: int, send: Any, recv: Any
) -> None:  # pragma: no cover (runs in the child process)
    """Parses in a forked child; sends ("batch", rows, errors, ticks) ... then ("end", ...)."""
    recv.close()  # the parent's end: once the parent closes it, a send fails (BrokenPipeError)
    ticks = [0]

    def tick(n: int) -> None:
        ticks[0] += n

    result = ImportResult(path=str(path), format=fmt.upper())
    sent = 0
    try:
        for rows in _batches(_reader(path, fmt, builder, tick), batch_size, result):
            send.send(("batch", rows, result.errors[sent:], ticks[0]))
            sent, ticks[0] = len(result.errors), 0
        end = ("end", result.records, result.duplicates, result.errors[sent:], ticks[0])
        send.send(end)
    except (BrokenPipeError, EOFError):  # the parent stopped listening (its import failed)
        pass
    except BaseException as exc:
        try:
            try:
                send.send(("error", exc))
            except (pickle.PicklingError, TypeError, AttributeError):
                send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        except OSError:  # the parent stopped listening
            pass
    finally:
        send.close()


def _batches_from_child(
    path: Path,
    fmt: str,
    builder: RowBuilder,
    batch_size: int,
    result: ImportResult,
    tick: Callable[[int], None],
) -> Iterator[list[tuple[Any, ...]]]:
    """The batches of ``_batches``, parsed by a forked child process (see ``_CHILD_MIN_BYTES``).

    The child only reads the file and sends pickled batches through a pipe; the parent keeps
    the database work. An error in the child is raised here; if the parent stops early the
    child is ended.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main,
        args=(path, fmt, builder, batch_size, send, recv),
        name="dossier-import-parser",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        while True:
            try:
                msg = recv.recv()
            except EOFError:
                raise RuntimeError("tiến trình đọc tệp dừng bất thường") from None
            if msg[0] == "batch":
                result.errors.extend(msg[2])
                tick(msg[3])
                yield msg[1]
            elif msg[0] == "end":
                result.records, result.duplicates = msg[1], msg[2]
                result.errors.extend(msg[3])
                tick(msg[4])
                return
            else:
                raise msg[1]
    finally:
        recv.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


def import_file(
    path: str | Path,
    *,
    url: str | None = None,
    dry_run: bool = False,
    progress: bool = False,
    batch_size: int = 10000,
) -> ImportResult:
    """Import one export file; see the module docstring."""
    from tqdm import tqdm

    from trolydvc.db.base import get_engine

    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"Không tìm thấy tệp {path}.")
    fmt = _sniff(path)
    started = time.perf_counter()
    result = ImportResult(path=str(path), format=fmt.upper(), dry_run=dry_run)
    builder = RowBuilder()
    bar = None
    if progress:
        bar = tqdm(total=count_lines(path) if fmt != "json" else None, unit=" dòng", leave=False)
    tick = bar.update if bar is not None else (lambda _n: None)
    # The import allocates millions of short-lived tuples and no reference cycles: the cyclic
    # garbage collector would only walk them again and again (about 5% of the parsing time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if dry_run:
            for _ in _batches(_reader(path, fmt, builder, tick), batch_size, result):
                pass
        else:
            engine = get_engine(url)
            if _use_child(path):
                batches = _batches_from_child(path, fmt, builder, batch_size, result, tick)
                totals = _write_each(engine, batches, source=path.name)
            else:
                batches = _batches(_reader(path, fmt, builder, tick), batch_size, result)
                totals = _write_all(engine, batches, source=path.name)
            inserted, updated, unchanged = totals
            result.inserted, result.updated, result.unchanged = inserted, updated, unchanged
    finally:
        if gc_was_enabled:
            gc.enable()
        if bar is not None:
            bar.close()
    result.seconds = time.perf_counter() - started
    return result


def write_csv(rows: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    """Write dicts with CSV_COLUMNS keys as a canonical CSV (used by demo data and benchmarks)."""
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
