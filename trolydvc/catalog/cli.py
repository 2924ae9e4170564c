"""`trolydvc catalog ...`: import the national export, validate, search, show."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("catalog")
def catalog() -> None:
    """Procedures catalog: import, validate, search."""


def _catalog_dir(value: Path | None) -> Path:
    from trolydvc import config

    return Path(value or config.CATALOG_DIR)


@catalog.command("import")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--catalog-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Target catalog directory (default: procedures_catalog/).",
)
@click.option("--dry-run", is_flag=True, help="Only report problems and the diff; write nothing.")
@click.option(
    "--all-levels",
    is_flag=True,
    help="Keep every procedure, not only those done at Cấp xã / Cấp tỉnh.",
)
@click.option("--source-date", default=None, help="Publication month YYYY-MM (default 2026-07).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary and the diff summary.")
@click.option(
    "--force", is_flag=True, help="Overwrite even if some current catalog files are unreadable."
)
@click.option("--details", is_flag=True, help="Show old -> new values of changed fields.")
def import_cmd(
    path: Path | None,
    catalog_dir: Path | None,
    dry_run: bool,
    all_levels: bool,
    source_date: str | None,
    quiet: bool,
    force: bool,
    details: bool,
) -> None:
    """Parse the national export PATH (JSON lines) into the YAML catalog.

    Reports bad lines (with line numbers) and, per procedure, what could not be parsed; shows
    what changes against the current catalog (added / removed / changed fields), then writes
    the whole catalog atomically (unless --dry-run). Curated aliases are kept.
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
        raise click.ClickException(f"export file not found: {src}")
    root = _catalog_dir(catalog_dir)
    try:
        result = read_export(
            src, levels=None if all_levels else LOCAL_LEVELS, source_date=source_date or SOURCE_DATE
        )
    except (OSError, UnicodeError) as exc:
        raise click.ClickException(f"cannot read {src}: {exc}") from exc
    for err in result.line_errors:
        click.echo(f"{src.name}:{err.line}: {err.message}", err=True)
    if not quiet:
        for code, problems in sorted(result.problems.items()):
            for problem in problems:
                click.echo(f"{code}: {problem}")
    click.echo(
        f"Read {result.lines} lines: {len(result.procedures)} procedures imported, "
        f"{result.skipped_levels} skipped (other levels), {len(result.line_errors)} line "
        f"problem(s), {len(result.problems)} procedure(s) partly unparsed."
    )
    if not result.procedures:
        raise click.ClickException("nothing to import; the catalog was left unchanged")
    old, old_errors = load_dir(root) if root.is_dir() else ([], [])
    for err in old_errors:
        click.echo(f"current catalog: {err}", err=True)
    if old_errors and not dry_run and not force:
        # their curated aliases could not be carried over: do not overwrite them silently
        raise click.ClickException(
            f"{len(old_errors)} unreadable file(s) in {root}; fix them (trolydvc catalog "
            "validate) or re-run with --force to overwrite them; nothing was written"
        )
    new = keep_aliases(result.procedures, old)
    diff = diff_catalogs(old, new)
    names = {p.code: p.name for p in [*old, *new]}
    if diff.empty:
        click.echo("No change against the current catalog.")
    else:
        if not quiet or dry_run:
            for line in diff.lines(names, details=details):
                click.echo(line)
        click.echo(f"Diff: {diff.summary()}.")
    lost = sorted(p.code for p in old if p.aliases and p.code in diff.removed)
    if lost:
        click.echo(
            f"warning: curated aliases of removed procedures dropped: {', '.join(lost)}", err=True
        )
    if dry_run:
        click.echo("Dry run: nothing written.")
        return
    try:
        count = write_catalog(root, new)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"catalog not written ({exc}); the old one is intact") from exc
    clear_cache()
    click.echo(f"Wrote {count} files to {root}.")


@catalog.command("validate")
@click.option("--catalog-dir", type=click.Path(path_type=Path), default=None, help="Catalog dir.")
def validate_cmd(catalog_dir: Path | None) -> None:
    """Check schema, duplicate codes, aliases claimed twice and broken links (no network)."""
    from trolydvc.catalog.validate import validate_catalog

    root = _catalog_dir(catalog_dir)
    count, issues = validate_catalog(root)
    for issue in issues:
        click.echo(str(issue))
    if issues:
        raise click.ClickException(f"{len(issues)} problem(s) in {count} procedures")
    click.echo(f"OK: {count} procedures, no problems.")


@catalog.command("search")
@click.argument("text", nargs=-1, required=True)
@click.option("-n", "--limit", default=5, show_default=True, help="Number of matches.")
@click.option("--catalog-dir", type=click.Path(path_type=Path), default=None, help="Catalog dir.")
@click.option("--scores", is_flag=True, help="Also print each match's score.")
def search_cmd(text: tuple[str, ...], limit: int, catalog_dir: Path | None, scores: bool) -> None:
    """Print the procedures matching TEXT, best first: code, name."""
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
@click.option("--catalog-dir", type=click.Path(path_type=Path), default=None, help="Catalog dir.")
def show_cmd(code: str, catalog_dir: Path | None) -> None:
    """Print the YAML of one procedure."""
    from trolydvc.catalog import CatalogError, load_catalog
    from trolydvc.catalog.store import dump_procedure

    try:
        cat = load_catalog(catalog_dir)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    proc = cat.get(code) or cat.resolve(code)
    if proc is None:
        raise click.ClickException(f"no procedure {code!r}")
    click.echo(dump_procedure(proc), nl=False)
