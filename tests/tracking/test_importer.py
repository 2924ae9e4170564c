from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from trolydvc.db.base import session_scope
from trolydvc.db.models import Dossier, DossierStatusHistory
from trolydvc.tracking.cli import EXIT_PARTLY_WRITTEN
from trolydvc.tracking.importer import ImportFormatError, import_file

HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector\n"
)
ROW_A = (
    "000.00.20.H50-221107-0001,1.001193,Đăng ký khai sinh,Nguyễn Văn An,0912 345 678,"
    "07/11/2022 08:30,09/11/2022,,,Đang xử lý,Trực tiếp,UBND xã A,Hộ tịch\n"
)
ROW_B = (
    "000.00.20.h50-221107-0002,1.000894,Đăng ký kết hôn,Trần Thị Bình,+84 98 765 4321,"
    "2022-11-07 09:00,2022-11-09,2022-11-08T10:00,,Đã có kết quả,Trực tuyến,UBND xã A,Hộ tịch\n"
)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def dossiers(url: str) -> dict[str, Dossier]:
    with session_scope(url) as s:
        return {d.code: d for d in s.scalars(select(Dossier))}


def history(url: str, code: str) -> list[str]:
    with session_scope(url) as s:
        rows = s.scalars(
            select(DossierStatusHistory.status)
            .join(Dossier)
            .where(Dossier.code == code)
            .order_by(DossierStatusHistory.id)
        )
        return list(rows)


def test_csv_import_maps_labels_dates_and_protects_phone(db_url: str, tmp_path: Path) -> None:
    result = import_file(write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B), url=db_url)
    assert (result.records, result.inserted, result.updated, result.errors) == (2, 2, 0, [])
    stored = dossiers(db_url)
    a = stored["000.00.20.H50-221107-0001"]
    b = stored["000.00.20.H50-221107-0002"]  # code upper-cased
    assert a.status == "processing" and a.channel == "direct"
    assert a.received_at.isoformat() == "2022-11-07T08:30:00"
    assert a.due_at.isoformat() == "2022-11-09T23:59:59"  # a bare due date means end of day
    assert b.status == "resolved" and b.channel == "online"
    assert b.resolved_at.isoformat() == "2022-11-08T10:00:00"
    assert a.phone_last4 == "5678" and b.phone_last4 == "4321"
    assert a.phone_hash and "912345678" not in a.phone_hash
    with session_scope(db_url) as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM dossiers")) for v in row)
    assert "912345678" not in dump and "987654321" not in dump
    assert history(db_url, a.code) == ["processing"]  # the status when first seen
    assert history(db_url, b.code) == ["resolved"]


def test_reimport_is_idempotent_and_status_change_appends_history(
    db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B)
    import_file(path, url=db_url)
    again = import_file(path, url=db_url)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert history(db_url, "000.00.20.H50-221107-0001") == ["processing"]

    changed = ROW_A.replace("Đang xử lý", "Chờ bổ sung")
    result = import_file(write(tmp_path, "b.csv", HEADER + changed + ROW_B), url=db_url)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    assert history(db_url, "000.00.20.H50-221107-0001") == ["processing", "supplement_requested"]
    assert len(dossiers(db_url)) == 2


def test_empty_cells_do_not_erase_and_duplicates_keep_last(db_url: str, tmp_path: Path) -> None:
    import_file(write(tmp_path, "a.csv", HEADER + ROW_A), url=db_url)
    no_phone = ROW_A.replace("0912 345 678", "").replace("Đang xử lý", "Chờ bổ sung")
    result = import_file(write(tmp_path, "b.csv", HEADER + ROW_A + no_phone), url=db_url)
    assert result.duplicates == 1
    a = dossiers(db_url)["000.00.20.H50-221107-0001"]
    assert a.status == "supplement_requested"  # the later row of the file wins
    assert a.phone_last4 == "5678"  # the empty cell kept the stored value


