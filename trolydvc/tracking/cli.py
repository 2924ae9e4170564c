"""Command-line interface of the tracking area (registered in ``trolydvc.cli``).

- ``trolydvc dossiers import FILE [--dry-run]``: import a CSV/JSON export. Exit status 0: every
  record written; 1: nothing written (file refused, database error); 3 (``EXIT_PARTLY_WRITTEN``):
  the valid records were written, some were rejected or repeated a code (listed with their
  line numbers).
- ``trolydvc dossiers show CODE [--phone-last4 DDDD]``: the same answer the assistant gives.
- ``trolydvc dossiers unlock CODE``: lift the lock on a code's phone verification (an official
  who checked the citizen's papers).
- ``trolydvc stats [--from D --to D | --month M | --quarter Q | --year Y] [--by agency|sector]
  [--agency A] [--sector S] [--chart FILE.png]``: the one-stop-shop report (default: year to date).
- ``trolydvc demo-data [--count N] [--if-empty]``: fill the database with seeded demo dossiers
  (``--if-empty``: only when it has no dossier yet, for ``make run``).
- ``trolydvc db upgrade`` / ``trolydvc db current``: Alembic migrations.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# `dossiers import`: the valid records were written, others were rejected or repeated a code.
# (1 is click's "nothing done" for a refused file or a database error, 2 its usage error.)
EXIT_PARTLY_WRITTEN = 3


def _friendly_errors(func: F) -> F:
    """Turn expected failures (bad input, database unavailable) into one-line messages."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        from trolydvc.db.base import DatabaseNotReady
        from trolydvc.tracking.importer import ImportFormatError

        try:
            return func(*args, **kwargs)
        except (ImportFormatError, DatabaseNotReady) as exc:
            raise click.ClickException(str(exc)) from None
        except ValueError as exc:
            raise click.ClickException(f"Giá trị không hợp lệ: {exc}") from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise click.ClickException(f"Không kết nối được cơ sở dữ liệu: {reason}") from None
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"Lỗi cơ sở dữ liệu ({type(exc).__name__}); dữ liệu không bị thay đổi."
            ) from None

    return wrapper  # type: ignore[return-value]


@click.group()
def dossiers() -> None:
    """Hồ sơ: nhập dữ liệu từ phần mềm một cửa và tra cứu tình trạng."""


@dossiers.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra, không ghi vào cơ sở dữ liệu.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Thanh tiến trình (mặc định: với tệp lớn, khi chạy trong terminal).",
)
@click.option("--max-errors", default=50, show_default=True, help="Số lỗi in ra tối đa.")
@_friendly_errors
def import_cmd(file: Path, dry_run: bool, progress: bool | None, max_errors: int) -> None:
    """Nhập hồ sơ từ FILE (CSV chuẩn hoặc JSON kiểu iGate); nhập lại nhiều lần vẫn an toàn.

    \b
    Mã thoát:
      0  mọi bản ghi đã được ghi;
      1  không ghi gì (tệp bị từ chối, hoặc lỗi cơ sở dữ liệu);
      3  ghi một phần: các bản ghi hợp lệ đã được ghi (với --dry-run: sẽ được ghi), một số bản
         ghi bị từ chối hoặc có mã hồ sơ lặp lại (in ra kèm số dòng).
    """
    from trolydvc.tracking.importer import import_file

    if progress is None:
        progress = sys.stderr.isatty() and file.is_file() and file.stat().st_size > 2_000_000
    result = import_file(file, dry_run=dry_run, progress=progress)
    click.echo(result.summary())
    # Rejected records and repeated codes, in file order.
    listed = heapq.merge(result.errors, result.repeated, key=lambda e: e.line)
    for error in itertools.islice(listed, max_errors):
        click.echo(f"  {error}", err=True)
    more = len(result.errors) + len(result.repeated) - max_errors
    if more > 0:
        click.echo(f"  ... và {more} dòng khác.", err=True)
    if not result.complete:
        sys.exit(EXIT_PARTLY_WRITTEN)


@dossiers.command("show")
@click.argument("code")
@click.option("--phone-last4", help="4 số cuối điện thoại đã đăng ký (để xem chi tiết).")
@_friendly_errors
def show_cmd(code: str, phone_last4: str | None) -> None:
    """Tra cứu tình trạng hồ sơ theo mã CODE."""
    from trolydvc.tracking.lookup import lookup

    result = lookup(code, sender_id="cli", phone_last4=phone_last4)
    click.echo(result.text)
    if result.kind in ("malformed", "not_found", "rate_limited", "locked", "paused"):
        sys.exit(1)


@dossiers.command("unlock")
@click.argument("code")
@_friendly_errors
def unlock_cmd(code: str) -> None:
    """Mở khóa xác minh số điện thoại của hồ sơ CODE (sau khi cán bộ đã kiểm tra giấy tờ)."""
    from trolydvc.tracking.lookup import normalize_code
    from trolydvc.tracking.lookup_guard import default_guard

    canonical = normalize_code(code)
    if canonical is None:
        raise click.ClickException(f"Mã hồ sơ chưa đúng định dạng: {code}")
    default_guard().unlock(canonical)
    click.echo(f"Đã mở khóa xác minh hồ sơ {canonical}.")


