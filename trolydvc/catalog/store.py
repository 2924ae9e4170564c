"""Reading and writing the YAML catalog (``procedures_catalog/<field-slug>/<code>.yml``).

The YAML files are the source of truth. Loading ~1,600 files is made fast by a derived cache
under ``var/cache/`` keyed by every file's path, size and mtime (any change rebuilds it).
Writing a whole catalog goes to a temporary sibling directory which is then swapped in, so a
failed import never leaves a half-written catalog.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trolydvc import config
from trolydvc.catalog.schema import Procedure
from trolydvc.textnorm import fold

try:  # libyaml is much faster; fall back to the pure-Python classes if it is missing
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

CACHE_VERSION = 2
log = logging.getLogger(__name__)
_SLUG_RE = re.compile(r"[^a-z0-9]+")


def field_slug(field: str | None) -> str:
    """Folder name for a lĩnh vực: 'Hộ tịch' -> 'ho-tich'."""
    slug = _SLUG_RE.sub("-", fold(field or "")).strip("-")
    return slug[:80].rstrip("-") or "khac"


def procedure_relpath(proc: Procedure) -> Path:
    return Path(field_slug(proc.field)) / f"{proc.code}.yml"


def _str_representer(dumper: Any, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _CatalogDumper(_Dumper):  # type: ignore[misc, valid-type]
    pass


_CatalogDumper.add_representer(str, _str_representer)


def dump_procedure(proc: Procedure) -> str:
    """YAML text of one procedure, keys in schema order (stable diffs)."""
    data = proc.model_dump(mode="json")
    if not data["checklist"]:  # curated for a few procedures only: no empty key in the others
        del data["checklist"]
    return yaml.dump(
        data,
        Dumper=_CatalogDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
        default_flow_style=False,
    )


@dataclass
class LoadError:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def read_yaml(path: Path) -> Any:
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=_Loader)


def load_procedure_file(path: Path) -> Procedure:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ValueError("not a mapping")
    return Procedure.model_validate(data)


def catalog_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*.yml") if p.is_file())


def load_dir(root: Path) -> tuple[list[Procedure], list[LoadError]]:
    """Parse every YAML file under ``root`` (no cache); invalid files are reported, not raised."""
    loaded, errors = load_dir_with_paths(root)
    return [proc for _path, proc in loaded], errors


def load_dir_with_paths(root: Path) -> tuple[list[tuple[Path, Procedure]], list[LoadError]]:
    procedures: list[tuple[Path, Procedure]] = []
    errors: list[LoadError] = []
    for path in catalog_files(root):
        try:
            procedures.append((path, load_procedure_file(path)))
        except ValidationError as exc:
            errors.append(LoadError(path, _validation_summary(exc)))
        except (yaml.YAMLError, ValueError, OSError) as exc:
            errors.append(LoadError(path, f"{type(exc).__name__}: {exc}"))
    return procedures, errors


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class CatalogEntry:
    """Light view of one procedure (what listing and search need) plus its full data, packed.

    :meth:`procedure` builds the full :class:`Procedure` (about a millisecond); the catalog
    does it on demand so that loading 1,600 procedures stays well under a second.
    """

    code: str
    name: str
    field: str | None
    levels: list[str]
    aliases: list[str]
    blob: bytes
    index_texts: list[str]  # folded name and aliases (search.index_text), precomputed

    @classmethod
    def of(cls, proc: Procedure) -> CatalogEntry:
        from trolydvc.catalog.search import index_text

        blob = marshal.dumps(proc.model_dump(mode="python"))
        texts = [index_text(t) for t in [proc.name, *proc.aliases]]
        return cls(
            proc.code, proc.name, proc.field, list(proc.levels), list(proc.aliases), blob, texts
        )

    def procedure(self) -> Procedure:
        return Procedure.model_validate(marshal.loads(self.blob))


# The cache also holds folded search texts: any change to this code invalidates it.
_CODE_FILES = [
    Path(__file__),
    Path(__file__).with_name("schema.py"),
    Path(__file__).with_name("search.py"),
    Path(__file__).parent.parent / "textnorm.py",
]


def _fingerprint(root: Path, files: Iterable[Path]) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}|{sys.version_info[:2]}|{root.resolve()}".encode())
    for code_file in _CODE_FILES:
        h.update(code_file.read_bytes())
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_path(root: Path) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return config.VAR_DIR / "cache" / f"catalog-{key}.bin"


def load_cached(root: Path) -> tuple[list[CatalogEntry], list[LoadError]]:
    """Entries of every valid file under ``root``, through the derived cache under var/.

    The cache (marshal format, local and derived only) is rebuilt when any file's name, size
    or mtime changed; invalid files are reported as errors, like :func:`load_dir`.
    """
    files = catalog_files(root)
    fp = _fingerprint(root, files)
    cpath = cache_path(root)
    try:
        cached = marshal.loads(cpath.read_bytes())
        if cached.get("fingerprint") == fp:
            entries = [CatalogEntry(*row) for row in cached["entries"]]
            errors = [LoadError(Path(p), m) for p, m in cached["errors"]]
            return entries, errors
    except FileNotFoundError:
        pass
    except Exception as exc:  # stale or unreadable cache: rebuild it
        log.info("catalog cache %s not usable (%s); rebuilding", cpath, exc)
    procedures, errors = load_dir(root)
    entries = [CatalogEntry.of(p) for p in procedures]
    payload = {
        "fingerprint": fp,
        "entries": [
            (e.code, e.name, e.field, e.levels, e.aliases, e.blob, e.index_texts) for e in entries
        ],
        "errors": [(str(e.path), e.message) for e in errors],
    }
    try:
        cpath.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cpath.parent, prefix=".catalog-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(payload))
        os.replace(tmp, cpath)
    except OSError:
        pass  # a read-only var/ only costs speed
    return entries, errors


def write_catalog(root: Path, procedures: Iterable[Procedure]) -> int:
    """Replace the catalog at ``root`` with ``procedures`` atomically (temp dir + swap).

    Top-level regular files of the old catalog (README etc.) are carried over.
    Returns the number of files written.
    """
    root = root.resolve()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-new-"))
    count = 0
    try:
        if root.is_dir():
            for p in root.iterdir():
                if p.is_file():
                    shutil.copy2(p, tmp / p.name)
        for proc in procedures:
            target = tmp / procedure_relpath(proc)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise ValueError(f"duplicate code {proc.code}")
            target.write_text(dump_procedure(proc), encoding="utf-8")
            count += 1
        old = None
        if root.exists():
            old = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-old-"))
            old.rmdir()
            os.rename(root, old)
        try:
            os.rename(tmp, root)
        except OSError:
            if old is not None:
                os.rename(old, root)  # put the previous catalog back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return count