def test_bad_rows_are_reported_with_line_and_reason_and_not_written(
    db_url: str, tmp_path: Path
) -> None:
    bad = [
        ROW_A.replace("07/11/2022 08:30", "31/02/2022"),  # line 2: impossible date
        ROW_B.replace("Đã có kết quả", "Đang bay"),  # line 3: unknown status
        "000.00.20.H50-221107-0003,1.001193,X,Lê C,0912,2022-11-07,,,,Mới tiếp nhận,"
        "Trực tiếp,UBND xã A,Hộ tịch\n",  # line 4: bad phone
        "000.00.20.H50-221107-0004,1.001193,X,Lê D,,2022-11-07,2022-11-01,,,Mới tiếp nhận,"
        "Trực tiếp,UBND xã A,Hộ tịch\n",  # line 5: due before received
        "000.00.20.H50-221107-0005,1.001193,X,Lê E,,2022-11-07,,,,Đã có kết quả,"
        "Trực tiếp,UBND xã A,Hộ tịch\n",  # line 6: resolved without a date
        "000.00.20.H50-221107-0006,too,few\n",  # line 7: wrong number of columns
        "000.00.20.H50-221107-0007,1.001193,X,Lê G,,2022-11-07,,,,Mới tiếp nhận,"
        "Fax,UBND xã A,Hộ tịch\n",  # line 8: unknown channel
    ]
    good = "000.00.20.H50-221107-0009,1.001193,X,Lê H,,2022-11-07,,,,Mới tiếp nhận,,UBND xã A,\n"
    result = import_file(write(tmp_path, "bad.csv", HEADER + "".join(bad) + good), url=db_url)
    lines = {e.line: e.reason for e in result.errors}
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8]
    assert "ngày giờ không hợp lệ" in lines[2]
    assert "trạng thái không rõ" in lines[3]
    assert "số điện thoại" in lines[4] and "0912" not in lines[4]
    assert "hạn trả kết quả trước ngày tiếp nhận" in lines[5]
    assert "resolved_at" in lines[6]
    assert "cột" in lines[7]
    assert "hình thức nộp" in lines[8]
    assert list(dossiers(db_url)) == ["000.00.20.H50-221107-0009"]
    assert result.inserted == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", "name,age\nAn,3\n", "thiếu cột code, received_at, status"),
        ("x.xlsx", "PK\x03\x04rest-of-zip", "Excel"),
        ("x.json", '{\n  "foo": [1, 2]\n}', "không tìm thấy danh sách hồ sơ"),
        ("x.jsonl", '{"foo": 1}\n', "không nhận ra bản ghi hồ sơ"),
        ("y.json", '[{"foo": 1}, {"bar": 2}]', "không nhận ra bản ghi hồ sơ"),
        ("z.json", "[{broken", "không phải JSON hợp lệ"),
        ("e.csv", "", "rỗng"),
    ],
)
def test_wrong_format_is_refused(
    db_url: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ImportFormatError, match=message):
        import_file(write(tmp_path, name, content), url=db_url)
    assert dossiers(db_url) == {}


IGATE = {
    "content": [
        {
            "dossierNo": "000.00.21.H50-230314-0042",
            "procedure": {"code": "1.004222", "translate": {"name": "Đăng ký thường trú"}},
            "applicant": {"data": {"fullname": "Phạm Minh Dũng", "phoneNumber": "0987000111"}},
            "agency": {"name": "UBND phường B"},
            "sectorName": "Đăng ký, quản lý cư trú",
            "acceptedDate": "2023-03-14T01:30:00.000+0000",
            "appointmentDate": "2023-03-23T10:00:00+07:00",
            "completedDate": 1679364000000,
            "dossierStatus": {"id": 5, "name": "Đã trả kết quả"},
            "applyMethod": {"name": "Trực tuyến"},
        },
        {"dossierNo": "", "acceptedDate": "2023-03-14", "dossierStatusName": "Mới tiếp nhận"},
    ]
}


