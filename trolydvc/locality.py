"""Locality settings (``locality.yml``): province, communes served, one-stop shops, portals.

A deployment edits only that file. ``load_locality()`` validates it once and caches it;
``python -m trolydvc.locality [PATH]`` checks a file and prints a summary.

Used by the actions (ask_where_to_submit, ask_online_submission, request_human, feedback)
and by the bot (subscriptions by commune: :attr:`Locality.commune_names`).
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trolydvc.textnorm import fold, nfc


def word_keys(text: str) -> list[str]:
    """The words of ``text``, folded, punctuation left out: "Xã Hòa An," -> [xa, hoa, an]."""
    return re.findall(r"\w+", fold(text))


class LocalityError(Exception):
    """locality.yml is missing or invalid (the message says where)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Province(_Model):
    name: str
    short_name: str | None = None
    code: str | None = None


class Office(_Model):
    """A one-stop shop (bộ phận một cửa / trung tâm phục vụ hành chính công).

    Address, hours and phone may be empty in a generated file until the operator fills them;
    answers then say that they are missing (:meth:`missing`)."""

    id: str
    level: Literal["province", "commune"]
    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""
    email: str | None = None

    @property
    def missing(self) -> bool:
        return not (self.address and self.phone)


class FormerUnit(_Model):
    """A pre-2025 commune merged (``partly``: in part) into the commune that lists it."""

    commune: str
    district: str
    province: str | None = None  # when it was in another province (e.g. Quảng Bình)
    partly: bool = False


class Commune(_Model):
    name: str
    office: str
    code: str | None = None
    former: list[FormerUnit] = Field(default_factory=list)


@dataclass(frozen=True)
class FormerMatch:
    """An old (pre-2025) commune named in a message and the commune that serves it now."""

    former: FormerUnit
    commune: Commune


@dataclass(frozen=True)
class DistrictMatch:
    """An old district named in a message and the communes its territory now belongs to."""

    district: str
    communes: tuple[Commune, ...]


class Portals(_Model):
    national: str = "https://dichvucong.gov.vn"
    province: str = ""
    login_help: str = ""
    payment_help: str = ""
    feedback: str = ""


class Hotline(_Model):
    name: str
    phone: str
    hours: str = ""


