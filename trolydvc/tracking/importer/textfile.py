"""Text-file checks shared by the sniffer and the readers: UTF-16 recognised, the line of a UTF-8
decoding error found."""

from __future__ import annotations

from pathlib import Path

from trolydvc.tracking.importer.result import ImportFormatError


def looks_like_utf16(head: bytes) -> bool:
    """UTF-16 without a byte order mark: many NULs (the high bytes of ASCII characters), and the
    bytes read as UTF-16 give printable text (binary data does not)."""
    if head.count(0) * 5 < len(head):
        return False
    even = head[: len(head) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        text = even.decode(encoding, errors="replace")
        printable = sum(ch.isprintable() and ch != "\ufffd" or ch in "\r\n\t" for ch in text)
        if printable * 20 >= len(text) * 19:
            return True
    return False


def undecodable_line(path: Path) -> tuple[int, int] | None:
    """The first physical line that is not UTF-8 and its first bad byte, or None.

    A text-mode reader decodes ahead of the line it returns; this finds where the error is
    (only called once a read has failed)."""
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return n, raw[exc.start]
    return None


def not_utf8(path: Path) -> ImportFormatError:
    """The error for a file that failed to decode as UTF-8, naming the line when it can."""
    where = undecodable_line(path)
    at = f": dòng {where[0]} có byte 0x{where[1]:02X}" if where else ""
    return ImportFormatError(
        f"{path.name} không phải văn bản UTF-8{at}. Hãy lưu lại tệp dưới dạng UTF-8 rồi nhập lại."
    )