def test_igate_json_import(db_url: str, tmp_path: Path) -> None:
    result = import_file(write(tmp_path, "igate.json", json.dumps(IGATE)), url=db_url)
    assert result.format == "JSON" and result.inserted == 1
    assert [(e.line, e.unit) for e in result.errors] == [(2, "bản ghi")]
    d = dossiers(db_url)["000.00.21.H50-230314-0042"]
    assert d.procedure_code == "1.004222" and d.procedure_name == "Đăng ký thường trú"
    assert d.applicant_name == "Phạm Minh Dũng" and d.phone_last4 == "0111"
    assert d.agency == "UBND phường B" and d.channel == "online" and d.status == "returned"
    assert d.received_at.isoformat() == "2023-03-14T08:30:00"  # UTC -> Vietnam time
    assert d.due_at.isoformat() == "2023-03-23T10:00:00"
    assert d.resolved_at.isoformat() == "2023-03-21T09:00:00"  # epoch milliseconds


def test_json_lines_report_line_numbers(db_url: str, tmp_path: Path) -> None:
    records = [
        {
            "dossierNo": "000.00.21.H50-230314-0001",
            "acceptedDate": "2023-03-14",
            "dossierStatusName": "Đang xử lý",
        },
        {
            "dossierNo": "000.00.21.H50-230314-0002",
            "acceptedDate": "hôm qua",
            "dossierStatusName": "Đang xử lý",
        },
    ]
    content = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    result = import_file(write(tmp_path, "x.jsonl", content), url=db_url)
    assert result.inserted == 1
    assert [(e.line, e.unit, e.code) for e in result.errors] == [
        (2, "dòng", "000.00.21.H50-230314-0002")
    ]


def test_quoted_csv_fields_and_line_numbers_after_them(db_url: str, tmp_path: Path) -> None:
    # Plain lines are split directly; a quoted field (delimiters, quotes, a line break inside)
    # goes through the csv module; line numbers stay physical lines.
    quoted = ROW_A.replace("Nguyễn Văn An", '"Nguyễn Văn ""An"",\n con"').replace(
        "Đăng ký khai sinh", '"Đăng ký khai sinh; lần 2"'
    )
    bad = ROW_B.replace("-0002", "-0003").replace("Đã có kết quả", "Đang bay")
    crlf = ROW_B.replace("\n", "\r\n")
    path = write(tmp_path, "q.csv", HEADER + quoted + bad + crlf)
    result = import_file(path, url=db_url)
    assert (result.inserted, [e.line for e in result.errors]) == (2, [4])
    a = dossiers(db_url)["000.00.20.H50-221107-0001"]
    assert a.applicant_name == 'Nguyễn Văn "An", con'  # whitespace collapsed as before
    assert a.procedure_name == "Đăng ký khai sinh; lần 2"
    # A NUL character (PostgreSQL refuses it in text) is a bad row, past the file's sniffing.
    many = "".join(ROW_A.replace("-0001", f"-1{i:03d}") for i in range(60))
    nul = ROW_B.replace("-0002", "-0009").replace("Bình", "Bì\0nh")
    result = import_file(write(tmp_path, "n.csv", HEADER + many + nul + ROW_B), url=db_url)
    assert [(e.line, e.code) for e in result.errors] == [(62, "000.00.20.H50-221107-0009")]
    assert "NUL" in result.errors[0].reason and result.inserted == 60


def test_a_nul_in_a_json_value_is_a_bad_record(db_url: str, tmp_path: Path) -> None:
    records = [
        {"dossierNo": "A-1", "acceptedDate": "2023-03-14", "dossierStatusName": "Đang xử lý"},
        {
            "dossierNo": "A-2",
            "acceptedDate": "2023-03-14",
            "dossierStatusName": "Đang xử lý",
            "applicantName": "Lê\u0000 Văn",
        },
    ]
    result = import_file(write(tmp_path, "n.json", json.dumps(records)), url=db_url)
    assert result.inserted == 1
    assert [(e.line, e.code) for e in result.errors] == [(2, "A-2")]
    assert "NUL" in result.errors[0].reason


def test_dry_run_writes_nothing(db_url: str, tmp_path: Path) -> None:
    result = import_file(write(tmp_path, "a.csv", HEADER + ROW_A), url=db_url, dry_run=True)
    assert result.valid == 1 and dossiers(db_url) == {}


