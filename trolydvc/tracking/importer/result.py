"""What an import reports: its result, a rejected record, a file that cannot be imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trolydvc.formatting import fmt_int


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
    # A code already seen earlier in the file: one entry per later record, naming both lines
    # (the last record of a code is the one kept).
    repeated: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def valid(self) -> int:
        return self.records - len(self.errors)

    @property
    def complete(self) -> bool:
        """Every record was written as it is (none rejected, no code repeated)."""
        return not self.errors and not self.repeated

    def summary(self) -> str:
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
            parts.append(
                f"{fmt_int(self.duplicates)} bản ghi có mã đã gặp trước đó trong tệp "
                "(giữ bản ghi sau cùng)"
            )
        parts.append(f"lỗi {fmt_int(len(self.errors))}")
        return "; ".join(parts) + "."


# A reader's chunk: records in file order (staging tuples and RowErrors) and the line (or
# record number) of each.
Chunk = tuple[list[Any], list[int]]
CHUNK = 2048
