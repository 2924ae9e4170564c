"""The statistics page shows the numbers of `trolydvc stats` for the same period; CSV and XLSX."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from trolydvc.cli import main
from trolydvc.web.dashboard.audit import recent

NUMBER = r"(\d{1,3}(?:\.\d{3})*)"
# The CLI's summary lines (trolydvc.tracking.stats.format_report) -> the page's data fields.
CLI_FIELDS = [
    (rf"Tiếp nhận: {NUMBER} hồ sơ, trong đó trực tuyến {NUMBER}", ("received", "online")),
    (
        rf"Đã giải quyết và trả kết quả: {NUMBER} hồ sơ, trong đó đúng hạn và trước hạn "
        rf"{NUMBER} \(([\d,]+%)\), trễ hạn {NUMBER}",
        ("resolved", "on_time", "on_time_ratio", "late"),
    ),
    (
        rf"Đang giải quyết: {NUMBER} hồ sơ, trong đó trong hạn {NUMBER}, quá hạn {NUMBER}",
        ("in_progress", None, "in_progress_overdue"),
    ),
]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["stats", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _cli_figures(text: str) -> dict[str, str]:
    figures: dict[str, str] = {}
    for pattern, names in CLI_FIELDS:
        found = re.search(pattern, text)
        assert found, (pattern, text)
        for name, value in zip(names, found.groups(), strict=True):
            if name:
                figures[name] = value
    return figures


def _page_figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="(\w+)">([^<]+)<', html))


@pytest.mark.parametrize(
    ("ky", "cli_args"),
    [
        ("Q3/2026", ["--quarter", "Q3/2026"]),
        ("10/2026", ["--month", "10/2026"]),
        ("2026", ["--year", "2026"]),
        ("01/02/2026 - 15/05/2026", ["--from", "01/02/2026", "--to", "15/05/2026"]),
    ],
)
def test_the_page_shows_the_cli_numbers(
    demo_data: str, logged_in: TestClient, ky: str, cli_args: list[str]
) -> None:
    expected = _cli_figures(_cli(*cli_args))
    assert int(expected["received"].replace(".", "")) > 0  # the demo data covers the period
    page = logged_in.get("/quan-tri/thong-ke", params={"ky": ky})
    assert page.status_code == 200, page.text
    assert _page_figures(page.text) == expected
    assert "<svg" in page.text and "<rect" in page.text  # the chart, inline


def test_one_agency_and_the_agency_rows(demo_data: str, logged_in: TestClient) -> None:
    by_agency = _cli("--quarter", "Q3/2026", "--by", "agency")
    rows = re.findall(rf"• (.+?): tiếp nhận {NUMBER} \(trực tuyến {NUMBER}\)", by_agency)
    assert len(rows) >= 2
    page = logged_in.get("/quan-tri/thong-ke", params={"ky": "Q3/2026"})
    for name, received, online in rows:
        assert f"<td>{name}</td><td>{received}</td><td>{online}</td>" in page.text

    agency = rows[0][0]
    expected = _cli_figures(_cli("--quarter", "Q3/2026", "--agency", agency))
    one = logged_in.get("/quan-tri/thong-ke", params={"ky": "Q3/2026", "co_quan": agency})
    assert _page_figures(one.text) == expected


def test_a_period_it_cannot_read_gets_a_clear_message(
    demo_data: str, logged_in: TestClient
) -> None:
    page = logged_in.get("/quan-tri/thong-ke", params={"ky": "tháng 13/2026"})
    assert page.status_code == 400
    assert "Không hiểu kỳ báo cáo" in page.text


def _total(report: Any) -> list[Any]:
    c = report.totals
    return [c.received, c.online, c.resolved, c.on_time, c.late, c.in_progress]


def test_csv_and_xlsx_exports(demo_data: str, logged_in: TestClient) -> None:
    from trolydvc.tracking.stats import compute_report, parse_period_text

    report = compute_report(parse_period_text("Q3/2026"), group_by="agency")
    want_total = [c for c in _total(report)]

    response = logged_in.get("/quan-tri/thong-ke.csv", params={"ky": "Q3/2026"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        'filename="thong-ke-2026-07-01-2026-09-30.csv"' in response.headers["content-disposition"]
    )
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the diacritics
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == ["Kỳ báo cáo: quý 3/2026"]
    header, body = lines[1], lines[2:]
    assert header[:3] == ["Cơ quan", "Tiếp nhận", "Trực tuyến"]
    assert len(body) == len(report.groups) + 1
    total = dict(zip(header, body[-1], strict=True))
    assert total["Cơ quan"] == "Tổng cộng"
    got = [
        int(total[k])
        for k in (
            "Tiếp nhận",
            "Trực tuyến",
            "Đã giải quyết",
            "Đúng hạn và trước hạn",
            "Trễ hạn",
            "Đang giải quyết",
        )
    ]
    assert got == want_total
    c = report.totals
    assert float(total["Tỷ lệ đúng hạn (%)"]) == round(100 * c.on_time / c.resolved, 2)

    response = logged_in.get("/quan-tri/thong-ke.xlsx", params={"ky": "Q3/2026"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:3] == ("Cơ quan", "Tiếp nhận", "Trực tuyến")
    assert values[-1][0] == "Tổng cộng"
    assert [values[-1][i] for i in (1, 2, 4, 5, 7, 8)] == want_total

    exports = [e.detail for e in recent() if e.action == "export"]
    assert exports == ["XLSX quý 3/2026; tất cả cơ quan", "CSV quý 3/2026; tất cả cơ quan"]
