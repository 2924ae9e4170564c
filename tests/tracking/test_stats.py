from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from trolydvc.i18n import answering_in
from trolydvc.tracking.chart import render_chart
from trolydvc.tracking.importer import CSV_COLUMNS, import_file
from trolydvc.tracking.stats import (
    Period,
    compute_report,
    find_period,
    format_report,
    parse_period,
    parse_period_text,
    public_summary,
)

PERIOD = Period.between(date(2025, 1, 1), date(2025, 10, 31))


def _row(
    i: int,
    received: datetime,
    due: datetime,
    resolved: datetime | None,
    status: str,
    channel: str,
    agency: str,
) -> dict[str, str]:
    return {
        "code": f"000.00.20.H50-{received:%y%m%d}-{i:05d}",
        "procedure_code": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "applicant_name": "Nguyễn Văn An",
        "applicant_phone": "",
        "received_at": received.strftime("%Y-%m-%d %H:%M"),
        "due_at": due.strftime("%Y-%m-%d %H:%M"),
        "resolved_at": resolved.strftime("%Y-%m-%d %H:%M") if resolved else "",
        "returned_at": "",
        "status": status,
        "channel": channel,
        "agency": agency,
        "sector": "Hộ tịch",
    }


def report_dataset() -> list[dict[str, str]]:
    """3,743 received: 3,385 on time, 93 late, 265 in progress within the deadline; 664 online."""
    rows = []
    start = datetime(2025, 1, 2, 8, 0)
    for i in range(3743):
        channel = "online" if i < 664 else ("postal" if i % 50 == 0 else "direct")
        agency = "UBND xã A" if i % 3 else "UBND xã B"
        if i < 3478:
            received = start + timedelta(hours=(i * 7) % (290 * 24))
            due = received + timedelta(days=3)
            if i < 3385:
                rows.append(
                    _row(
                        i,
                        received,
                        due,
                        received + timedelta(days=1),
                        "Đã trả kết quả" if i % 2 else "resolved",
                        channel,
                        agency,
                    )
                )
            else:
                rows.append(
                    _row(
                        i, received, due, due + timedelta(days=2), "Đã có kết quả", channel, agency
                    )
                )
        else:
            received = datetime(2025, 10, 27, 9, 0) + timedelta(minutes=i)
            rows.append(
                _row(
                    i,
                    received,
                    datetime(2025, 11, 10, 17, 0),
                    None,
                    ["received", "Đang xử lý", "Chờ bổ sung"][i % 3],
                    channel,
                    agency,
                )
            )
    # outside the period: must not count
    rows.append(
        _row(
            90001,
            datetime(2024, 12, 31, 9),
            datetime(2025, 1, 3, 9),
            None,
            "processing",
            "online",
            "UBND xã A",
        )
    )
    rows.append(
        _row(
            90002,
            datetime(2025, 11, 1, 9),
            datetime(2025, 11, 3, 9),
            None,
            "processing",
            "online",
            "UBND xã A",
        )
    )
    return rows