@click.command("stats")
@click.option("--from", "from_", metavar="DATE", help="Từ ngày (DD/MM/YYYY hoặc YYYY-MM-DD).")
@click.option("--to", metavar="DATE", help="Đến ngày.")
@click.option("--month", metavar="MM/YYYY", help="Một tháng.")
@click.option("--quarter", metavar="Qn/YYYY", help="Một quý.")
@click.option("--year", metavar="YYYY", help="Cả năm.")
@click.option("--by", type=click.Choice(["agency", "sector"]), help="Chia theo cơ quan/lĩnh vực.")
@click.option("--agency", help="Chỉ một cơ quan (đúng tên như trong dữ liệu).")
@click.option("--sector", help="Chỉ một lĩnh vực.")
@click.option("--chart", type=click.Path(path_type=Path), help="Ghi biểu đồ PNG vào tệp này.")
@click.option("--public", is_flag=True, help="Chỉ số liệu tổng hợp, như trả lời công khai.")
@_friendly_errors
def stats(
    from_: str | None,
    to: str | None,
    month: str | None,
    quarter: str | None,
    year: str | None,
    by: str | None,
    agency: str | None,
    sector: str | None,
    chart: Path | None,
    public: bool,
) -> None:
    """Thống kê tiếp nhận và giải quyết hồ sơ (mặc định: từ đầu năm đến nay)."""
    from trolydvc.tracking.stats import (
        compute_report,
        format_report,
        parse_period,
        public_summary,
    )

    period = parse_period(from_, to, month, quarter, year)
    if public:
        click.echo(public_summary(period))
        return
    report = compute_report(period, group_by=by, agency=agency, sector=sector)
    click.echo(format_report(report))
    if chart is not None:
        from trolydvc.tracking.chart import render_chart

        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_bytes(render_chart(report))
        click.echo(f"Đã ghi biểu đồ: {chart}")


@click.command("demo-data")
@click.option("--count", default=3800, show_default=True, help="Số hồ sơ mẫu.")
@click.option("--seed", default=None, type=int, help="Hạt giống ngẫu nhiên (mặc định cố định).")
@click.option("--today", metavar="YYYY-MM-DD", help="Ngày làm mốc (mặc định: hôm nay).")
@click.option(
    "--if-empty", is_flag=True, help="Chỉ nạp khi cơ sở dữ liệu chưa có hồ sơ nào (cho make run)."
)
@_friendly_errors
def demo_data(count: int, seed: int | None, today: str | None, if_empty: bool) -> None:
    """Nạp hồ sơ mẫu (thay cho hồ sơ mẫu cũ) để thử tra cứu và thống kê."""
    from trolydvc.formatting import fmt_int
    from trolydvc.tracking.demo import SEED, SHOWCASE_PHONE_LAST4, load_demo_data

    if count < 0 or count > 2_000_000:
        raise click.BadParameter("từ 0 đến 2.000.000", param_hint="--count")
    if if_empty:
        from sqlalchemy import func, select

        from trolydvc.db.base import session_scope
        from trolydvc.db.models import Dossier

        with session_scope() as session:
            existing = session.scalar(select(func.count()).select_from(Dossier))
        if existing:
            click.echo(f"Cơ sở dữ liệu đã có {fmt_int(existing)} hồ sơ; không nạp dữ liệu mẫu.")
            return
    anchor: date | None = None
    if today:
        try:
            anchor = datetime.strptime(today, "%Y-%m-%d").date()
        except ValueError:
            raise click.BadParameter("dạng YYYY-MM-DD", param_hint="--today") from None
    try:
        result = load_demo_data(count, today=anchor, seed=SEED if seed is None else seed)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Đã nạp {fmt_int(result.imported)} hồ sơ mẫu (xóa {fmt_int(result.removed)} hồ sơ mẫu "
        f"cũ, lỗi {fmt_int(result.errors)})."
    )
    click.echo(f"Mã hồ sơ để thử (4 số cuối điện thoại: {SHOWCASE_PHONE_LAST4}):")
    for code in result.showcase:
        click.echo(f"  {code}")
    if result.in_progress_examples:
        click.echo("Hồ sơ đang giải quyết trong hạn (thay đổi theo ngày nạp):")
        for code in result.in_progress_examples:
            click.echo(f"  {code}")


@click.group()
def db() -> None:
    """Cơ sở dữ liệu: nâng cấp lược đồ (Alembic)."""


@db.command("upgrade")
@_friendly_errors
def db_upgrade() -> None:
    """Nâng cấp cơ sở dữ liệu lên phiên bản mới nhất."""
    from trolydvc.config import database_url
    from trolydvc.db.migrate import upgrade

    before, after = upgrade()
    url = _safe_url(database_url())
    if before == after:
        click.echo(f"{url}: đã ở phiên bản mới nhất ({after}).")
    else:
        click.echo(f"{url}: {before or 'trống'} → {after}.")


@db.command("current")
@_friendly_errors
def db_current() -> None:
    """In phiên bản lược đồ hiện tại và phiên bản mới nhất."""
    from trolydvc.config import database_url
    from trolydvc.db.migrate import current_revision, head_revision

    current, head = current_revision(), head_revision()
    state = "mới nhất" if current == head else "cần chạy: trolydvc db upgrade"
    click.echo(f"{_safe_url(database_url())}: {current or 'trống'} (mới nhất: {head}; {state})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
