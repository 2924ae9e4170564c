"""Which format a file is in (canonical CSV, JSON, JSON Lines), before it is read."""

from __future__ import annotations

import json
from pathlib import Path

from trolydvc.tracking.importer.igate import LIST_KEYS
from trolydvc.tracking.importer.result import ImportFormatError
from trolydvc.tracking.importer.textfile import looks_like_utf16


def sniff(path: Path) -> str:
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
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_like_utf16(head):
        raise ImportFormatError(
            f"{path.name} có vẻ là văn bản UTF-16. Hãy lưu lại tệp dưới dạng UTF-8 (trong Excel: "
            "CSV UTF-8) rồi nhập lại."
        )
    # A few NUL characters only make their records bad (the readers reject them one by one); a
    # file made of them is not text at all.
    if head.count(0) * 10 > len(head):
        raise ImportFormatError(f"{path.name} không phải tệp văn bản CSV/JSON.")
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "jsonl" if looks_like_jsonl(path) else "json"
    return "csv"


def looks_like_jsonl(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        line = fh.readline().strip()
    if not line:
        return False
    try:
        first = json.loads(line)
    except ValueError:
        return False
    # One line holding a whole export ({"content": [...]}) is plain JSON, not JSON Lines.
    return isinstance(first, dict) and not any(isinstance(first.get(k), list) for k in LIST_KEYS)


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n
