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
    code: str | None = None


class Office(_Model):
    """A one-stop shop (bộ phận một cửa / trung tâm phục vụ hành chính công)."""

    id: str
    level: Literal["province", "commune"]
    name: str
    address: str
    hours: str
    phone: str
    email: str | None = None


class Commune(_Model):
    name: str
    office: str


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
                n = len(name)
                at = next((i for i in range(len(keys) - n + 1) if keys[i : i + n] == name), None)
                if n and at is not None:
                    if best is None or len(commune.name) > len(best[0].name):
                        best = (commune, at, at + n)
                    break
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
