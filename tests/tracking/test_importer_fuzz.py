"""Property tests of the dossier import (issue #11 item 8).

Any bytes or text given as a CSV or JSON export, any value given to the row builder: the only
failures are the documented ones (``ImportFormatError`` for the file, a per-row ``RowError`` /
``ValueError`` with a short message). A valid record read back from a CSV gives the values
written, through the reader and on both databases.

Bounded for CI: a fixed number of examples each, no deadline, no example database written into
the tree; the whole file takes a few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from trolydvc.db.base import get_engine, session_scope
from trolydvc.db.models import Dossier
from trolydvc.tracking.fields import CHANNEL_LABELS, STATUS_LABELS
from trolydvc.tracking.importer import (
    CSV_COLUMNS,
    JSON_FIELDS,
    OPTIONAL_COLUMNS,
    STAGE_COLUMNS,
    ImportFormatError,
    RowError,
    import_file,
)
from trolydvc.tracking.importer.csv_reader import read_csv
from trolydvc.tracking.importer.rows import LIMITS, RowBuilder

FUZZ = settings(max_examples=100, deadline=None, database=None)
COLUMNS = CSV_COLUMNS + OPTIONAL_COLUMNS
# Longest message a rejected record may print: a label, a reason, a value cut to 40 characters.
MESSAGE_MAX = 250


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="import-fuzz-") as d:
        yield Path(d)


def dry_import(path: Path) -> None:
    """Import ``path`` without a database; any failure but the documented ones propagates."""
    try:
        result = import_file(path, dry_run=True)
    except ImportFormatError as exc:
        assert str(exc) and len(str(exc)) < 1000
        return
    assert all(isinstance(e, RowError) for e in result.errors + result.repeated)
    assert all(len(str(e)) < MESSAGE_MAX + 100 for e in result.errors + result.repeated)
    assert result.valid >= 0 and result.records >= len(result.errors)


# --- any input -----------------------------------------------------------------------------

HEADER = ",".join(COLUMNS) + "\n"
# Bytes and characters that exercise the CSV paths: delimiters, quotes, line breaks, NUL,
# multi-byte UTF-8 (whole and cut), BOMs, UTF-16-looking NUL runs.
csv_chars = st.text(alphabet=',;"\n\r\0 \t0123456789-/:.aĐđếạ\u0301\ufeff\u2028', max_size=400)
csv_bytes = st.one_of(
    st.binary(max_size=400),
    csv_chars.map(str.encode),
    st.lists(st.sampled_from([b",", b'"', b"\n", b"\r\n", b"\0", b"\xc3", b"\xa1", b"\xff"])).map(
        b"".join
    ),
)


@FUZZ
@given(body=csv_bytes, with_header=st.booleans(), name=st.sampled_from(["f.csv", "f.json"]))
def test_any_bytes_give_a_result_or_a_format_error(
    workdir: Path, body: bytes, with_header: bool, name: str
) -> None:
    path = workdir / name
    path.write_bytes((HEADER.encode() if with_header else b"") + body)
    dry_import(path)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2023-03-14", "14/03/2023 08:00", "Đang xử lý", "Trực tuyến", "0912345678"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
field_names = sorted({key.split(".")[0] for keys in JSON_FIELDS.values() for key in keys})
igate_records = st.dictionaries(st.sampled_from(field_names), json_values, max_size=8)


@settings(FUZZ, max_examples=50)  # generating nested JSON is the slow part
@given(
    records=st.lists(st.one_of(igate_records, json_values), max_size=6),
    shape=st.sampled_from(["array", "content", "lines"]),
)
def test_any_json_records_give_a_result_or_a_format_error(
    workdir: Path, records: list[Any], shape: str
) -> None:
    if shape == "lines":
        path = workdir / "f.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path = workdir / "f.json"
        path.write_text(json.dumps(records if shape == "array" else {"content": records}))
    dry_import(path)


row_values = st.one_of(
    json_values,
    st.text(max_size=100),
    st.builds(lambda ch, n: ch * n, st.sampled_from("x 0/Đ\0"), st.integers(1000, 100_000)),
    st.sampled_from(list(STATUS_LABELS.values()) + list(CHANNEL_LABELS.values())),
    st.sampled_from(["2023-03-14 08:30", "14/03/2023", "1989-12-31", "2099-01-01", "0912345678"]),
)


@FUZZ
@given(st.lists(row_values, min_size=15, max_size=15))
def test_row_building_fails_only_with_a_short_value_error(values: list[Any]) -> None:
    try:
        row = RowBuilder().build(*values)
    except ValueError as exc:
        assert 0 < len(str(exc)) <= MESSAGE_MAX
        return
    assert len(row) == 16 and isinstance(row[0], str)


# --- valid records round-trip ----------------------------------------------------------------

NOW = datetime.now().replace(second=0, microsecond=0)
# Text as exports have it: Vietnamese, punctuation, CSV specials, odd whitespace (no NUL).
cell_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\0", exclude_categories=["Cs"]),
    max_size=40,
)
vi_text = st.text(alphabet="aăâđêôơưyẠẤỀỂỗợựÝ \t\n\r\u00a0,;\"'", max_size=40)
codes = st.from_regex(r"[0-9A-Za-z][0-9A-Za-z.\-/_]{0,40}", fullmatch=True)
phones = st.one_of(st.just(""), st.from_regex(r"0[35789][0-9]{8}", fullmatch=True))


@st.composite
def valid_records(draw: st.DrawFn) -> dict[str, str]:
    received = draw(st.datetimes(datetime(1990, 1, 1), NOW - timedelta(days=1)))
    received = received.replace(second=0, microsecond=0)

    def later() -> datetime | None:
        if not draw(st.booleans()):
            return None
        return received + timedelta(minutes=draw(st.integers(0, 200 * 24 * 60)))

    due, resolved = later(), later()
    returned = resolved + timedelta(hours=5) if resolved and draw(st.booleans()) else None
    if returned:
        status = STATUS_LABELS["returned"]
    elif resolved:
        status = draw(st.sampled_from([STATUS_LABELS["resolved"], "rejected", "withdrawn"]))
    else:
        status = draw(st.sampled_from(["received", "Đang xử lý", "Chờ bổ sung", "Từ chối"]))
    layout = draw(st.sampled_from(["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"]))

    def when(value: datetime | None) -> str:
        return value.strftime(layout) if value else ""

    record = {
        "code": draw(codes),
        "applicant_phone": draw(phones),
        "received_at": when(received),
        "due_at": when(due),
        "resolved_at": when(resolved),
        "returned_at": when(returned),
        "status": status,
        "channel": draw(st.sampled_from(["", *CHANNEL_LABELS.values(), "online"])),
    }
    for name, limit in LIMITS.items():
        value = draw(st.one_of(cell_text, vi_text))
        record[name] = value if len(_cleaned(value) or "") <= limit else ""
    record["procedure_code"] = draw(st.from_regex(r"[0-9.]{0,12}", fullmatch=True))
    return record


def _cleaned(value: str) -> str | None:
    """What a text cell is stored as: NFC, whitespace runs as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", value).split()) or None