class Locality(_Model):
    example: bool = False
    province: Province
    offices: list[Office] = Field(min_length=1)
    communes: list[Commune] = Field(default_factory=list)
    portals: Portals = Field(default_factory=Portals)
    hotline: Hotline | None = None

    @model_validator(mode="after")
    def _check_references(self) -> Locality:
        ids = [o.id for o in self.offices]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate office id(s): {', '.join(duplicates)}")
        for commune in self.communes:
            if commune.office not in ids:
                raise ValueError(
                    f"commune {commune.name!r} refers to unknown office {commune.office!r}"
                )
        names = [fold(c.name) for c in self.communes]
        if len(set(names)) != len(names):
            raise ValueError("a commune is listed twice")
        return self

    # --- lookups ------------------------------------------------------------------------
    def office(self, office_id: str) -> Office | None:
        return next((o for o in self.offices if o.id == office_id), None)

    @property
    def province_offices(self) -> list[Office]:
        return [o for o in self.offices if o.level == "province"]

    @property
    def commune_offices(self) -> list[Office]:
        return [o for o in self.offices if o.level == "commune"]

    @property
    def commune_names(self) -> list[str]:
        return [c.name for c in self.communes]

    def find_commune(self, text: str) -> Commune | None:
        """The commune named in ``text`` (accent-insensitive; "An Hoa" finds "Xã An Hòa")."""
        found = self.find_commune_words(word_keys(text))
        return None if found is None else found[0]

    def find_commune_words(self, keys: list[str]) -> tuple[Commune, int, int] | None:
        """The commune named by a run of ``keys`` (see ``word_keys``), with or without its
        "xã"/"phường", and the run's [start, end); the longest name wins."""
        best: tuple[Commune, int, int] | None = None
        for commune in self.communes:
            full = word_keys(commune.name)
            for name in (full, full[1:]):  # "xa hoa an", then "hoa an"
                at = _find_run(keys, name)
                if at is not None:
                    if best is None or len(commune.name) > len(best[0].name):
                        best = (commune, at, at + len(name))
                    break
        return best

    def find_former(self, text: str) -> list[FormerMatch]:
        """Old communes named in ``text`` ("tôi ở xã Gio Mỹ, huyện Gio Linh cũ") with the commune
        serving each now. A bare name ("Gio Mỹ") counts only where it is not a commune of today;
        a district named next to it narrows same-named old communes of several districts."""
        keys = word_keys(text)
        current = self.find_commune_words(keys)
        taken = range(current[1], current[2]) if current else range(0)
        matches: list[FormerMatch] = []
        for commune in self.communes:
            for unit in commune.former:
                full = word_keys(unit.commune)
                for name in (full, full[2:] if full[:2] == ["thi", "tran"] else full[1:]):
                    at = _find_run(keys, name)
                    if at is not None and (name is full or at not in taken):
                        matches.append(FormerMatch(unit, commune))
                        break
        districts = {m.former.district for m in matches}
        named = {d for d in districts if _find_run(keys, word_keys(d)) is not None}
        if named:
            matches = [m for m in matches if m.former.district in named]
        return matches

    def find_former_district(self, text: str) -> DistrictMatch | None:
        """An old district named with its type ("huyện Gio Linh", "thị xã Quảng Trị") and the
        communes of today that took in its communes."""
        keys = word_keys(text)
        best: DistrictMatch | None = None
        for district in sorted({u.district for c in self.communes for u in c.former}):
            if _find_run(keys, word_keys(district)) is None:
                continue
            communes = tuple(
                c for c in self.communes if any(u.district == district for u in c.former)
            )
            if best is None or len(district) > len(best.district):
                best = DistrictMatch(district, communes)
        return best

    def offices_for_levels(self, levels: list[str]) -> list[Office]:
        """One-stop shops receiving a procedure of these catalog levels (Cấp xã / Cấp tỉnh)."""
        folded = {fold(level) for level in levels}
        offices: list[Office] = []
        if "cap tinh" in folded:
            offices += self.province_offices
        if "cap xa" in folded:
            offices += self.commune_offices
        return offices


def _find_run(keys: list[str], name: list[str]) -> int | None:
    """Where the words ``name`` stand in ``keys`` as a run (None: nowhere, or ``name`` empty)."""
    n = len(name)
    if not n:
        return None
    return next((i for i in range(len(keys) - n + 1) if keys[i : i + n] == name), None)


_cache: dict[Path, Locality] = {}
_lock = threading.Lock()


def load_locality(path: Path | None = None) -> Locality:
    """Read and validate locality.yml (default ``config.LOCALITY_FILE``), cached per path."""
    from trolydvc import config

    file = Path(path or config.LOCALITY_FILE).resolve()
    with _lock:
        if file in _cache:
            return _cache[file]
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise LocalityError(f"locality file not found: {file}") from exc
        except yaml.YAMLError as exc:
            raise LocalityError(f"{file}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise LocalityError(f"{file}: expected a mapping at the top level")
        try:
            locality = Locality.model_validate(_nfc_tree(raw))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise LocalityError(f"{file}: {problems}") from exc
        _cache[file] = locality
        return locality


def _nfc_tree(value: object) -> object:
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [_nfc_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc_tree(v) for k, v in value.items()}
    return value


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        locality = load_locality(Path(args[0]) if args else None)
    except LocalityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    note = " (example data)" if locality.example else ""
    print(f"{locality.province.name}{note}")
    print(f"  offices: {len(locality.offices)}, communes: {len(locality.communes)}")
    for commune in locality.communes:
        office = locality.office(commune.office)
        print(f"  - {commune.name}: {office.name if office else '?'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
