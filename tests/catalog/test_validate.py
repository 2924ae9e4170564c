"""`trolydvc catalog validate`: schema, duplicates, aliases claimed twice, broken links."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from trolydvc.catalog.cli import catalog as catalog_cli
from trolydvc.catalog.schema import Document, OnlineInfo, Procedure
from trolydvc.catalog.store import dump_procedure, write_catalog
from trolydvc.catalog.validate import validate_catalog


def proc(code: str, name: str, **kw) -> Procedure:
    kw.setdefault("source_url", f"https://dichvucong.gov.vn/p/{code}")
    return Procedure(code=code, name=name, field="Hộ tịch", **kw)


def messages(root: Path) -> list[str]:
    return [str(i) for i in validate_catalog(root)[1]]


def test_clean_catalog_passes(tmp_path: Path):
    write_catalog(tmp_path / "c", [proc("1.000001", "A", aliases=["a1"]), proc("1.000002", "B")])
    assert validate_catalog(tmp_path / "c") == (2, [])


def test_alias_claimed_by_two_procedures(tmp_path: Path):
    root = tmp_path / "c"
    write_catalog(
        root,
        [proc("1.000001", "A", aliases=["Làm giấy"]), proc("1.000002", "B", aliases=["lam giay"])],
    )
    assert any("'lam giay' claimed by 1.000001, 1.000002" in m for m in messages(root))


def test_alias_equal_to_another_name(tmp_path: Path):
    root = tmp_path / "c"
    write_catalog(
        root, [proc("1.000001", "Đăng ký A", aliases=["dang ky b"]), proc("1.000002", "Đăng ký B")]
    )
    assert any("is the name of 1.000002" in m for m in messages(root))


def test_duplicate_code_schema_error_and_wrong_place(tmp_path: Path):
    root = tmp_path / "c"
    write_catalog(root, [proc("1.000001", "A")])
    other = root / "khac"
    other.mkdir()
    (other / "1.000001.yml").write_text(dump_procedure(proc("1.000001", "A2")), encoding="utf-8")
    (other / "1.000009.yml").write_text(
        "code: '1.000009'\nname: X\nunknown_key: 1\n", encoding="utf-8"
    )
    (other / "1.000010.yml").write_text("code: [unclosed\n", encoding="utf-8")
    msgs = messages(root)
    assert any("duplicate code in" in m for m in msgs)
    assert any(m.startswith("khac/1.000001.yml: should be in folder ho-tich/") for m in msgs)
    assert any(m.startswith("khac/1.000009.yml: unknown_key") for m in msgs)
    assert any(m.startswith("khac/1.000010.yml: ") for m in msgs)


def test_broken_links(tmp_path: Path):
    root = tmp_path / "c"
    bad = proc(
        "1.000001",
        "A",
        source_url="https://dichvucong gov/x",
        online=OnlineInfo(availability="full", submit_url="htps:/broken"),
        documents=[
            Document(name="Tờ khai", form_url="forms/to-khai.docx"),
            Document(name="Đơn", form_url="forms/don.docx"),
        ],
    )
    write_catalog(root, [bad])
    (root / "forms").mkdir()
    (root / "forms" / "don.docx").write_bytes(b"x")
    msgs = messages(root)
    assert any("source_url: malformed URL" in m for m in msgs)
    assert any("online.submit_url: malformed URL" in m for m in msgs)
    assert any("documents[0].form_url: missing file 'forms/to-khai.docx'" in m for m in msgs)
    assert not any("documents[1]" in m for m in msgs)


def test_validate_cli_exit_codes(tmp_path: Path):
    root = tmp_path / "c"
    write_catalog(root, [proc("1.000001", "A")])
    runner = CliRunner()
    ok = runner.invoke(catalog_cli, ["validate", "--catalog-dir", str(root)])
    assert ok.exit_code == 0 and "Hợp lệ: 1 thủ tục" in ok.output
    write_catalog(
        root, [proc("1.000001", "A", aliases=["x"]), proc("1.000002", "B", aliases=["x"])]
    )
    bad = runner.invoke(catalog_cli, ["validate", "--catalog-dir", str(root)])
    assert bad.exit_code == 1 and "claimed by" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(catalog_cli, ["validate", "--catalog-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "catalog directory not found" in missing.output


def test_shipped_catalog_is_valid(shipped):
    count, issues = validate_catalog(shipped.root)
    assert issues == []
    assert count == len(shipped)