def _csv(records: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def _expected(record: dict[str, str]) -> dict[str, Any]:
    def when(value: str) -> datetime | None:
        if not value:
            return None
        for layout in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"):
            try:
                return datetime.strptime(value, layout)
            except ValueError:
                continue
        raise AssertionError(value)

    expected: dict[str, Any] = {name: _cleaned(record[name]) for name in LIMITS}
    due = when(record["due_at"])
    if due is not None and due.time() == time(0, 0):
        due = due.replace(hour=23, minute=59, second=59)  # read as a date: due by end of day
    expected.update(
        code=record["code"].upper(),
        phone_last4=record["applicant_phone"][-4:] or None,
        received_at=when(record["received_at"]),
        due_at=due,
        resolved_at=when(record["resolved_at"]),
        returned_at=when(record["returned_at"]),
    )
    return expected


@settings(FUZZ, max_examples=60)
@given(valid_records())
def test_a_valid_record_reads_back_as_written(workdir: Path, record: dict[str, str]) -> None:
    path = workdir / "v.csv"
    path.write_text(_csv([record]), encoding="utf-8", newline="")
    chunks = list(read_csv(path, RowBuilder(), lambda n: None))
    (row,), lines = chunks[0]
    assert isinstance(row, tuple), row
    # The physical line the record ends on (\r, \n and \r\n all end a line, as in an editor).
    assert lines == [len(list(io.StringIO(_csv([record]), newline="")))]
    stage = dict(zip(STAGE_COLUMNS, row, strict=True))
    for name, value in _expected(record).items():
        got = stage[name]
        if isinstance(value, datetime):
            got = datetime.fromisoformat(got)
        assert got == value, name


@settings(FUZZ, max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(valid_records(), min_size=1, max_size=5, unique_by=lambda r: r["code"]))
def test_valid_records_are_stored_as_written(
    db_url: str, workdir: Path, records: list[dict[str, str]]
) -> None:
    if len({r["code"].upper() for r in records}) < len(records):
        return  # codes differing only by case are one code
    with get_engine(db_url).begin() as conn:  # each example starts from an empty table
        conn.execute(text("DELETE FROM dossier_status_history"))
        conn.execute(text("DELETE FROM dossiers"))
    path = workdir / "s.csv"
    path.write_text(_csv(records), encoding="utf-8", newline="")
    result = import_file(path, url=db_url)
    assert result.errors == [] and result.inserted == len(records)
    with session_scope(db_url) as s:
        stored = {d.code: d for d in s.scalars(select(Dossier))}
    for record in records:
        expected = _expected(record)
        d = stored[expected["code"]]
        for name, value in expected.items():
            assert getattr(d, name) == value, name
