"""`trolydvc catalog ...`: import the national export, validate, search, show."""

from __future__ import annotations

from pathlib import Path

import click

# --catalog-dir of the commands that read the catalog
_catalog_dir_option = click.option(
    "--catalog-dir", type=click.Path(path_type=Path), default=None, help="Thư mục danh mục."
)


@click.group("catalog")
def catalog() -> None:
    """Danh mục thủ tục: nhập, kiểm tra, tra cứu."""


def _catalog_dir(value: Path | None) -> Path:
    from trolydvc import config

    return Path(value or config.CATALOG_DIR)


@catalog.command("import")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--catalog-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Thư mục ghi danh mục (mặc định: procedures_catalog/).",
)
@click.option("--dry-run", is_flag=True, help="Chỉ báo lỗi và các thay đổi; không ghi gì.")
@click.option(
    "--local-only",
    is_flag=True,
    help="Chỉ giữ thủ tục thực hiện ở Cấp xã / Cấp tỉnh (mặc định: mọi cấp, cả Cấp bộ).",
)
@click.option("--source-date", default=None, help="Tháng công bố YYYY-MM (mặc định: 2026-07).")
@click.option("--quiet", "-q", is_flag=True, help="Chỉ in phần tóm tắt và số thay đổi.")
@click.option(
    "--force", is_flag=True, help="Vẫn ghi đè dù một số tệp danh mục hiện có không đọc được."
)
@click.option("--details", is_flag=True, help="Hiện giá trị cũ -> mới của các trường thay đổi.")
def import_cmd(
    path: Path | None,
    catalog_dir: Path | None,
    dry_run: bool,
    local_only: bool,
    source_date: str | None,
    quiet: bool,
    force: bool,
    details: bool,
) -> None:
    """Nhập tệp xuất dữ liệu quốc gia PATH (JSON lines) vào danh mục YAML.

    Báo các dòng lỗi (kèm số dòng) và, với từng thủ tục, phần không phân tích được; cho biết các
    thay đổi so với danh mục hiện tại (thủ tục thêm / bỏ / trường sửa), rồi ghi toàn bộ danh mục
    trong một lần, không để dở dang (trừ khi có --dry-run). Tên gọi khác đã biên tập được giữ lại.
    """
    from trolydvc import config
    from trolydvc.catalog import clear_cache
    from trolydvc.catalog.importer import (
        LOCAL_LEVELS,
        SOURCE_DATE,
        diff_catalogs,
        keep_aliases,
        read_export,
    )
    from trolydvc.catalog.store import load_dir, write_catalog

    src = Path(path or config.NATIONAL_EXPORT)
    if not src.is_file():
        raise click.ClickException(f"Không tìm thấy tệp xuất dữ liệu: {src}")
    root = _catalog_dir(catalog_dir)
    try:
        result = read_export(
            src, levels=LOCAL_LEVELS if local_only else None, source_date=source_date or SOURCE_DATE
        )
    except (OSError, UnicodeError) as exc:
        raise click.ClickException(f"Không đọc được {src}: {exc}") from exc
    for err in result.line_errors:
        click.echo(f"{src.name}:{err.line}: {err.message}", err=True)
    if not quiet:
        for code, problems in sorted(result.problems.items()):
            for problem in problems:
                click.echo(f"{code}: {problem}")
    click.echo(
        f"Đã đọc {result.lines} dòng: nhập {len(result.procedures)} thủ tục, bỏ qua "
        f"{result.skipped_levels} (cấp khác), {len(result.line_errors)} dòng lỗi, "
        f"{len(result.problems)} thủ tục có phần không phân tích được."
    )
    if not result.procedures:
        raise click.ClickException("Không có thủ tục nào để nhập; danh mục giữ nguyên.")
    old, old_errors = load_dir(root) if root.is_dir() else ([], [])
    for err in old_errors:
        click.echo(f"Danh mục hiện tại: {err}", err=True)
    if old_errors and not dry_run and not force:
        # their curated aliases could not be carried over: do not overwrite them silently
        raise click.ClickException(
            f"Có {len(old_errors)} tệp không đọc được trong {root}; hãy sửa các tệp đó (trolydvc "
            "catalog validate) hoặc chạy lại với --force để ghi đè. Chưa ghi gì."
        )
    new = keep_aliases(result.procedures, old)
    diff = diff_catalogs(old, new)
    names = {p.code: p.name for p in [*old, *new]}
    if diff.empty:
        click.echo("Không có thay đổi so với danh mục hiện tại.")
    else:
        if not quiet or dry_run:
            for line in diff.lines(names, details=details):
                click.echo(line)
        click.echo(f"Thay đổi: {diff.summary()}.")
    lost = sorted(p.code for p in old if (p.aliases or p.checklist) and p.code in diff.removed)
    if lost:
        click.echo(
            "Cảnh báo: bỏ tên gọi khác và danh sách giấy tờ đã biên tập của các thủ tục bị loại: "
            + ", ".join(lost),
            err=True,
        )
    if dry_run:
        click.echo("Chạy thử (--dry-run): chưa ghi gì.")
        return
    try:
        count = write_catalog(root, new)
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"Chưa ghi được danh mục ({exc}); danh mục cũ vẫn nguyên vẹn."
        ) from exc
    clear_cache()
    click.echo(f"Đã ghi {count} tệp vào {root}.")


@catalog.command("validate")
@_catalog_dir_option
def validate_cmd(catalog_dir: Path | None) -> None:
    """Kiểm tra cấu trúc, mã trùng, tên gọi khác bị dùng hai lần và liên kết hỏng (không cần mạng)."""
    from trolydvc.catalog.validate import validate_catalog

    root = _catalog_dir(catalog_dir)
    count, issues = validate_catalog(root)
    for issue in issues:
        click.echo(str(issue))
    if issues:
        raise click.ClickException(f"Có {len(issues)} lỗi trong {count} thủ tục.")
    click.echo(f"Hợp lệ: {count} thủ tục, không có lỗi.")


@catalog.command("search")
@click.argument("text", nargs=-1, required=True)
@click.option("-n", "--limit", default=5, show_default=True, help="Số kết quả.")
@_catalog_dir_option
@click.option("--scores", is_flag=True, help="In thêm điểm phù hợp của từng kết quả.")
def search_cmd(text: tuple[str, ...], limit: int, catalog_dir: Path | None, scores: bool) -> None:
    """In các thủ tục khớp với TEXT (mã, tên), phù hợp nhất trước."""
    from trolydvc.catalog import CatalogError, load_catalog

    query = " ".join(text)
    try:
        cat = load_catalog(catalog_dir)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    hits = cat.search(query, limit=limit)
    if not hits:
        click.echo("Không tìm thấy thủ tục phù hợp.", err=True)
        raise SystemExit(1)
    for hit in hits:
        line = f"{hit.procedure.code}\t{hit.procedure.name}"
        if scores:
            line += f"\t{hit.score:.3f}"
        click.echo(line)


@catalog.command("show")
@click.argument("code")
@_catalog_dir_option
def show_cmd(code: str, catalog_dir: Path | None) -> None:
    """In nội dung YAML của thủ tục CODE (mã hoặc tên gọi)."""
    from trolydvc.catalog import CatalogError, load_catalog
    from trolydvc.catalog.store import dump_procedure

    try:
        cat = load_catalog(catalog_dir)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    proc = cat.get(code) or cat.resolve(code)
    if proc is None:
        raise click.ClickException(f"Không tìm thấy thủ tục {code!r}.")
    click.echo(dump_procedure(proc), nl=False)
