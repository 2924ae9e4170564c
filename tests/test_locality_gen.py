"""locality.yml generated from the official 2025 administrative units (vietnamadminunits data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from trolydvc import config
from trolydvc.locality import load_locality
from trolydvc.locality_gen import (
    UnknownProvince,
    locality_cli,
    province_names,
    province_units,
    render_locality,
)


def _serving(province: str, old_commune: str, district: str) -> list[str]:
    units = province_units(province)
    return [
        c.name
        for c in units.communes
        for f in c.former
        if (f.commune, f.district) == (old_commune, district)
    ]


def test_34_provinces_after_the_reform() -> None:
    names = province_names()
    assert len(names) == 34
    assert "Tỉnh Quảng Trị" in names and "Tỉnh Quảng Bình" not in names


@pytest.mark.parametrize(
    ("province", "old_commune", "district", "new_commune"),
    [
        # Gio Linh district (the seed report's), merged into four communes in 2025
        ("Quảng Trị", "Xã Gio Mỹ", "Huyện Gio Linh", "Xã Gio Linh"),
        ("Quảng Trị", "Thị trấn Gio Linh", "Huyện Gio Linh", "Xã Gio Linh"),
        ("Quảng Trị", "Thị trấn Cửa Việt", "Huyện Gio Linh", "Xã Cửa Việt"),
        ("Quảng Trị", "Xã Trung Giang", "Huyện Gio Linh", "Xã Bến Hải"),
        # Well-known city-centre merges
        ("Hà Nội", "Phường Hàng Bạc", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
        ("Hồ Chí Minh", "Phường Bến Nghé", "Quận 1", "Phường Sài Gòn"),
    ],
)
def test_known_merges(province: str, old_commune: str, district: str, new_commune: str) -> None:
    assert _serving(province, old_commune, district) == [new_commune]


def test_merged_province_keeps_its_old_name() -> None:
    """Quảng Bình joined Quảng Trị: its old communes say which province they were in."""
    units = province_units("tinh quang tri")  # accent- and prefix-insensitive
    assert units.name == "Tỉnh Quảng Trị" and len(units.communes) == 78
    provinces = {f.province for c in units.communes for f in c.former}
    assert provinces == {"Tỉnh Quảng Trị", "Tỉnh Quảng Bình"}
    assert all(c.former for c in units.communes if not c.name.startswith("Đặc khu"))


def test_unknown_province_is_refused_with_the_list() -> None:
    with pytest.raises(UnknownProvince, match="Quảng Trị"):
        province_units("Tỉnh Mẫu")


def test_shipped_locality_is_the_generated_one() -> None:
    """locality.yml is Quảng Trị as generated; only contact details may have been filled."""
    shipped = load_locality(config.ROOT / "locality.yml")
    units = province_units("Quảng Trị")
    assert shipped.province.name == units.name
    assert [(c.name, [f.commune for f in c.former]) for c in shipped.communes] == [
        (c.name, [f.commune for f in c.former]) for c in units.communes
    ]


def test_generate_command_writes_a_valid_file_and_keeps_an_existing_one(tmp_path: Path) -> None:
    out = tmp_path / "locality.yml"
    runner = CliRunner()
    result = runner.invoke(locality_cli, ["generate", "Quảng Trị", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "78 xã/phường" in result.output
    loc = load_locality(out)
    assert loc.example is False and len(loc.offices) == 79
    assert all(o.missing for o in loc.offices)  # contact details are the operator's to fill
    before = out.read_text(encoding="utf-8")
    result = runner.invoke(locality_cli, ["generate", "Hà Nội", "-o", str(out)])
    assert result.exit_code != 0 and "--force" in result.output
    assert out.read_text(encoding="utf-8") == before
    result = runner.invoke(locality_cli, ["generate", "Hà Nội", "-o", str(out), "--force"])
    assert result.exit_code == 0 and "Hà Nội" in out.read_text(encoding="utf-8")


def test_rendered_text_has_the_operator_notes() -> None:
    text = render_locality(province_units("Quảng Trị"))
    assert "TO FILL BY THE OPERATOR" in text and "vietnamadminunits" in text
