"""The canonical CSV reader: yields chunks of staging tuples and RowErrors, in file order."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from trolydvc.tracking.importer.columns import CSV_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from trolydvc.tracking.importer.result import CHUNK, Chunk, ImportFormatError, RowError
from trolydvc.tracking.importer.rows import RowBuilder, safe_code
from trolydvc.tracking.importer.textfile import not_utf8

# The csv module's limit on one field (128 KiB by default) would refuse the whole file for one
# oversized cell; with this one such a cell reaches the row's length check and only its row is
# rejected (a field beyond it, e.g. a quote never closed, still refuses the file).
FIELD_SIZE_LIMIT = 16 << 20


def read_csv(path: Path, builder: RowBuilder, tick: Callable[[int], None]) -> Iterator[Chunk]:
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise ImportFormatError(f"Không đọc được tệp {path}: {exc.strerror or exc}") from exc
    with fh:
        try:
            header_line = fh.readline()
        except UnicodeDecodeError:
            raise not_utf8(path) from None
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
        items: list[Any] = []
        numbers: list[int] = []  # the line of each item
        append, number = items.append, numbers.append
        lines = iter(fh)
        field_size_limit = csv.field_size_limit(max(FIELD_SIZE_LIMIT, csv.field_size_limit()))
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
                        code = safe_code(row[pick_code]) if len(row) > pick_code else None
                        append(RowError(line, "có ký tự NUL (\\0)", code))
                        number(line)
                        continue
                else:  # a plain line: its fields are between the delimiters
                    row = text_line.rstrip("\r\n").split(delimiter)
                if len(row) == width:
                    row.append(None)
                    values = pick(row)
                    try:
                        append(build(*values))
                    except ValueError as exc:
                        append(RowError(line, str(exc), safe_code(values[0])))
                elif not row or (len(row) == 1 and not row[0].strip()):
                    continue
                else:
                    append(RowError(line, f"có {len(row)} cột, tiêu đề có {width} cột"))
                number(line)
                if len(items) >= CHUNK:
                    tick(len(items))
                    yield items, numbers
                    items, numbers = [], []
                    append, number = items.append, numbers.append
            if items:
                tick(len(items))
                yield items, numbers
        except UnicodeDecodeError:
            raise not_utf8(path) from None
        except csv.Error as exc:
            raise ImportFormatError(
                f"{path.name}: CSV hỏng ở dòng {line}: {exc} (một ô quá dài, hoặc dấu ngoặc kép "
                "không được đóng?)"
            ) from exc
        finally:
            csv.field_size_limit(field_size_limit)
