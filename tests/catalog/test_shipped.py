"""The shipped catalog: coverage of the export, curated aliases, API used by other areas."""

from __future__ import annotations

import json

from trolydvc import config
from trolydvc.catalog import Procedure, load_catalog
from trolydvc.catalog.search import index_text


def test_every_procedure_of_the_export_is_shipped_with_its_levels(shipped):
    levels: dict[str, list[str]] = {}
    with config.NATIONAL_EXPORT.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            levels[rec["ma_thu_tuc"]] = [x.strip() for x in rec["cap_thuc_hien"].split(",")]
    assert len(levels) == 2642
    assert set(shipped.codes()) == set(levels)
    for entry in shipped.entries:
        assert entry.levels == levels[entry.code], entry.code
    central = [e for e in shipped.entries if not {"Cấp xã", "Cấp tỉnh"} & set(e.levels)]
    assert len(central) > 1000  # Cấp bộ / Cơ quan khác only


def test_levels_and_sources(shipped):
    allowed = {"Cấp bộ", "Cấp tỉnh", "Cấp xã", "Cơ quan khác"}
    for entry in shipped.entries:
        assert entry.levels and set(entry.levels) <= allowed, entry.code


def test_curated_aliases_for_at_least_60_procedures(shipped):
    with_aliases = [e for e in shipped.entries if e.aliases]
    assert len(with_aliases) >= 60
    for code, alias in [
        ("1.001193", "làm giấy khai sinh"),
        ("1.004873", "giấy xác nhận độc thân"),
        ("2.000815", "photo công chứng"),
        ("1.013978", "làm sổ đỏ"),
        ("1.001612", "mở hộ kinh doanh"),
        ("1.013225", "xin phép xây nhà"),
        ("1.004222", "nhập hộ khẩu"),
        ("1.014061", "làm căn cước"),
        ("1.000656", "khai tử"),
    ]:
        assert alias in shipped.get(code).aliases
    # no alias merely repeats its own name
    for e in with_aliases:
        assert index_text(e.name) not in {index_text(a) for a in e.aliases}


def test_api_shape(shipped):
    assert load_catalog() is shipped  # cached per path
    assert len(shipped) == len(shipped.codes()) >= 1500
    proc = shipped.get("1.001193")
    assert isinstance(proc, Procedure)
    assert shipped.get("9.999999") is None
    assert "1.001193" in shipped
    assert proc.source_url.startswith("https://dichvucong.gov.vn/")
    assert proc.source_date == "2026-07"
    first = next(iter(shipped))
    assert first.code == min(shipped.codes())


def test_every_alias_leads_to_its_procedure(shipped):
    for entry in shipped.entries:
        for alias in entry.aliases:
            assert shipped.resolve(alias).code == entry.code, alias
            assert shipped.search(alias, limit=1)[0].procedure.code == entry.code, alias
