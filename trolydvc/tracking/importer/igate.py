"""The JSON reader (iGate-style exports, JSON array or JSON Lines): yields chunks of staging
tuples and RowErrors, in file order."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from trolydvc.tracking.importer.columns import CSV_COLUMNS, OPTIONAL_COLUMNS
from trolydvc.tracking.importer.result import CHUNK, Chunk, ImportFormatError, RowError
from trolydvc.tracking.importer.rows import RowBuilder, safe_code
from trolydvc.tracking.importer.textfile import not_utf8

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
LIST_KEYS = ("content", "data", "items", "dossiers", "records", "result")


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
    if fmt == "jsonl":

        def lines() -> Iterator[tuple[int, Any]]:
            with open(path, encoding="utf-8-sig") as fh:
                try:
                    for n, line in enumerate(fh, start=1):
                        if not line.strip():
                            continue
                        try:
                            yield n, json.loads(line)
                        except (ValueError, RecursionError):
                            yield n, ValueError("không phải JSON hợp lệ")
                except UnicodeDecodeError:
                    raise not_utf8(path) from None

        return lines(), "dòng"
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except ValueError as exc:
        raise ImportFormatError(f"{path.name} không phải JSON hợp lệ: {exc}") from exc
    except RecursionError:
        raise ImportFormatError(f"{path.name}: JSON lồng nhau quá sâu.") from None
    if isinstance(data, dict):
        for key in LIST_KEYS:
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data] if any(_get(data, k) for k in JSON_FIELDS["code"]) else None
    if not isinstance(data, list):
        raise ImportFormatError(
            f"{path.name}: không tìm thấy danh sách hồ sơ (mảng JSON, hoặc khóa "
            f"{', '.join(LIST_KEYS)})."
        )
    return enumerate(data, start=1), "bản ghi"


def read_json(
    path: Path, fmt: str, builder: RowBuilder, tick: Callable[[int], None]
) -> Iterator[Chunk]:
    records, unit = _json_records(path, fmt)
    recognised = False
    items: list[Any] = []
    numbers: list[int] = []  # the line (JSON Lines) or record number of each item
    for n, record in records:
        if len(items) == CHUNK:
            tick(CHUNK)
            yield items, numbers
            items, numbers = [], []
        numbers.append(n)
        if isinstance(record, Exception):
            items.append(RowError(n, str(record), unit=unit))
            continue
        if not isinstance(record, dict):
            items.append(RowError(n, "không phải một đối tượng JSON", unit=unit))
            continue
        values = _json_values(record)
        if values[0] is None and values[9] is None and values[5] is None:
            if not recognised and n >= 20:
                raise ImportFormatError(
                    f"{path.name}: không nhận ra bản ghi hồ sơ nào (cần các trường như dossierNo, "
                    "acceptedDate, dossierStatusName)."
                )
            items.append(RowError(n, "không có mã hồ sơ (dossierNo)", unit=unit))
            continue
        recognised = True
        try:
            items.append(builder.build(*values))
        except ValueError as exc:
            items.append(RowError(n, str(exc), safe_code(values[0]), unit=unit))
    if not recognised:
        raise ImportFormatError(
            f"{path.name}: không nhận ra bản ghi hồ sơ nào (cần các trường như dossierNo, "
            "acceptedDate, dossierStatusName)."
        )
    if items:
        tick(len(items))
        yield items, numbers
