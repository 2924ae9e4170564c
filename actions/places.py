"""Where the citizen lives and which one-stop shop serves them, from locality.yml.

Since the 2025 reform a province has 50–170 communes (Quảng Trị: 78), so a commune-level
procedure's answer no longer lists every commune's office: it asks which commune, and a
citizen may answer with the commune of today or with the one they knew before the merger
("xã Gio Mỹ, huyện Gio Linh cũ"); either way they are told which commune serves them now.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.language import N_, tr
from trolydvc.locality import Commune, Locality, Office, word_keys

# Up to this many commune offices are listed in full; more (a real province) and the answer
# asks for the citizen's commune instead: 78 offices would fill a dozen phone screens.
MAX_LISTED_OFFICES = 4

ASK_COMMUNE = N_(
    "Thủ tục cấp xã được nộp tại Trung tâm Phục vụ hành chính công của xã/phường nơi Bạn cư "
    "trú. Bạn ở xã/phường nào? (ví dụ «tôi ở xã Gio Linh»; tên xã cũ trước năm 2025 cũng được)"
)


@dataclass(frozen=True)
class Place:
    """What a message says about where the citizen lives."""

    commune: Commune | None  # the commune serving them now, when known
    note: str = ""  # how an old name maps to today's communes, when one was named


def _old_name(commune: str, district: str, province: str | None) -> str:
    where = f"{district}, {province}" if province else district
    return f"{commune} ({where})"


def _names_in_full(name: str, text: str) -> bool:
    """Does ``text`` name ``name`` with its type word ("xã Gio Linh", not just "Gio Linh")?"""
    words, keys = word_keys(name), word_keys(text)
    return any(keys[i : i + len(words)] == words for i in range(len(keys) - len(words) + 1))


def place_in(loc: Locality, text: str) -> Place | None:
    """The commune a message names (today's, or an old one mapped to today's), else None."""
    if not text:
        return None
    current = loc.find_commune(text)
    formers = [
        m
        for m in loc.find_former(text)
        # "xã Tân Thành" names today's commune, even where an old one had the same name
        if not (current and m.former.commune == current.name and m.commune is not current)
    ]
    targets = list(dict.fromkeys(m.commune.name for m in formers))
    if len(targets) == 1:
        match = formers[0]
        if match.former.commune == match.commune.name:
            return Place(match.commune)
        part = tr("một phần ") if match.former.partly else ""
        old = _old_name(match.former.commune, match.former.district, match.former.province)
        return Place(
            match.commune,
            tr("{old} nay thuộc {commune}.").format(old=part + old, commune=match.commune.name),
        )
    if len(targets) > 1:
        lines = [tr("Tên này có ở nhiều nơi trước năm 2025:")]
        lines += [
            "- "
            + tr("{old} nay thuộc {commune}").format(
                old=(tr("một phần ") if m.former.partly else "")
                + _old_name(m.former.commune, m.former.district, m.former.province),
                commune=m.commune.name,
            )
            for m in formers
        ]
        return Place(None, "\n".join(lines))
    district = loc.find_former_district(text)
    # "huyện Gio Linh" names the old district, not today's "Xã Gio Linh" by its bare name
    if current is not None and (district is None or _names_in_full(current.name, text)):
        return Place(current)
    if district is not None:
        names = ", ".join(c.name for c in district.communes)
        return Place(
            None,
            tr(
                "Địa bàn {district} cũ nay thuộc các xã/phường: {names}. "
                "Bạn cho biết xã cũ hoặc xã mới nơi Bạn ở để tôi chỉ đúng nơi nộp."
            ).format(district=district.district, names=names),
        )
    return None


def office_lines(offices: list[Office]) -> list[str]:
    """Numbered offices with the contact details locality.yml has; a missing detail is said."""
    lines: list[str] = []
    for i, office in enumerate(offices, 1):
        lines.append(f"{i}. {office.name}")
        if office.address:
            lines.append(tr("   Địa chỉ: ") + office.address)
        if office.hours:
            lines.append(tr("   Giờ làm việc: ") + office.hours)
        if office.phone:
            lines.append(tr("   Điện thoại: ") + office.phone)
        if office.missing:
            lines.append(
                tr(
                    "   (Tôi chưa có đủ địa chỉ, số điện thoại của nơi này; Bạn xem trên Cổng Dịch "
                    "vụ công hoặc hỏi Ủy ban nhân dân xã/phường.)"
                )
            )
    return lines


def office_summary(office: Office) -> str:
    """One line: name, address (hours; phone), with what locality.yml lacks left out and said."""
    contact = "; ".join(x for x in (office.hours, office.phone) if x)
    line = ", ".join(x for x in (office.name, office.address) if x)
    line += f" ({contact})" if contact else ""
    if office.missing:
        line += tr(" (tôi chưa có đủ địa chỉ, số điện thoại của nơi này)")
    return line


def offices_for(loc: Locality, levels: list[str], place: Place | None) -> tuple[list[Office], bool]:
    """The offices to show for a procedure of ``levels`` and whether to ask for the commune
    (commune-level, no commune known, and too many communes to list)."""
    offices = loc.offices_for_levels(levels)
    province = [o for o in offices if o.level == "province"]
    communal = [o for o in offices if o.level == "commune"]
    if not communal:
        return offices, False
    if place is not None and place.commune is not None:
        own = loc.office(place.commune.office)
        return province + ([own] if own else []), False
    if len(communal) > MAX_LISTED_OFFICES:
        return province, True
    return offices, False


def where_now(loc: Locality, text: str) -> str | None:
    """The answer to "tôi ở xã Gio Mỹ, huyện Gio Linh cũ" with no procedure in question."""
    place = place_in(loc, text)
    if place is None:
        return None
    lines = [place.note] if place.note else []
    if place.commune is not None:
        if not place.note:
            lines.append(
                tr("Bạn ở {commune}, {province}.").format(
                    commune=place.commune.name, province=loc.province.name
                )
            )
        own = loc.office(place.commune.office)
        if own is not None:
            lines.append(tr("Thủ tục cấp xã Bạn nộp tại:"))
            lines += office_lines([own])
        lines.append(tr("Bạn cần làm thủ tục gì? (ví dụ «đăng ký khai sinh», «cấp lại căn cước»)"))
    return "\n".join(lines)
