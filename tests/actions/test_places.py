"""Places after the 2025 merger, on the shipped locality.yml (Quảng Trị, generated)."""

from __future__ import annotations

import pytest

from actions import places, render
from actions.common import catalog
from actions.locations import ActionTellLocation
from trolydvc import config
from trolydvc.locality import Locality, load_locality

BIRTH = "1.001193"  # Đăng ký khai sinh, Cấp xã


@pytest.fixture
def loc(monkeypatch: pytest.MonkeyPatch) -> Locality:
    shipped = config.ROOT / "locality.yml"
    monkeypatch.setattr(config, "LOCALITY_FILE", shipped)
    return load_locality(shipped)


@pytest.mark.parametrize(
    "text",
    [
        "tôi ở xã Gio Mỹ, huyện Gio Linh cũ",
        "toi o xa gio my huyen gio linh cu",
        "nhà em ở Gio Mỹ",
    ],
)
def test_an_old_commune_is_mapped_to_todays(loc: Locality, text: str) -> None:
    place = places.place_in(loc, text)
    assert place is not None and place.commune is not None
    assert place.commune.name == "Xã Gio Linh"
    assert place.note == "Xã Gio Mỹ (Huyện Gio Linh) nay thuộc Xã Gio Linh."


def test_todays_commune_needs_no_note(loc: Locality) -> None:
    place = places.place_in(loc, "tôi ở xã Gio Linh")
    assert place is not None and place.commune is not None
    assert (place.commune.name, place.note) == ("Xã Gio Linh", "")
    town = places.place_in(loc, "tôi ở thị trấn Gio Linh")
    assert town is not None and town.commune is not None and town.commune.name == "Xã Gio Linh"
    assert "Thị trấn Gio Linh (Huyện Gio Linh) nay thuộc Xã Gio Linh" in town.note


def test_an_old_district_lists_the_communes_it_became(loc: Locality) -> None:
    place = places.place_in(loc, "tôi ở huyện Gio Linh cũ")
    assert place is not None and place.commune is None
    for name in ("Xã Gio Linh", "Xã Cửa Việt", "Xã Bến Hải", "Xã Cồn Tiên"):
        assert name in place.note
    assert "Xã Đông Hà" not in place.note and "xã cũ hoặc xã mới" in place.note


def test_commune_procedure_asks_for_the_commune_instead_of_listing_78_offices(
    loc: Locality,
) -> None:
    proc = catalog().get(BIRTH)
    assert proc is not None and "Cấp xã" in proc.levels
    text = render.place_answer(proc, loc, "khai sinh nộp ở đâu")
    assert places.ASK_COMMUNE in text
    assert text.count("Trung tâm Phục vụ hành chính công xã") == 0
    assert len(text) < 1200
    assert f"Mã thủ tục: {BIRTH}" in text


def test_commune_procedure_for_an_old_commune(loc: Locality) -> None:
    proc = catalog().get(BIRTH)
    assert proc is not None
    text = render.place_answer(proc, loc, "tôi ở xã Gio Mỹ huyện Gio Linh cũ thì nộp ở đâu")
    assert "Xã Gio Mỹ (Huyện Gio Linh) nay thuộc Xã Gio Linh." in text
    assert "Trung tâm Phục vụ hành chính công xã Gio Linh" in text
    assert "chưa có đủ địa chỉ" in text  # the generated file has no contact details yet
    assert places.ASK_COMMUNE not in text


async def test_tell_location_with_and_without_a_procedure(loc: Locality, run_action) -> None:
    turn = await run_action(ActionTellLocation(), "tôi ở xã Gio Mỹ, huyện Gio Linh cũ")
    assert "nay thuộc Xã Gio Linh" in turn.text
    assert "Trung tâm Phục vụ hành chính công xã Gio Linh" in turn.text
    turn = await run_action(ActionTellLocation(), "tôi ở xã Gio Mỹ", slots={"procedure": BIRTH})
    assert "Nơi nộp hồ sơ thủ tục" in turn.text and f"Mã thủ tục: {BIRTH}" in turn.text
    assert turn.slot("topic") == "place"
    turn = await run_action(ActionTellLocation(), "tôi ở xã Sao Hỏa")
    assert "chưa nhận ra xã/phường này" in turn.text
