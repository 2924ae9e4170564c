"""The statistics page's data: the one-stop-shop report (``compute_report``, the numbers of
``trolydvc stats``) as table rows, an inline SVG bar chart, and CSV / XLSX exports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select

from trolydvc.db import session_scope
from trolydvc.db.models import Dossier
from trolydvc.formatting import fmt_int, fmt_ratio
from trolydvc.tracking.stats import Counts, Period, Report, compute_report, parse_period_text

TOTAL_LABEL = "Tổng cộng"
# (field, column title); a ratio column follows the fields named in RATIOS.
COLUMNS = [
    ("received", "Tiếp nhận"),
    ("online", "Trực tuyến"),
    ("resolved", "Đã giải quyết"),
    ("on_time", "Đúng hạn và trước hạn"),
    ("late", "Trễ hạn"),
    ("in_progress", "Đang giải quyết"),
    ("in_progress_overdue", "Đang giải quyết quá hạn"),
    ("rejected", "Từ chối giải quyết"),
    ("withdrawn", "Rút hồ sơ"),
]
RATIOS = {
    "online": ("received", "Tỷ lệ trực tuyến (%)"),
    "on_time": ("resolved", "Tỷ lệ đúng hạn (%)"),
}


def agencies() -> list[str]:
    """The agencies that have dossiers, for the page's choice."""
    with session_scope() as session:
        return [
            a
            for a in session.scalars(select(Dossier.agency).distinct().order_by(Dossier.agency))
            if a
        ]


def build_report(period_text: str, agency: str) -> Report:
    """The report of a period written as the chat and the CLI read it, for one agency or all
    (then by agency). Raises ValueError with a Vietnamese message for a period it cannot read."""
    period: Period = parse_period_text(period_text)
    agency = agency.strip()
    return compute_report(period, agency=agency or None, group_by=None if agency else "agency")


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _row_values(counts: Counts) -> list[int | float | None]:
    values: list[int | float | None] = []
    for name, _title in COLUMNS:
        values.append(getattr(counts, name))
        if name in RATIOS:
            values.append(_percent(getattr(counts, name), getattr(counts, RATIOS[name][0])))
    return values


def header() -> list[str]:
    titles = ["Cơ quan"]
    for name, title in COLUMNS:
        titles.append(title)
        if name in RATIOS:
            titles.append(RATIOS[name][1])
    return titles


def rows(report: Report) -> list[tuple[str, Counts]]:
    """The agencies' rows (when grouped) and the total row last."""
    total_label = report.agency or TOTAL_LABEL
    return [*report.groups, (total_label, report.totals)]


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read the diacritics right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Kỳ báo cáo: {report.period.label}"])
    writer.writerow(header())
    for name, counts in rows(report):
        writer.writerow([name, *("" if v is None else v for v in _row_values(counts))])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Thống kê"
    sheet.append([f"Kỳ báo cáo: {report.period.label}"])
    sheet.append(header())
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for name, counts in rows(report):
        sheet.append([name, *_row_values(counts)])
    sheet.column_dimensions["A"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_name(report: Report, suffix: str) -> str:
    p = report.period
    return f"thong-ke-{p.start.isoformat()}-{p.end.isoformat()}.{suffix}"


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    on_time: float  # widths in SVG units
    late: float
    in_progress: float
    received: int
    text: str


CHART_WIDTH = 420
BAR_HEIGHT = 18
ROW_HEIGHT = 30


def chart_bars(report: Report) -> list[Bar]:
    """One horizontal stacked bar per agency (or the one total): resolved on time, late, and in
    progress, scaled to the largest number received."""
    shown = report.groups or [(report.agency or TOTAL_LABEL, report.totals)]
    largest = max((c.received for _, c in shown), default=0) or 1
    scale = CHART_WIDTH / largest
    return [
        Bar(
            label=name,
            y=i * ROW_HEIGHT,
            on_time=c.on_time * scale,
            late=c.late * scale,
            in_progress=c.in_progress * scale,
            received=c.received,
            text=(
                f"{name}: tiếp nhận {fmt_int(c.received)}, đúng hạn {fmt_int(c.on_time)} "
                f"({fmt_ratio(c.on_time, c.resolved)}), trễ hạn {fmt_int(c.late)}, "
                f"đang giải quyết {fmt_int(c.in_progress)}"
            ),
        )
        for i, (name, c) in enumerate(shown)
    ]