def load(url: str, tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "data.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    result = import_file(path, url=url)
    assert not result.errors, result.errors[:3]


def test_report_reads_exactly_like_the_official_report(db_url: str, tmp_path: Path) -> None:
    load(db_url, tmp_path, report_dataset())
    report = compute_report(PERIOD, url=db_url)
    t = report.totals
    assert (t.received, t.resolved, t.on_time, t.late) == (3743, 3478, 3385, 93)
    assert (t.in_progress, t.in_progress_on_time, t.in_progress_overdue, t.online) == (
        265,
        265,
        0,
        664,
    )
    text = format_report(report)
    assert "Tiếp nhận: 3.743 hồ sơ" in text
    assert "trực tuyến 664" in text
    assert "Đã giải quyết và trả kết quả: 3.478 hồ sơ" in text
    assert "3.385 (97,33%)" in text
    assert "93 (2,67%)" in text
    assert "Đang giải quyết: 265 hồ sơ, trong đó trong hạn 265, quá hạn 0" in text

    public = public_summary(PERIOD, url=db_url)
    assert "3.743" in public and "97,33%" in public and "UBND" not in public

    grouped = compute_report(PERIOD, group_by="agency", url=db_url)
    assert [name for name, _ in grouped.groups] == ["UBND xã A", "UBND xã B"]
    assert sum(c.received for _, c in grouped.groups) == 3743
    assert "Theo cơ quan:" in format_report(grouped)
    only_b = compute_report(PERIOD, agency="UBND xã B", url=db_url)
    assert only_b.totals.received == dict(grouped.groups)["UBND xã B"].received

    png = render_chart(grouped)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert render_chart(report).startswith(b"\x89PNG")


def test_counts_as_of_the_period_end(db_url: str, tmp_path: Path) -> None:
    rows = [
        # received in March, resolved in May (late), due in March
        _row(
            1,
            datetime(2025, 3, 3, 9),
            datetime(2025, 3, 5, 17),
            datetime(2025, 5, 2, 9),
            "resolved",
            "direct",
            "A",
        ),
        # received in March, still open, due in April
        _row(
            2, datetime(2025, 3, 28, 9), datetime(2025, 4, 4, 17), None, "processing", "direct", "A"
        ),
        _row(
            3, datetime(2025, 3, 10, 9), datetime(2025, 3, 12, 17), None, "Từ chối", "direct", "A"
        ),
    ]
    load(db_url, tmp_path, rows)
    march = compute_report(Period.month(2025, 3), url=db_url).totals
    # at the end of March, dossier 1 was still in progress (and overdue), 2 in progress in time
    assert (march.received, march.resolved, march.in_progress) == (3, 0, 2)
    assert (march.in_progress_overdue, march.rejected) == (1, 1)
    year = compute_report(Period.year(2025), url=db_url).totals
    assert (year.resolved, year.late, year.in_progress, year.in_progress_overdue) == (1, 1, 1, 1)
    assert "từ chối giải quyết 1" in format_report(compute_report(Period.year(2025), url=db_url))


def test_parse_period() -> None:
    today = date(2026, 5, 20)
    assert parse_period(month="10/2025") == Period.month(2025, 10)
    assert parse_period(month="2025-02").end == date(2025, 2, 28)
    assert parse_period(quarter="Q3/2025") == Period.quarter(2025, 3)
    assert parse_period(quarter="2025-Q4").start == date(2025, 10, 1)
    assert parse_period(year="2024") == Period.year(2024)
    ytd = parse_period(today=today)
    assert (ytd.start, ytd.end) == (date(2026, 1, 1), today)
    between = parse_period(from_="01/01/2026", to="2026-03-31")
    assert (between.start, between.end) == (date(2026, 1, 1), date(2026, 3, 31))
    for bad in (
        {"month": "13/2025"},
        {"quarter": "Q5/2025"},
        {"from_": "32/01/2025"},
        {"month": "1/2025", "year": "2025"},
        {"from_": "2025-03-01", "to": "2025-01-01"},
    ):
        with pytest.raises(ValueError):
            parse_period(**bad)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("tháng trước", "tháng 04/2026"),
        ("quý này", "quý 2/2026"),
        ("quy truoc", "quý 1/2026"),
        ("năm ngoái", "năm 2025"),
        ("năm nay", "từ đầu năm 2026 đến 20/05/2026"),
        ("tháng 10/2025", "tháng 10/2025"),
        ("tháng 10 năm ngoái", "tháng 10/2025"),
        ("10/2025", "tháng 10/2025"),
        ("2025-10", "tháng 10/2025"),
        ("Q3/2025", "quý 3/2025"),
        ("2025 Q4", "quý 4/2025"),
        ("quý III năm 2025", "quý 3/2025"),
        ("2024", "năm 2024"),
        ("từ 01/01/2026 đến 31/03/2026", "từ 01/01/2026 đến 31/03/2026"),
        ("01/01/2026 - 2026-03-31", "từ 01/01/2026 đến 31/03/2026"),
    ],
)
def test_one_period_grammar_for_arguments_and_sentences(text: str, label: str) -> None:
    today = date(2026, 5, 20)
    assert parse_period_text(text, today).label == label
    assert find_period(f"cho tôi số liệu {text} nhé", today).label == label


def test_periods_not_understood() -> None:
    today = date(2026, 5, 20)
    for text in ("hôm qua", "Q3", "tháng 13", "1800", "2025 abc"):
        with pytest.raises(ValueError):
            parse_period_text(text, today)
    assert parse_period_text("", today) == Period.year_to_date(today)
    # numbers inside a date or a dossier code are not periods
    assert find_period("hồ sơ nộp ngày 15/10/2025", today) is None
    assert find_period("mã 000.00.20.H50-221107-0001", today) is None
    with pytest.raises(ValueError):
        find_period("số liệu tháng 13", today)


def test_cli_stats(db_url: str, tmp_path: Path) -> None:
    from trolydvc.cli import main

    load(db_url, tmp_path, report_dataset())
    chart = tmp_path / "chart.png"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "stats",
            "--from",
            "01/01/2025",
            "--to",
            "31/10/2025",
            "--by",
            "agency",
            "--chart",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3.385 (97,33%)" in result.output and chart.read_bytes().startswith(b"\x89PNG")
    bad = runner.invoke(main, ["stats", "--month", "13/2025"])
    assert bad.exit_code != 0 and "tháng không hợp lệ" in bad.output
    assert "Traceback" not in bad.output


def test_the_public_summary_of_an_english_conversation(db_url: str, tmp_path: Path) -> None:
    load(db_url, tmp_path, report_dataset())
    with answering_in("en"):
        public = public_summary(PERIOD, url=db_url)
        quarter = parse_period_text("Q3/2025", date(2026, 5, 20)).label
    assert public == (
        "Administrative procedure figures, from 01/01/2025 to 31/10/2025: 3,743 dossiers received "
        "(664 online); 3,478 resolved, of which 3,385 on time (97.33%) and 93 late (2.67%); 265 "
        "dossiers in progress."
    )
    assert quarter == "quarter 3/2025"
    # the same figures in Vietnamese outside it (the officials' reports, a Vietnamese chat)
    assert "tiếp nhận 3.743 hồ sơ (trực tuyến 664)" in public_summary(PERIOD, url=db_url)
