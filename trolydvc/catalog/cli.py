"""`trolydvc catalog ...`: import the national export, validate, search."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("catalog")
def catalog() -> None:
    """Procedures catalog: import, validate, search."""


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
