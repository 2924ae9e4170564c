"""One-stop-shop statistics, as district and commune reports state them.

For the dossiers *received* in a period (optionally of one agency or sector), counted as of the
end of the period (or now, if the period has not ended):

- received, and of them received online;
- resolved and returned (status resolved/returned, result time not after the as-of time), of
  which on or before time (result time <= due time, or no due time) and late, each with its
  share of the resolved;
- in progress (not resolved, not rejected, not withdrawn), of which within the deadline and
  overdue (due time before the as-of time);
- rejected and withdrawn (listed when not zero).

Public API:

- ``Period`` (``Period.month(2026, 10)``, ``Period.quarter(2026, 3)``, ``Period.year(2026)``,
  ``Period.year_to_date(today)``, ``Period.between(start, end)``) and
  ``parse_period(from_=None, to=None, month=None, quarter=None, year=None, today=None)``
  (text forms ``DD/MM/YYYY``/``YYYY-MM-DD``, ``MM/YYYY``/``YYYY-MM``, ``Q3/2026``/``2026-Q3``;
  nothing given = year to date). Raises ``ValueError`` with a Vietnamese message.
- ``find_period(text, today=None) -> Period | None``: the period a sentence names, relative ones
  included ("tháng trước", "quý này", "năm ngoái"); ``parse_period_text(text, today=None)``: a
  period written on its own (a command argument; empty = year to date). One grammar serves all three.
- ``compute_report(period, *, group_by=None | "agency" | "sector", agency=None, sector=None,
  as_of=None, url=None) -> Report`` (SQL aggregates, one query per level).
- ``format_report(report) -> str``: Vietnamese text, numbers as vi_VN (``3.743``, ``97,33%``).
- Period labels and ``public_summary`` are written in the answers' language (``trolydvc.i18n``:
  Vietnamese unless the chat's action set English; the officials' reports stay Vietnamese).
- ``public_summary(period=None, *, url=None) -> str`` (alias ``public_statistics_text``): aggregates
  only, for the public ``ask_statistics`` answer (default: year to date).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    String,
    and_,
    func,
    literal_column,
    not_,
    or_,
    select,
)

from trolydvc.db.models import (
    CLOSED_WITHOUT_RESULT,
    RESOLVED_STATUSES,
    Channel,
    Dossier,
    DossierStatus,
)
from trolydvc.formatting import fmt_date, fmt_int, fmt_ratio
from trolydvc.i18n import number_locale, tr
from trolydvc.textnorm import fold
from trolydvc.vietnam_time import VN_TZ

GROUP_COLUMNS = {"agency": Dossier.agency, "sector": Dossier.sector}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    # How the period is named (:attr:`label`): "month", "quarter", "year", "year_to_date" or
    # "between" (any dates).
    kind: str = "between"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise ValueError(f"tháng không hợp lệ: {month}")
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last), "month")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError(f"quý không hợp lệ: {quarter}")
        first = 3 * (quarter - 1) + 1
        last = calendar.monthrange(year, first + 2)[1]
        return cls(date(year, first, 1), date(year, first + 2, last), "quarter")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), "year")

    @classmethod
    def year_to_date(cls, today: date | None = None) -> Period:
        today = today or datetime.now(VN_TZ).date()
        return cls(date(today.year, 1, 1), today, "year_to_date")

    @classmethod
    def between(cls, start: date, end: date) -> Period:
        if end < start:
            raise ValueError("ngày kết thúc trước ngày bắt đầu")
        return cls(start, end, "between")

    @property
    def label(self) -> str:
        """The period's name ("tháng 10/2025", "quý 3/2025", "từ 01/01/2025 đến 31/10/2025"), in
        the answers' language when it is read: a period made before (a constant, a cached
        report) is named in the language of the answer that shows it."""
        start = self.start
        if self.kind == "month":
            return tr("tháng {month}/{year}").format(month=f"{start.month:02d}", year=start.year)
        if self.kind == "quarter":
            quarter = (start.month - 1) // 3 + 1
            return tr("quý {quarter}/{year}").format(quarter=quarter, year=start.year)
        if self.kind == "year":
            return tr("năm {year}").format(year=start.year)
        if self.kind == "year_to_date":
            return tr("từ đầu năm {year} đến {date}").format(
                year=start.year, date=fmt_date(self.end)
            )
        return tr("từ {start} đến {end}").format(start=fmt_date(start), end=fmt_date(self.end))

    @property
    def end_exclusive(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time())


# ---- the one parser of periods ---------------------------------------------------------------
# The chat ("số liệu tháng trước"), the officials' /thongke argument and the CLI options all read
# periods with this grammar, applied to folded text (lower case, no diacritics, single spaces).
_DATE = r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4}"
# A bare number is not part of a longer one, a date or a code ("15/10/2026", "H50-221107-0001").
_START = r"(?<![\w/.-])"
_END = r"(?![\w/-]|\.\d)"
# "… 2026", "…/2026", "… năm 2026", "… năm nay", "… năm ngoái": groups (digits, relative word).
_OF_YEAR = r"(?:(?:\s*[/-]\s*|\s*nam\s*|\s+)(\d{4})|\s*nam (nay|ngoai|truoc))?"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_YEARS = range(1990, 2101)

PeriodBuilder = Callable[[re.Match[str], date], "Period"]


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"ngày không hợp lệ: {text!r} (DD/MM/YYYY hoặc YYYY-MM-DD)")


def _year(text: str | None, today: date, relative: str | None = None) -> int:
    """A written year; none written: this year, or last year ("năm ngoái", "năm trước")."""
    year = int(text) if text else today.year - (relative in ("ngoai", "truoc"))
    if year not in _YEARS:
        raise ValueError(f"năm không hợp lệ: {year}")
    return year


def _last_month(today: date) -> Period:
    last = today.replace(day=1) - timedelta(days=1)
    return Period.month(last.year, last.month)


def _this_quarter(today: date) -> int:
    return (today.month - 1) // 3 + 1


def _last_quarter(today: date) -> Period:
    quarter = _this_quarter(today)
    return Period.quarter(today.year - (quarter == 1), (quarter - 2) % 4 + 1)


# (kind, pattern, builder), tried in this order: a range, a relative month or quarter, a month, a
# quarter ("tháng 10 năm ngoái" before "năm ngoái"), a relative year, a year. The CLI's --month,
# --quarter and --year accept the patterns of their kind.
_PERIOD_FORMS: list[tuple[str, re.Pattern[str], PeriodBuilder]] = [
    (
        "range",
        re.compile(rf"{_START}(?:tu\s*)?({_DATE})\s*(?:-|\u2013|\u2014|den|to)\s*({_DATE}){_END}"),
        lambda m, today: Period.between(_parse_date(m[1]), _parse_date(m[2])),
    ),
    (
        "relative",
        re.compile(r"\b(?:thang (?:nay|hien tai)|this month)\b"),
        lambda m, today: Period.month(today.year, today.month),
    ),
    (
        "relative",
        re.compile(r"\b(?:thang (?:truoc|vua roi|vua qua)|last month)\b"),
        lambda m, today: _last_month(today),
    ),
    (
        "relative",
        re.compile(r"\b(?:quy (?:nay|hien tai)|this quarter)\b"),
        lambda m, today: Period.quarter(today.year, _this_quarter(today)),
    ),
    (
        "relative",
        re.compile(r"\b(?:quy (?:truoc|vua roi|vua qua)|last quarter)\b"),
        lambda m, today: _last_quarter(today),
    ),
    (
        "month",
        re.compile(rf"\bthang\s*(\d{{1,2}}){_OF_YEAR}{_END}"),
        lambda m, today: Period.month(_year(m[2], today, m[3]), int(m[1])),
    ),
    (
        "month",
        re.compile(rf"{_START}(\d{{1,2}})[/-](\d{{4}}){_END}"),
        lambda m, today: Period.month(_year(m[2], today), int(m[1])),
    ),
    (
        "month",
        re.compile(rf"{_START}(\d{{4}})[/-](\d{{1,2}}){_END}"),
        lambda m, today: Period.month(_year(m[1], today), int(m[2])),
    ),
    (
        "quarter",
        re.compile(rf"\bquy\s*(iv|i{{1,3}}|[1-4]){_OF_YEAR}{_END}"),
        lambda m, today: Period.quarter(_year(m[2], today, m[3]), _ROMAN.get(m[1]) or int(m[1])),
    ),
    (
        "quarter",
        re.compile(rf"{_START}q\s*([1-4])\s*[/ -]?\s*(\d{{4}}){_END}"),
        lambda m, today: Period.quarter(_year(m[2], today), int(m[1])),
    ),
    (
        "quarter",
        re.compile(rf"{_START}(\d{{4}})\s*[/ -]?\s*q([1-4]){_END}"),
        lambda m, today: Period.quarter(_year(m[1], today), int(m[2])),
    ),
    (
        "relative",
        re.compile(r"\b(?:nam (?:nay|hien tai)|this year)\b"),
        lambda m, today: Period.year_to_date(today),
    ),
    (
        "relative",
        re.compile(r"\b(?:nam (?:ngoai|truoc|roi|vua roi|vua qua)|last year)\b"),
        lambda m, today: Period.year(today.year - 1),
    ),
    (
        "year",
        re.compile(rf"(?:\bnam\s*|{_START})(\d{{4}}){_END}"),
        lambda m, today: Period.year(_year(m[1], today)),
    ),
]


def _folded(text: str) -> str:
    return " ".join(fold(text).split())


def _read_period(text: str, today: date, kinds: Container[str], *, whole: bool) -> Period | None:
    folded = _folded(text)
    for kind, pattern, build in _PERIOD_FORMS:
        if kind in kinds:
            found = pattern.fullmatch(folded) if whole else pattern.search(folded)
            if found:
                return build(found, today)
    return None


_ALL_KINDS = frozenset(kind for kind, _pattern, _build in _PERIOD_FORMS)


def find_period(text: str, today: date | None = None) -> Period | None:
    """The period a sentence names ("số liệu tháng trước", "quý III năm 2025", "năm 2025",
    "từ 01/01/2026 đến 31/03/2026"), or None when it names none. Raises ValueError when it
    names one that does not exist ("tháng 13")."""
    return _read_period(text, today or datetime.now(VN_TZ).date(), _ALL_KINDS, whole=False)


def parse_period_text(text: str, today: date | None = None) -> Period:
    """A period written on its own, as a command argument ("tháng trước", "10/2026", "Q3/2026",
    "2025", "01/01/2026 - 31/03/2026"); empty text is the year to date. Raises ValueError."""
    today = today or datetime.now(VN_TZ).date()
    if not text.strip():
        return Period.year_to_date(today)
    found = _read_period(text, today, _ALL_KINDS, whole=True)
    if found is None:
        raise ValueError(f"không hiểu kỳ báo cáo: {text!r}")
    return found


def parse_period(
    from_: str | None = None,
    to: str | None = None,
    month: str | None = None,
    quarter: str | None = None,
    year: str | int | None = None,
    today: date | None = None,
) -> Period:
    given = [x for x in (month, quarter, year) if x not in (None, "")]
    if len(given) > 1 or (given and (from_ or to)):
        raise ValueError("chỉ chọn một cách chọn kỳ: --from/--to, --month, --quarter hoặc --year")
    today = today or datetime.now(VN_TZ).date()
    if month:
        found = _read_period(month, today, {"month"}, whole=True)
        if found is None:
            raise ValueError(f"tháng không hợp lệ: {month!r} (MM/YYYY hoặc YYYY-MM)")
        return found
    if quarter:
        found = _read_period(quarter, today, {"quarter"}, whole=True)
        if found is None:
            raise ValueError(f"quý không hợp lệ: {quarter!r} (ví dụ Q3/2026 hoặc 2026-Q3)")
        return found
    if year not in (None, ""):
        found = _read_period(str(year), today, {"year"}, whole=True)
        if found is None:
            raise ValueError(f"năm không hợp lệ: {year!r}")
        return found
    if from_ or to:
        start = _parse_date(from_) if from_ else date(today.year, 1, 1)
        end = _parse_date(to) if to else today
        return Period.between(start, end)
    return Period.year_to_date(today)


@dataclass(frozen=True)
class Counts:
    received: int = 0
    online: int = 0
    resolved: int = 0
    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    in_progress_overdue: int = 0
    rejected: int = 0
    withdrawn: int = 0

    @property
    def in_progress_on_time(self) -> int:
        return self.in_progress - self.in_progress_overdue


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: datetime
    totals: Counts
    group_by: str | None = None
    groups: list[tuple[str, Counts]] = field(default_factory=list)
    agency: str | None = None
    sector: str | None = None


def _aggregates(as_of: datetime) -> list[ColumnElement[int]]:
    # The result time; a resolved dossier without one counts as resolved on time (received_at
    # is always before as_of and before its due time).
    done_at = func.coalesce(Dossier.resolved_at, Dossier.returned_at, Dossier.received_at)
    resolved = and_(Dossier.status.in_([s.value for s in RESOLVED_STATUSES]), done_at < as_of)
    closed = Dossier.status.in_([s.value for s in CLOSED_WITHOUT_RESULT])

    def count_if(cond: ColumnElement[bool], name: str) -> ColumnElement[int]:
        return func.count().filter(cond).label(name)

    # In progress = received - resolved - rejected - withdrawn (computed in _counts).
    return [
        func.count().label("received"),
        count_if(Dossier.channel == Channel.ONLINE.value, "online"),
        count_if(resolved, "resolved"),
        count_if(
            and_(resolved, or_(Dossier.due_at.is_(None), done_at <= Dossier.due_at)), "on_time"
        ),
        count_if(and_(Dossier.due_at < as_of, not_(closed), not_(resolved)), "in_progress_overdue"),
        count_if(Dossier.status == DossierStatus.REJECTED.value, "rejected"),
        count_if(Dossier.status == DossierStatus.WITHDRAWN.value, "withdrawn"),
    ]


def _counts(row: object) -> Counts:
    m = row._mapping  # type: ignore[attr-defined]
    received, resolved, on_time = int(m["received"]), int(m["resolved"]), int(m["on_time"])
    rejected, withdrawn = int(m["rejected"]), int(m["withdrawn"])
    return Counts(
        received=received,
        online=int(m["online"]),
        resolved=resolved,
        on_time=on_time,
        late=resolved - on_time,
        in_progress=received - resolved - rejected - withdrawn,
        in_progress_overdue=int(m["in_progress_overdue"]),
        rejected=rejected,
        withdrawn=withdrawn,
    )


def _sum(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for c in counts:
        total = Counts(*(getattr(total, f.name) + getattr(c, f.name) for f in fields(Counts)))
    return total


def _covers_most(conn: Connection, start: datetime, end: datetime) -> bool:
    """Does [start, end) hold more than a quarter of the dossiers (judged by the time span)?"""
    # Two queries: SQLite answers a lone min() or max() from the index, not both together.
    first = conn.execute(select(func.min(Dossier.received_at))).scalar()
    last = conn.execute(select(func.max(Dossier.received_at))).scalar()
    if first is None or last is None or last <= first:
        return True
    overlap = (min(end, last) - max(start, first)).total_seconds()
    return overlap / (last - first).total_seconds() > 0.25


def compute_report(
    period: Period,
    *,
    group_by: str | None = None,
    agency: str | None = None,
    sector: str | None = None,
    as_of: datetime | None = None,
    url: str | None = None,
) -> Report:
    from trolydvc.db.base import get_engine

    if group_by is not None and group_by not in GROUP_COLUMNS:
        raise ValueError(f"chỉ nhóm theo: {', '.join(GROUP_COLUMNS)}")
    now = datetime.now(VN_TZ).replace(tzinfo=None)
    as_of = as_of or min(now, period.end_exclusive)
    start = datetime.combine(period.start, datetime.min.time())
    end = min(period.end_exclusive, as_of)
    aggregates = _aggregates(as_of)
    groups: list[tuple[str, Counts]] = []
    with get_engine(url).connect() as conn:
        received: ColumnElement[datetime] = Dossier.received_at
        group_column: ColumnElement[str | None] | None = (
            GROUP_COLUMNS[group_by] if group_by else None
        )
        if (
            conn.dialect.name == "sqlite"
            and not (agency or sector)
            and _covers_most(conn, start, end)
        ):
            # SQLite has no statistics to see that the period covers most of the table: a
            # unary "+" keeps it from walking the received_at index and fetching rows one by
            # one (a sequential or covering-index scan is 2-5 times faster over a year of 1M
            # dossiers). Grouped by agency it walks ix_dossiers_agency_stats, which covers the
            # query (no sort); by sector it sorts the rows.
            received = literal_column("+dossiers.received_at", DateTime)
            if group_by == "sector":
                group_column = literal_column("+dossiers.sector", String)
        where = [received >= start, received < end]
        if agency:
            where.append(Dossier.agency == agency)
        if sector:
            where.append(Dossier.sector == sector)
        if group_column is not None:
            # One scan: the totals are the sums over the groups (every dossier is in one group).
            rows = conn.execute(
                select(group_column.label("grp"), *aggregates)
                .where(*where)
                .group_by(group_column)
                .order_by(literal_column("received").desc(), literal_column("grp"))
            ).all()
            groups = [(row.grp or "(không rõ)", _counts(row)) for row in rows]
            totals = _sum(c for _, c in groups)
        else:
            totals = _counts(conn.execute(select(*aggregates).where(*where)).one())
    return Report(period, as_of, totals, group_by, groups, agency, sector)


def _lines(c: Counts, indent: str = "- ") -> list[str]:
    lines = [
        f"{indent}Tiếp nhận: {fmt_int(c.received)} hồ sơ, trong đó trực tuyến {fmt_int(c.online)} "
        f"({fmt_ratio(c.online, c.received)}).",
        f"{indent}Đã giải quyết và trả kết quả: {fmt_int(c.resolved)} hồ sơ, trong đó đúng hạn "
        f"và trước hạn {fmt_int(c.on_time)} ({fmt_ratio(c.on_time, c.resolved)}), trễ hạn "
        f"{fmt_int(c.late)} ({fmt_ratio(c.late, c.resolved)}).",
        f"{indent}Đang giải quyết: {fmt_int(c.in_progress)} hồ sơ, trong đó trong hạn "
        f"{fmt_int(c.in_progress_on_time)}, quá hạn {fmt_int(c.in_progress_overdue)}.",
    ]
    extra = []
    if c.rejected:
        extra.append(f"từ chối giải quyết {fmt_int(c.rejected)}")
    if c.withdrawn:
        extra.append(f"công dân rút hồ sơ {fmt_int(c.withdrawn)}")
    if extra:
        lines.append(f"{indent}Khác: " + ", ".join(extra) + ".")
    return lines


def _title(report: Report) -> str:
    scope = ""
    if report.agency:
        scope += f" — {report.agency}"
    if report.sector:
        scope += f" — lĩnh vực {report.sector}"
    return f"Tình hình tiếp nhận và giải quyết hồ sơ {report.period.label}{scope}"


def format_report(report: Report) -> str:
    lines = [_title(report) + f" (số liệu đến {fmt_date(report.as_of - timedelta(seconds=1))})"]
    if report.totals.received == 0:
        lines.append("Không có hồ sơ nào được tiếp nhận trong kỳ này.")
        return "\n".join(lines)
    lines += _lines(report.totals)
    if report.groups:
        label = "cơ quan" if report.group_by == "agency" else "lĩnh vực"
        lines.append("")
        lines.append(f"Theo {label}:")
        for name, c in report.groups:
            lines.append(
                f"• {name}: tiếp nhận {fmt_int(c.received)} (trực tuyến {fmt_int(c.online)}); "
                f"đã giải quyết {fmt_int(c.resolved)}, đúng hạn {fmt_int(c.on_time)} "
                f"({fmt_ratio(c.on_time, c.resolved)}), trễ hạn {fmt_int(c.late)} "
                f"({fmt_ratio(c.late, c.resolved)}); đang giải quyết {fmt_int(c.in_progress)} "
                f"(quá hạn {fmt_int(c.in_progress_overdue)})."
            )
    return "\n".join(lines)


def public_summary(period: Period | None = None, *, url: str | None = None) -> str:
    """Aggregate-only statistics for the public (no agency breakdown, no dossier data)."""
    period = period or Period.year_to_date()
    report = compute_report(period, url=url)
    c = report.totals
    if c.received == 0:
        return tr("Chưa có số liệu hồ sơ {period}.").format(period=period.label)
    locale = number_locale()
    return tr(
        "Số liệu giải quyết thủ tục hành chính {period}: tiếp nhận {received} hồ sơ (trực tuyến "
        "{online}); đã giải quyết {resolved}, trong đó đúng hạn {on_time} ({on_time_share}) và "
        "trễ hạn {late} ({late_share}); đang giải quyết {in_progress} hồ sơ."
    ).format(
        period=period.label,
        received=fmt_int(c.received, locale),
        online=fmt_int(c.online, locale),
        resolved=fmt_int(c.resolved, locale),
        on_time=fmt_int(c.on_time, locale),
        on_time_share=fmt_ratio(c.on_time, c.resolved, locale),
        late=fmt_int(c.late, locale),
        late_share=fmt_ratio(c.late, c.resolved, locale),
        in_progress=fmt_int(c.in_progress, locale),
    )


public_statistics_text = public_summary  # alias