def test_cli_import_reports_errors_without_traceback(db_url: str, tmp_path: Path) -> None:
    from trolydvc.cli import main

    runner = CliRunner()
    path = write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B.replace("Đã có kết quả", "??"))
    result = runner.invoke(main, ["dossiers", "import", str(path), "--no-progress"])
    assert result.exit_code == EXIT_PARTLY_WRITTEN, result.output
    assert "thêm mới 1" in result.output and "dòng 3" in result.output
    missing = runner.invoke(main, ["dossiers", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code != 0 and "Không tìm thấy tệp" in missing.output
    assert "Traceback" not in missing.output
    wrong = runner.invoke(main, ["dossiers", "import", str(write(tmp_path, "w.csv", "a,b\n1,2\n"))])
    assert wrong.exit_code != 0 and "thiếu cột" in wrong.output


def test_sqlite_import_restores_the_page_cache_setting(sqlite_url: str, tmp_path: Path) -> None:
    # The import enlarges SQLite's page cache for its own transaction only: the pooled
    # connection must come back with the setting it had before.
    from trolydvc.db.base import get_engine

    engine = get_engine(sqlite_url)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    import_file(write(tmp_path, "c.csv", HEADER + ROW_A), url=sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == before


def _indexes(url: str) -> dict[str, list[tuple[str, ...]]]:
    from sqlalchemy import inspect

    from trolydvc.db.base import get_engine

    insp = inspect(get_engine(url))
    found: dict[str, list[tuple[str, ...]]] = {
        t: sorted((i["name"], *i["column_names"]) for i in insp.get_indexes(t))
        for t in ("dossiers", "dossier_status_history")
    }
    found["foreign keys"] = sorted(
        (fk["name"], fk["referred_table"], fk["options"].get("ondelete") or "")
        for fk in insp.get_foreign_keys("dossier_status_history")
    )
    found["unique"] = sorted(
        (u["name"] or "", *u["column_names"]) for u in insp.get_unique_constraints("dossiers")
    )
    return found


def test_first_load_rebuilds_the_indexes_it_defers(db_url: str, tmp_path: Path) -> None:
    # A load into an empty table builds its secondary indexes once at the end.
    before = _indexes(db_url)
    assert before["dossiers"] and before["dossier_status_history"] and before["foreign keys"]
    assert before["unique"] == [("uq_dossiers_code", "code")]
    result = import_file(write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B), url=db_url)
    assert result.inserted == 2
    assert _indexes(db_url) == before
    assert history(db_url, "000.00.20.H50-221107-0001") == ["processing"]


def test_failed_first_load_keeps_the_indexes_and_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trolydvc.tracking.importer import writer

    before = _indexes(db_url)

    def fail(self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.Writer, "finish", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B), url=db_url)
    assert dossiers(db_url) == {}
    assert _indexes(db_url) == before


def test_first_load_with_a_code_repeated_in_a_later_batch(db_url: str, tmp_path: Path) -> None:
    # A first load writes codes it has not seen yet with a plain insert; a code already written
    # by an earlier batch of the same import takes the upsert path (history appended).
    changed = ROW_A.replace("Đang xử lý", "Chờ bổ sung").replace("0912 345 678", "")
    path = write(tmp_path, "a.csv", HEADER + ROW_A + ROW_B + changed)
    result = import_file(path, url=db_url, batch_size=2)
    assert (result.inserted, result.updated, result.unchanged) == (2, 1, 0)
    a = dossiers(db_url)["000.00.20.H50-221107-0001"]
    assert a.status == "supplement_requested" and a.phone_last4 == "5678"
    assert history(db_url, a.code) == ["processing", "supplement_requested"]
    assert history(db_url, "000.00.20.H50-221107-0002") == ["resolved"]
    with session_scope(db_url) as s:
        changed_at = s.scalars(
            select(DossierStatusHistory.changed_at).order_by(DossierStatusHistory.id)
        ).all()
    assert changed_at[0].isoformat() == "2022-11-07T08:30:00"  # the first status: received
    assert changed_at[1].isoformat() == "2022-11-08T10:00:00"  # B resolved: its result time
    assert _indexes(db_url)["unique"] == [("uq_dossiers_code", "code")]
    again = import_file(path, url=db_url, batch_size=2)  # not a first load: upserts only
    assert (again.inserted, again.updated, again.unchanged) == (0, 2, 1)  # A goes back and forth
    assert history(db_url, a.code) == ["processing", "supplement_requested"] * 2


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-31 07:30",
        "31/01/2025 07:30",
        "31/01/2025T07:30",
        "2025-01-31T07:30",
        "2025-01-31",
        "31/01/2025",
        "2025-01-31 07:30:15",
        "2025-01-31T07:30+00:00",
        "2024-02-29 23:59",
        1700000000000,
        "  ",
    ],
)
def test_time_text_matches_the_parsed_time(value: object) -> None:
    from trolydvc.tracking.fields import parse_datetime
    from trolydvc.tracking.importer.rows import RowBuilder, iso_text

    builder = RowBuilder()
    expected = iso_text(parse_datetime(value))
    assert builder._ts(value) == expected
    assert builder._ts(value) == expected  # from the caches


