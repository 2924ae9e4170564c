"""Edge cases of the dossier import (issue #11 item 7), on SQLite and PostgreSQL (``db_url``).

Repeated codes are reported by line, too-long texts and implausible dates reject their row
without echoing the value, a NUL rejects only its row, a file that is not UTF-8 is refused with
the right line (UTF-16 with a hint), and a refused file leaves the database as it was.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from trolydvc.db.base import session_scope
from trolydvc.db.models import Dossier, DossierStatusHistory
from trolydvc.tracking.cli import EXIT_PARTLY_WRITTEN
from trolydvc.tracking.importer import (
    CSV_COLUMNS,
    OPTIONAL_COLUMNS,
    ImportFormatError,
    import_file,
    write_csv,
)
from trolydvc.tracking.importer.rows import LIMITS

COLUMNS = CSV_COLUMNS + OPTIONAL_COLUMNS
HEADER = ",".join(COLUMNS) + "\n"


def row(n: int, **values: str) -> dict[str, str]:
    base = {
        "code": f"000.00.20.H50-221107-{n:04d}",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "0912345678",
        "received_at": "2022-11-07 08:30",
        "due_at": "2022-11-09",
        "status": "Đang xử lý",
        "channel": "Trực tiếp",
        "agency": "UBND xã A",
        "sector": "Hộ tịch",
    }
    return {**base, **values}


def write_rows(tmp_path: Path, name: str, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for r in rows:
            fh.write(",".join(_cell(r.get(c, "")) for c in COLUMNS) + "\n")
    return path


def _cell(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def stored(url: str) -> dict[str, Dossier]:
    with session_scope(url) as s:
        return {d.code: d for d in s.scalars(select(Dossier))}


def history(url: str, code: str) -> list[str]:
    with session_scope(url) as s:
        return list(
            s.scalars(
                select(DossierStatusHistory.status)
                .join(Dossier)
                .where(Dossier.code == code)
                .order_by(DossierStatusHistory.id)
            )
        )


# --- repeated codes ------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [10_000, 1])  # within one batch; across batches
def test_a_repeated_code_is_reported_with_both_lines_and_the_last_record_kept(
    db_url: str, tmp_path: Path, batch_size: int
) -> None:
    rows = [
        row(1),  # line 2
        row(2),  # line 3
        row(1, status="Chờ bổ sung"),  # line 4: repeats line 2
        row(1, status="Đã có kết quả", resolved_at="2022-11-08 10:00"),  # line 5: again
    ]
    result = import_file(write_rows(tmp_path, "d.csv", rows), url=db_url, batch_size=batch_size)
    assert result.errors == [] and not result.complete
    assert [(e.line, e.code) for e in result.repeated] == [
        (4, "000.00.20.H50-221107-0001"),
        (5, "000.00.20.H50-221107-0001"),
    ]
    assert "đã có ở dòng 2" in result.repeated[0].reason
    assert "đã có ở dòng 2" in result.repeated[1].reason  # the code's first line
    assert result.duplicates == 2 and "2 bản ghi có mã đã gặp" in result.summary()
    assert stored(db_url)["000.00.20.H50-221107-0001"].status == "resolved"  # the last record
    assert len(stored(db_url)) == 2


def test_a_repeated_code_in_a_json_array_names_the_record_numbers(
    db_url: str, tmp_path: Path
) -> None:
    record = {"dossierNo": "A-1", "acceptedDate": "2023-03-14", "dossierStatusName": "Đang xử lý"}
    other = {**record, "dossierNo": "A-2"}
    path = tmp_path / "d.json"
    path.write_text(json.dumps([record, other, {**record, "dossierStatusName": "Đã rút"}]))
    result = import_file(path, url=db_url)
    assert [(e.line, e.unit) for e in result.repeated] == [(3, "bản ghi")]
    assert "đã có ở bản ghi 1" in result.repeated[0].reason
    assert stored(db_url)["A-1"].status == "withdrawn"


def test_cli_exit_codes_say_complete_partly_written_or_refused(db_url: str, tmp_path: Path) -> None:
    from trolydvc.cli import main

    runner = CliRunner()
    complete = runner.invoke(
        main, ["dossiers", "import", str(write_rows(tmp_path, "a.csv", [row(1)])), "--no-progress"]
    )
    assert complete.exit_code == 0, complete.output

    repeated = write_rows(tmp_path, "b.csv", [row(1), row(2), row(1, status="Chờ bổ sung")])
    partly = runner.invoke(main, ["dossiers", "import", str(repeated), "--no-progress"])
    assert partly.exit_code == EXIT_PARTLY_WRITTEN, partly.output
    assert "dòng 4 (000.00.20.H50-221107-0001): mã hồ sơ lặp lại, đã có ở dòng 2" in partly.output

    bad = write_rows(tmp_path, "c.csv", [row(3), row(4, status="??")])
    dry = runner.invoke(main, ["dossiers", "import", str(bad), "--dry-run", "--no-progress"])
    assert dry.exit_code == EXIT_PARTLY_WRITTEN and "dòng 3" in dry.output

    refused = tmp_path / "d.csv"
    refused.write_text("a,b\n1,2\n")
    assert runner.invoke(main, ["dossiers", "import", str(refused)]).exit_code == 1

    helped = runner.invoke(main, ["dossiers", "import", "--help"])
    assert "Mã thoát" in helped.output and "3  ghi một phần" in helped.output


# --- length limits -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_a_text_longer_than_its_limit_rejects_its_row_only(
    db_url: str, tmp_path: Path, name: str
) -> None:
    limit = LIMITS[name]
    at_limit = "A" * limit if name == "procedure_code" else ("Ấ" + "a" * (limit - 1))
    rows = [row(1, **{name: at_limit}), row(2, **{name: at_limit + "b"})]
    result = import_file(write_rows(tmp_path, "l.csv", rows), url=db_url)
    assert [(e.line, e.code) for e in result.errors] == [(3, "000.00.20.H50-221107-0002")]
    reason = result.errors[0].reason
    assert f"({name})" in reason and "tối đa" in reason and len(reason) < 120
    assert getattr(stored(db_url)["000.00.20.H50-221107-0001"], name) == at_limit


@pytest.mark.parametrize("quoted", [False, True])  # a plain line; a line for the csv module
def test_a_1_mb_value_is_rejected_and_never_echoed(
    db_url: str, tmp_path: Path, quoted: bool
) -> None:
    from trolydvc.cli import main

    huge = "x" * (1 << 20) + (", y" if quoted else "")
    rows = [
        row(1),
        row(2, note=huge),
        row(3, procedure_name=huge),
        row(4, status=huge),
        row(5, received_at=huge),
        row(6),
    ]
    path = write_rows(tmp_path, "big.csv", rows)
    result = CliRunner().invoke(main, ["dossiers", "import", str(path), "--no-progress"])
    assert result.exit_code == EXIT_PARTLY_WRITTEN
    assert len(result.output) < 2000  # four short messages, no megabyte
    assert "ghi chú (note) dài 1.048.5" in result.output
    assert "tên thủ tục (procedure_name)" in result.output
    assert "trạng thái không rõ" in result.output and "ngày giờ không hợp lệ" in result.output
    assert sorted(stored(db_url)) == ["000.00.20.H50-221107-0001", "000.00.20.H50-221107-0006"]


def test_a_too_long_json_value_is_rejected_per_record(db_url: str, tmp_path: Path) -> None:
    base = {"acceptedDate": "2023-03-14", "dossierStatusName": "Đang xử lý"}
    records = [
        {**base, "dossierNo": "A-1", "applicantName": "N" * 256},
        {**base, "dossierNo": "A-2", "agency": {"name": "UBND " * 100}},
        {**base, "dossierNo": "A-3"},
    ]
    path = tmp_path / "l.json"
    path.write_text(json.dumps(records))
    result = import_file(path, url=db_url)
    assert [(e.line, e.code) for e in result.errors] == [(1, "A-1"), (2, "A-2")]
    assert "tên người nộp (applicant_name) dài 256 ký tự, tối đa 255" in result.errors[0].reason
    assert list(stored(db_url)) == ["A-3"]


# --- plausible dates -----------------------------------------------------------------------


def test_implausible_dates_reject_their_row(db_url: str, tmp_path: Path) -> None:
    ahead = (datetime.now() + timedelta(days=400)).strftime("%Y-%m-%d")
    soon = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%d")
    rows = [
        row(1, received_at="31/12/1989", due_at=""),  # line 2
        row(2, received_at=ahead, due_at=""),  # line 3
        row(3, due_at=ahead),  # line 4
        row(4, status="Đã có kết quả", resolved_at=ahead),  # line 5
        row(5, status="Đã trả kết quả", returned_at="2022-11-01"),  # line 6: before received
        row(6, received_at="01/01/1990", due_at=soon),  # line 7: plausible
    ]
    result = import_file(write_rows(tmp_path, "d.csv", rows), url=db_url)
    reasons = {e.line: e.reason for e in result.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert "ngày tiếp nhận (received_at) 31/12/1989 trước năm 1990" in reasons[2]
    assert "ngày tiếp nhận (received_at)" in reasons[3] and "muộn hơn một năm" in reasons[3]
    assert "hạn trả kết quả (due_at)" in reasons[4] and "muộn hơn một năm" in reasons[4]
    assert "ngày có kết quả (resolved_at)" in reasons[5]
    assert "ngày trả kết quả trước ngày tiếp nhận" in reasons[6]
    assert list(stored(db_url)) == ["000.00.20.H50-221107-0006"]


def test_epoch_times_out_of_range_reject_their_record(db_url: str, tmp_path: Path) -> None:
    base = {"dossierStatusName": "Đang xử lý"}
    records = [
        {**base, "dossierNo": "E-1", "acceptedDate": 0},  # 1970
        {**base, "dossierNo": "E-2", "acceptedDate": 10**400},  # no float holds it
        {**base, "dossierNo": "E-3", "acceptedDate": 1.7e308},  # beyond datetime
        {**base, "dossierNo": "E-4", "acceptedDate": 1679364000000},
    ]
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    result = import_file(path, url=db_url)
    assert [e.line for e in result.errors] == [1, 2, 3]
    assert "trước năm 1990" in result.errors[0].reason
    assert all("ngày giờ không hợp lệ" in e.reason for e in result.errors[1:])
    assert list(stored(db_url)) == ["E-4"]


# --- NUL, encodings ------------------------------------------------------------------------


def test_a_nul_in_the_first_kilobytes_rejects_only_its_row(db_url: str, tmp_path: Path) -> None:
    path = write_rows(tmp_path, "n.csv", [row(1, applicant_name="Lê\0 Văn"), row(2), row(3)])
    result = import_file(path, url=db_url)
    assert [(e.line, e.code) for e in result.errors] == [(2, "000.00.20.H50-221107-0001")]
    assert "NUL" in result.errors[0].reason
    assert sorted(stored(db_url)) == ["000.00.20.H50-221107-0002", "000.00.20.H50-221107-0003"]


def test_a_binary_file_is_still_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(struct.pack("<2000i", *range(2000)))  # an array of 32-bit integers
    with pytest.raises(ImportFormatError, match="không phải tệp văn bản"):
        import_file(path, url=db_url)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_an_encoding_error_names_its_line_and_writes_nothing(
    db_url: str, tmp_path: Path, fmt: str
) -> None:
    # Line 600 is far past the text reader's first decoded block: the error is found ahead of
    # the line being parsed, and must still be reported at its own line.
    if fmt == "csv":
        lines = [HEADER.rstrip("\n")] + [
            ",".join(_cell(row(n).get(c, "")) for c in COLUMNS) for n in range(1, 700)
        ]
    else:
        records = [
            {"dossierNo": f"J-{n}", "acceptedDate": "2023-03-14", "dossierStatusName": "Mới"}
            for n in range(1, 701)
        ]
        if fmt == "jsonl":
            lines = [json.dumps(r, ensure_ascii=False) for r in records]
        else:
            lines = ["["] + [json.dumps(r) + "," for r in records[:-1]] + [json.dumps(records[-1])]
            lines.append("]")
    data = "\n".join(lines).encode()
    lines_b = data.split(b"\n")
    lines_b[599] = lines_b[599].replace(b"2023" if fmt != "csv" else b"2022", b"20\xff2", 1)
    path = tmp_path / f"enc.{fmt}"
    path.write_bytes(b"\n".join(lines_b) + b"\n")
    with pytest.raises(ImportFormatError, match="dòng 600 có byte 0xFF") as exc:
        import_file(path, url=db_url, batch_size=50)
    assert "UTF-8" in str(exc.value)
    assert stored(db_url) == {}  # batches written before the error were rolled back


def test_a_refused_file_leaves_stored_dossiers_as_they_were(db_url: str, tmp_path: Path) -> None:
    import_file(write_rows(tmp_path, "a.csv", [row(n) for n in range(1, 5)]), url=db_url)
    before = {c: (d.status, d.updated_at) for c, d in stored(db_url).items()}
    changed = [row(n, status="Chờ bổ sung") for n in range(1, 300)]
    path = write_rows(tmp_path, "b.csv", changed)
    path.write_bytes(path.read_bytes() + b"000.00.20.H50-221107-9999,\xc3\x28\n")
    with pytest.raises(ImportFormatError, match="dòng 301"):
        import_file(path, url=db_url, batch_size=20)
    assert {c: (d.status, d.updated_at) for c, d in stored(db_url).items()} == before
    assert history(db_url, "000.00.20.H50-221107-0001") == ["processing"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name", ["u.csv", "u.json"])
def test_a_utf16_file_gets_a_hint(db_url: str, tmp_path: Path, encoding: str, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        with open(path, "w", encoding=encoding, newline="") as fh:
            write_csv([row(n) for n in range(1, 4)], fh)
    else:
        path.write_text(json.dumps([{"dossierNo": "U-1"}], ensure_ascii=False), encoding=encoding)
    with pytest.raises(ImportFormatError, match="UTF-16. Hãy lưu lại tệp dưới dạng UTF-8"):
        import_file(path, url=db_url)
