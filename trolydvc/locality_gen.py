"""Write ``locality.yml`` for a real province from the official 2025 administrative units.

Since 1 July 2025 Viet Nam has 34 provinces and 3,321 communes (xã / phường / đặc khu); districts
were abolished and most communes merged. The units and the mapping from every pre-2025 commune
(with its district and province) to the new commune come from the maintained offline dataset of
the MIT-licensed ``vietnamadminunits`` package (its ``admin_units`` table and
``converter_2025.json``), so nothing is downloaded and nothing is typed by hand. Checked against
known merges in tests/test_locality_gen.py (e.g. Gio Mỹ and Gio Linh town → Xã Gio Linh,
Quảng Bình → Quảng Trị, Hàng Bạc → Phường Hoàn Kiếm).

What the dataset cannot know — each one-stop shop's address, opening hours and phone, the
province's portal and hotline — is left empty for the operator to fill; the assistant says so
in its answers while a field is empty.

    trolydvc locality generate "Quảng Trị" -o locality.yml
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import click
import yaml
from vietnamadminunits.database import query

from trolydvc.textnorm import fold


class UnknownProvince(ValueError):
    """No 2025 province matches the name given."""


@dataclass(frozen=True)
class FormerUnit:
    """A pre-2025 commune (with its district and province), merged into a new commune."""

    commune: str
    district: str
    province: str
    partly: bool = False  # only part of it went to this new commune (it was divided)


@dataclass
class NewCommune:
    name: str
    code: str
    former: list[FormerUnit] = field(default_factory=list)


@dataclass
class ProvinceUnits:
    name: str
    communes: list[NewCommune]


def province_names() -> list[str]:
    """The 34 provinces and centrally run cities of 2025, by name."""
    return [r["province"] for r in query("SELECT DISTINCT province FROM admin_units ORDER BY 1")]


def _province_row(name: str) -> dict[str, str]:
    wanted = re.sub(r"^(tinh|thanh pho)\s+", "", fold(name).strip())
    rows = query("SELECT DISTINCT province, provinceKey FROM admin_units")
    for row in rows:
        if re.sub(r"^(tinh|thanh pho)\s+", "", fold(row["province"])) == wanted:
            return row
    known = ", ".join(sorted(r["province"] for r in rows))
    raise UnknownProvince(f"Không có tỉnh/thành phố «{name}» sau sắp xếp 2025. Có: {known}")


def _converter() -> dict[str, dict]:
    text = resources.files("vietnamadminunits").joinpath("data/converter_2025.json").read_text()
    return json.loads(text)


def province_units(name: str) -> ProvinceUnits:
    """The new communes of province ``name`` with the former communes each took in."""
    row = _province_row(name)
    key = row["provinceKey"]
    communes = {
        r["wardKey"]: NewCommune(r["ward"], r["wardCode"])
        for r in query(
            "SELECT ward, wardKey, wardCode FROM admin_units "
            f"WHERE provinceKey = '{key}' ORDER BY wardCode"  # key comes from the dataset
        )
    }
    converter = _converter()
    old_provinces = converter["DICT_PROVINCE"].get(key, [])
    legacy = {
        f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}": r
        for r in query(
            "SELECT province, district, ward, provinceKey, districtKey, wardKey "
            "FROM admin_units_legacy WHERE provinceKey IN ("
            + ",".join(f"'{p}'" for p in old_provinces)
            + ")"
        )
    }

    def former(old_key: str, partly: bool) -> FormerUnit | None:
        unit = legacy.get(old_key)
        if unit is None:  # an island district without communes: nothing to name
            return None
        return FormerUnit(unit["ward"], unit["district"], unit["province"], partly)

    for new_key, old_keys in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].get(key, {}).items():
        if new_key in communes:
            communes[new_key].former += [u for k in old_keys if (u := former(k, False))]
    for old_key, parts in converter["DICT_PROVINCE_WARD_DIVIDED"].get(key, {}).items():
        for part in parts:
            target = communes.get(part["newWardKey"])
            unit = former(old_key, True)
            if target is not None and unit is not None and unit not in target.former:
                target.former.append(unit)
    return ProvinceUnits(row["province"], list(communes.values()))


def office_id(commune_name: str) -> str:
    """A stable id for the commune's one-stop shop: "Xã Gio Linh" -> "xa-gio-linh"."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(commune_name).replace("đ", "d")))