@pytest.mark.parametrize(
    "value", ["2025-02-30 07:30", "31/01/2025 25:00", "2025-01-31 07:60", "2025-01-31 7:30"]
)
def test_time_text_refuses_what_the_parser_refuses(value: str) -> None:
    from trolydvc.tracking.importer import RowBuilder

    builder = RowBuilder()
    builder._ts(value[:10]) if value[:10] != "2025-02-30" else None  # warm the date cache
    with pytest.raises(ValueError, match="ngày giờ không hợp lệ"):
        builder._ts(value)


def _force_child(monkeypatch: pytest.MonkeyPatch) -> None:
    from trolydvc.tracking.importer import pipeline

    monkeypatch.setattr(pipeline, "_use_child", lambda path: True)


def test_parsing_in_a_child_process_gives_the_same_result(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big files are parsed by a forked child process; batches, errors with their
    # lines, duplicates and counts must be those of the in-process parser.
    rows = [ROW_A.replace("-0001", f"-1{i:03d}") for i in range(25)]
    rows[7] = rows[7].replace("Đang xử lý", "Đang bay")
    content = HEADER + "".join(rows) + ROW_A + ROW_B + ROW_A.replace("Đang xử lý", "Chờ bổ sung")
    path = write(tmp_path, "big.csv", content)
    expected = import_file(path, url=db_url, dry_run=True, batch_size=4)
    _force_child(monkeypatch)
    result = import_file(path, url=db_url, batch_size=4, progress=True)
    assert [(e.line, e.reason, e.code) for e in result.errors] == [
        (e.line, e.reason, e.code) for e in expected.errors
    ]
    assert result.errors[0].line == 9
    assert (result.records, result.duplicates) == (expected.records, expected.duplicates)
    assert (result.inserted, result.updated, result.unchanged) == (26, 0, 0)
    assert history(db_url, "000.00.20.H50-221107-0001") == ["supplement_requested"]
    again = import_file(path, url=db_url, batch_size=4)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 26)


def test_an_error_in_the_parsing_child_fails_the_import_and_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _force_child(monkeypatch)
    rows = "".join(ROW_A.replace("-0001", f"-1{i:03d}") for i in range(60))
    path = tmp_path / "broken.csv"
    path.write_bytes((HEADER + rows).encode() + b"\xff\xfe,broken\n")
    with pytest.raises(ImportFormatError, match="UTF-8"):
        import_file(path, url=db_url, batch_size=10)
    assert dossiers(db_url) == {}


def test_import_restores_the_garbage_collector(db_url: str, tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    import_file(write(tmp_path, "a.csv", HEADER + ROW_A), url=db_url)
    assert gc.isenabled()
    with pytest.raises(ImportFormatError):
        import_file(write(tmp_path, "b.csv", "a,b\n1,2\n"), url=db_url)
    assert gc.isenabled()
