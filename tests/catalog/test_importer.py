"""Importer: bad lines with line numbers, atomic writes, diffs, curated aliases kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trolydvc.catalog import clear_cache, load_catalog
from trolydvc.catalog.cli import catalog as catalog_cli
from trolydvc.catalog.importer import LOCAL_LEVELS, diff_catalogs, keep_aliases, read_export
from trolydvc.catalog.store import load_dir, load_procedure_file, write_catalog

CODES = ["1.001193", "2.000815", "1.004873", "1.000894"]


@pytest.fixture
def export(tmp_path: Path, raw_lines) -> Path:
    """A small export: 4 real records plus bad lines at known line numbers."""
    lines = [raw_lines(c).rstrip("\n") for c in CODES]
    truncated = lines[3][: len(lines[3]) // 2]
    no_code = json.loads(lines[1])
    no_code["ma_thu_tuc"] = ""
    unknown = json.loads(lines[2])
    unknown["truong_moi"] = "x"
    bulk = [
        lines[0],  # 1 ok
        truncated,  # 2 truncated JSON
        json.dumps(no_code, ensure_ascii=False),  # 3 no code
        "[1, 2, 3]",  # 4 not an object
        lines[1],  # 5 ok
        json.dumps(unknown, ensure_ascii=False),  # 6 unknown field: imported, reported
        lines[0],  # 7 duplicate code
        lines[3],  # 8 ok
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(bulk) + "\n", encoding="utf-8")
    return path


def test_bad_lines_reported_with_line_numbers_rest_imported(export: Path):
    result = read_export(export)
    assert sorted(p.code for p in result.procedures) == sorted(CODES)
    errors = {e.line: e.message for e in result.line_errors}
    assert errors[2].startswith("malformed JSON")
    assert errors[3] == "procedure without a code"
    assert errors[4] == "not a JSON object"
    assert "unknown field(s) ignored: truong_moi" in errors[6]
    assert errors[7] == "duplicate code 1.001193 (first on line 1)"
    assert set(errors) == {2, 3, 4, 6, 7}


def test_level_filter(tmp_path: Path, raw_lines):
    path = tmp_path / "e.jsonl"
    # 1.000178 is done at Cấp bộ only
    path.write_text(raw_lines("1.000178") + raw_lines("1.001193"), encoding="utf-8")
    assert [p.code for p in read_export(path, levels=LOCAL_LEVELS).procedures] == ["1.001193"]
    assert read_export(path, levels=LOCAL_LEVELS).skipped_levels == 1
    # every level by default, the level stored
    every = {p.code: p.levels for p in read_export(path).procedures}
    assert every == {"1.000178": ["Cấp bộ"], "1.001193": ["Cấp xã"]}


def test_import_cli_writes_yaml_by_field(export: Path, tmp_path: Path, isolated_var):
    out = tmp_path / "cat"
    res = CliRunner().invoke(catalog_cli, ["import", str(export), "--catalog-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "export.jsonl:2: malformed JSON" in res.output
    assert "Đã ghi 4 tệp" in res.output
    path = out / "ho-tich" / "1.001193.yml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("code: '1.001193'\nname: Thủ tục đăng ký khai sinh\nfield: Hộ tịch\n")
    assert load_procedure_file(path).code == "1.001193"
    assert (out / "chung-thuc" / "2.000815.yml").is_file()
    # key order is the schema order (stable diffs)
    keys = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert keys[:6] == ["code", "name", "field", "levels", "agencies", "competent_authority"]


def test_reimport_shows_diff_keeps_aliases_and_dry_run_writes_nothing(
    export: Path, tmp_path: Path, raw_lines, isolated_var
):
    out = tmp_path / "cat"
    runner = CliRunner()
    assert (
        runner.invoke(catalog_cli, ["import", str(export), "--catalog-dir", str(out)]).exit_code
        == 0
    )
    # curate an alias, as an editor would
    path = out / "ho-tich" / "1.001193.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("aliases: []", "aliases:\n- làm giấy khai sinh"),
        encoding="utf-8",
    )
    # a newer export: one procedure removed, one added, one changed
    newer = tmp_path / "newer.jsonl"
    changed = json.loads(raw_lines("1.001193"))
    changed["ten_thu_tuc"] = "Thủ tục đăng ký khai sinh (sửa đổi)"
    newer.write_text(
        "\n".join(
            [
                json.dumps(changed, ensure_ascii=False),
                raw_lines("2.000815").rstrip("\n"),
                raw_lines("1.004873").rstrip("\n"),
                raw_lines("1.004222").rstrip("\n"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    before = {p: p.read_bytes() for p in out.rglob("*.yml")}
    res = runner.invoke(
        catalog_cli, ["import", str(newer), "--catalog-dir", str(out), "--dry-run", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert "+ 1.004222" in res.output
    assert "- 1.000894" in res.output
    assert "~ 1.001193  name" in res.output
    assert "Thay đổi: thêm 1, bỏ 1, sửa 1." in res.output
    assert {p: p.read_bytes() for p in out.rglob("*.yml")} == before  # dry run
    res = runner.invoke(
        catalog_cli,
        ["import", str(newer), "--catalog-dir", str(out), "--dry-run", "--details", "-q"],
    )
    assert (
        '    name: "Thủ tục đăng ký khai sinh" -> "Thủ tục đăng ký khai sinh (sửa đổi)"'
        in res.output
    )

    res = runner.invoke(catalog_cli, ["import", str(newer), "--catalog-dir", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "Thay đổi: thêm 1, bỏ 1, sửa 1." in res.output
    proc = load_procedure_file(out / "ho-tich" / "1.001193.yml")
    assert proc.name.endswith("(sửa đổi)")
    assert proc.aliases == ["làm giấy khai sinh"]  # curated alias kept
    assert not (out / "ho-tich" / "1.000894.yml").exists()


def test_failed_write_leaves_old_catalog_intact(tmp_path: Path, export: Path, monkeypatch):
    out = tmp_path / "cat"
    procs = read_export(export).procedures
    write_catalog(out, procs)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    from trolydvc.catalog import store

    calls = {"n": 0}
    real = store.dump_procedure

    def failing_dump(proc):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(proc)

    monkeypatch.setattr(store, "dump_procedure", failing_dump)
    with pytest.raises(OSError):
        write_catalog(out, procs)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cat-")]  # no temp left


def test_missing_export_is_a_clear_error(tmp_path: Path):
    res = CliRunner().invoke(catalog_cli, ["import", str(tmp_path / "nope.jsonl")])
    assert res.exit_code != 0
    assert "Không tìm thấy tệp xuất dữ liệu" in res.output
    assert "Traceback" not in res.output


def test_diff_and_keep_aliases_functions(export: Path):
    procs = read_export(export).procedures
    old = [p.model_copy(update={"aliases": ["x"]}) if p.code == "1.001193" else p for p in procs]
    kept = keep_aliases(procs, old)
    assert next(p for p in kept if p.code == "1.001193").aliases == ["x"]
    assert diff_catalogs(old, kept).empty


def test_loaded_catalog_uses_cache_and_sees_edits(tmp_path: Path, export: Path, isolated_var):
    out = tmp_path / "cat"
    write_catalog(out, read_export(export).procedures)
    clear_cache()
    cat = load_catalog(out)
    assert len(cat) == 4 and cat.get("1.001193").name == "Thủ tục đăng ký khai sinh"
    assert any(isolated_var.rglob("catalog-*.bin"))
    path = out / "ho-tich" / "1.001193.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("aliases: []", "aliases:\n- giấy khai sinh"),
        encoding="utf-8",
    )
    clear_cache()
    cat = load_catalog(out)
    assert cat.get("1.001193").aliases == ["giấy khai sinh"]  # cache invalidated
    assert load_dir(out)[0][0].code in cat
    clear_cache()


def test_unreadable_current_file_blocks_overwrite(export: Path, tmp_path: Path, isolated_var):
    out = tmp_path / "cat"
    runner = CliRunner()
    assert (
        runner.invoke(catalog_cli, ["import", str(export), "--catalog-dir", str(out)]).exit_code
        == 0
    )
    broken = out / "ho-tich" / "1.001193.yml"
    broken.write_text("code: '1.001193'\naliases: [unclosed\n", encoding="utf-8")
    res = runner.invoke(catalog_cli, ["import", str(export), "--catalog-dir", str(out), "-q"])
    assert res.exit_code == 1
    assert "tệp không đọc được" in res.output and "Chưa ghi gì" in res.output
    assert broken.read_text(encoding="utf-8").endswith("[unclosed\n")  # left for the editor
    res = runner.invoke(
        catalog_cli, ["import", str(export), "--catalog-dir", str(out), "-q", "--force"]
    )
    assert res.exit_code == 0
    assert load_procedure_file(broken).code == "1.001193"


def test_import_reports_per_procedure_what_it_could_not_parse(
    tmp_path: Path, raw_lines, isolated_var
):
    path = tmp_path / "e.jsonl"
    # 1.006429: "Trực tuyến120 VNĐ" (time and fee glued, no note to split them)
    path.write_text(raw_lines("1.006429") + raw_lines("1.001193"), encoding="utf-8")
    out = tmp_path / "cat"
    res = CliRunner().invoke(
        catalog_cli, ["import", str(path), "--catalog-dir", str(out), "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert "1.006429: Trực tuyến: time and fee run together in '120 VNĐ'" in res.output
    assert "1 thủ tục có phần không phân tích được" in res.output
    assert not out.exists()