def _short(name: str) -> str:
    """ "Xã Gio Linh" -> "xã Gio Linh" (lower-case unit type inside a sentence)."""
    kind, _, rest = name.partition(" ")
    if fold(kind) == "dac":  # "Đặc khu Cồn Cỏ"
        kind, _, rest = name.partition(" ")[2].partition(" ")
        return f"đặc khu {rest}"
    return f"{kind.lower()} {rest}"


HEADER = """\
# Locality settings of this deployment: the one file a province or commune edits.
#
# Generated by `trolydvc locality generate "{province}"` from the official 2025 administrative
# units (offline dataset of the vietnamadminunits package): the province, its {count} communes and,
# for each, the pre-2025 communes and districts merged into it (`former`), so that a citizen who
# names an old commune is told which new commune serves them now.
#
# TO FILL BY THE OPERATOR: every office's address, hours and phone, the province's portal and
# the hotline. While a field is empty the assistant says that it does not have it and points
# to the national portal. Check the file with `.venv/bin/python -m trolydvc.locality`.
#
# Since the 2025 reform local government has two tiers: the province and the commune (xã /
# phường / đặc khu). Procedures "Cấp xã" are received at the commune's Trung tâm Phục vụ hành
# chính công; procedures "Cấp tỉnh" at the provincial centre or its branches.
"""


def locality_document(units: ProvinceUnits) -> dict:
    """The content of locality.yml for ``units`` (contact details left empty)."""
    province_short = re.sub(r"^(Tỉnh|Thành phố)\s+", "", units.name)
    offices: list[dict] = [
        {
            "id": "tinh",
            "level": "province",
            "name": f"Trung tâm Phục vụ hành chính công {_short(units.name)}",
            "address": "",
            "hours": "",
            "phone": "",
        }
    ]
    communes: list[dict] = []
    for commune in units.communes:
        oid = office_id(commune.name)
        offices.append(
            {
                "id": oid,
                "level": "commune",
                "name": f"Trung tâm Phục vụ hành chính công {_short(commune.name)}",
                "address": "",
                "hours": "",
                "phone": "",
            }
        )
        entry: dict = {"name": commune.name, "office": oid, "code": commune.code}
        if commune.former:
            entry["former"] = [
                {"commune": f.commune, "district": f.district}
                | ({"province": f.province} if f.province != units.name else {})
                | ({"partly": True} if f.partly else {})
                for f in commune.former
            ]
        communes.append(entry)
    return {
        "example": False,
        "province": {"name": units.name, "short_name": province_short},
        "offices": offices,
        "communes": communes,
        "portals": {
            "national": "https://dichvucong.gov.vn",
            "province": "",
            "login_help": (
                "Đăng nhập Cổng Dịch vụ công quốc gia bằng tài khoản định danh điện tử VNeID "
                "(mức độ 2)."
            ),
            "payment_help": (
                "Lệ phí (nếu có) được thanh toán trực tuyến ngay trên Cổng Dịch vụ công khi nộp "
                "hồ sơ."
            ),
            "feedback": "https://dichvucong.gov.vn",
        },
    }


def render_locality(units: ProvinceUnits) -> str:
    body = yaml.safe_dump(locality_document(units), allow_unicode=True, sort_keys=False, width=100)
    return HEADER.format(province=units.name, count=len(units.communes)) + body


@click.group("locality")
def locality_cli() -> None:
    """Địa bàn triển khai (locality.yml): tỉnh, xã/phường, bộ phận một cửa."""


@locality_cli.command("generate")
@click.argument("province")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp ghi ra (mặc định: in ra màn hình).",
)
@click.option("--force", is_flag=True, help="Ghi đè tệp đã có.")
def generate(province: str, output: Path | None, force: bool) -> None:
    """Tạo locality.yml cho một tỉnh từ danh mục đơn vị hành chính 2025."""
    try:
        units = province_units(province)
    except UnknownProvince as exc:
        raise click.ClickException(str(exc)) from exc
    text = render_locality(units)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise click.ClickException(f"{output} đã có; thêm --force để ghi đè")
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)  # never a half-written locality.yml
    former = sum(len(c.former) for c in units.communes)
    click.echo(
        f"Đã ghi {output}: {units.name}, {len(units.communes)} xã/phường, "
        f"{former} đơn vị cũ trước 2025. Hãy điền địa chỉ, giờ làm việc, điện thoại."
    )


@locality_cli.command("provinces")
def provinces() -> None:
    """Liệt kê 34 tỉnh, thành phố sau sắp xếp 2025."""
    for name in province_names():
        click.echo(name)
