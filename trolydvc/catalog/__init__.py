"""The procedures catalog: typed procedures loaded from ``procedures_catalog/``, and search.

Usage (from the actions, the NLU data generator, the bot, demo data)::

    from trolydvc.catalog import load_catalog

    catalog = load_catalog()                 # default: trolydvc.config.CATALOG_DIR, cached per path
    len(catalog); list(catalog)              # all Procedure objects (also catalog.procedures)
    catalog.entries                          # cheap listing: .code .name .field .levels .aliases
    proc = catalog.get("1.001193")           # Procedure | None
    proc.name, proc.field, proc.aliases, proc.source_url
    for m in proc.submission_methods:        # channel "direct" | "online" | "postal"
        m.processing_time.value, m.processing_time.unit, m.processing_time.text
        m.fee.amount_vnd, m.fee.unit, m.fee.exempt, m.fee.text
    proc.documents_in("submit")              # Document(name, originals, copies, form_url, ...)

    hits = catalog.search("lam giay khai sinh", limit=3)   # list[SearchHit], best first
    hits[0].procedure.code, hits[0].score                     # score in 0..1
    hits[0].matched             # the name/alias that matched, folded: "lam giay khai sinh"
    catalog.is_clear(hits)      # best hit clearly ahead? else show the top-3 as buttons
                                # (also trolydvc.catalog.is_clear(hits))
    catalog.resolve("sổ đỏ")    # entity value (code, exact name/alias, or free text) -> Procedure | None
    catalog.supports("giấy phép kinh doanh karaoke", "1.001612")  # False: only generic words
                                # match (support(): share of the question's specific weight)

``load_catalog`` raises :class:`CatalogError` when the directory is missing; ``clear_cache()``
forgets loaded catalogs (after an import, in tests). Command line: ``trolydvc catalog
import|validate|search|show`` (:mod:`trolydvc.catalog.cli`).

The schema is documented in :mod:`trolydvc.catalog.schema`. The YAML files are the source of
truth; ``var/cache/`` only holds a derived cache to make loading fast (each Procedure is
built on first access, so load + first search stay well under a second).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from trolydvc.catalog import search as _search
from trolydvc.catalog.schema import (
    Document,
    Fee,
    LegalDocument,
    OnlineInfo,
    Procedure,
    ProcessingTime,
    SubmissionMethod,
)
from trolydvc.catalog.search import SearchHit, SearchIndex, is_clear
from trolydvc.catalog.store import CatalogEntry

__all__ = [
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "Document",
    "Fee",
    "LegalDocument",
    "OnlineInfo",
    "Procedure",
    "ProcessingTime",
    "SearchHit",
    "SubmissionMethod",
    "clear_cache",
    "is_clear",
    "load_catalog",
]

_CODE_RE = re.compile(r"\b(\d\.\d{6})\b")


class CatalogError(Exception):
    """The catalog directory is missing or unreadable."""


class Catalog:
    """A set of procedures with lookup by code and free-text search.

    Built from full :class:`Procedure` objects (tests) or from light cached entries
    (:func:`load_catalog`), in which case each Procedure is built on first access.
    """

    def __init__(
        self,
        procedures: Sequence[Procedure] = (),
        root: Path | None = None,
        *,
        entries: Sequence[CatalogEntry] = (),
    ) -> None:
        self.root = root
        self._procs: dict[str, Procedure] = {p.code: p for p in procedures}
        light: dict[str, CatalogEntry | Procedure] = {e.code: e for e in entries}
        light.update(self._procs)
        self._entries = dict(sorted(light.items()))
        self._all: list[Procedure] | None = None
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self.procedures)

    def __contains__(self, code: object) -> bool:
        return code in self._entries

    @property
    def procedures(self) -> list[Procedure]:
        """All procedures, sorted by code (builds every Procedure once: ~1 s for 1,600)."""
        if self._all is None:
            self._all = [p for code in self._entries if (p := self.get(code)) is not None]
        return self._all

    @property
    def entries(self) -> list[CatalogEntry | Procedure]:
        """Cheap listing: objects with .code .name .field .levels .aliases (sorted by code)."""
        return list(self._entries.values())

    def codes(self) -> list[str]:
        return list(self._entries)

    def get(self, code: str) -> Procedure | None:
        if not isinstance(code, str):
            return None
        code = code.strip()
        proc = self._procs.get(code)
        if proc is None:
            entry = self._entries.get(code)
            if entry is None:
                return None
            proc = entry if isinstance(entry, Procedure) else entry.procedure()
            self._procs[code] = proc
        return proc

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = SearchIndex.build(list(self._entries.values()))
        return self._index

    def search(self, text: str, limit: int = 5) -> list[SearchHit]:
        """Ranked matches for a free-text question, best first (may be empty)."""
        code = _CODE_RE.search(text)
        if code and (proc := self.get(code.group(1))):
            return [SearchHit(proc, 1.0, proc.code)]
        hits = []
        for found, score, matched, source in self.index.search(text, limit=limit):
            proc = self.get(found)
            if proc is not None:
                hits.append(SearchHit(proc, score, matched, source))
        return hits

    def support(self, text: str, code: str) -> float:
        """How much (0..1) of what is specific in ``text`` procedure ``code`` explains
        (:meth:`SearchIndex.support`)."""
        return self.index.support(text, code)

    def supports(self, text: str, code: str) -> bool:
        """Does ``text`` name procedure ``code`` by its distinctive words (support at least
        :data:`trolydvc.catalog.search.SUPPORT_MIN`, a name or alias of it named at least
        to :data:`trolydvc.catalog.search.NAME_COVER_MIN`, and what the question asks for, not
        only whom it is for: :meth:`SearchIndex.fits_phrases`)?"""
        return (
            self.index.support(text, code) >= _search.SUPPORT_MIN
            and self.index.name_cover(text, code) >= _search.NAME_COVER_MIN
            and self.index.fits_phrases(text, code)
        )

    def fits_entity(self, text: str, code: str, span: str = "") -> bool:
        """Does procedure ``code``, read by the NLU in ``span`` of ``text``, fit the message
        (:data:`trolydvc.catalog.search.ENTITY_SUPPORT_MIN`)? True when the message has no
        specific syllable to contradict it. A span with a specific syllable the procedure's names
        lack was read one letter off ("trợ cấp thất" for "trợ cấp tuất"): then the whole message
        must support the procedure (:meth:`supports`)."""
        index = self.index
        misread = (
            bool(span)
            and index.names_something(span, pairs=False)
            and index.support(span, code, pairs=False) < 1.0
        )
        if misread:
            return self.supports(text, code)
        if not index.names_something(text, pairs=False):
            return True
        return index.support(text, code, pairs=False) >= _search.ENTITY_SUPPORT_MIN

    def fits_phrases(self, text: str, code: str) -> bool:
        """Does procedure ``code`` fit what the question asks for, not only whom it is for
        (:meth:`SearchIndex.fits_phrases`: "hỗ trợ tiền điện cho hộ nghèo" names «Công nhận hộ
        nghèo» only in its "cho ..." part)? Part of :meth:`supports`; an entity the NLU read
        is checked with it too (actions/resolve.py)."""
        return self.index.fits_phrases(text, code)

    def names_something(self, text: str) -> bool:
        """Does ``text`` name something specific (a procedure, in the catalog or not)?"""
        return self.index.specific_weight(text) >= _search.INFORMATIVE_WEIGHT

    @staticmethod
    def is_clear(hits: Sequence[SearchHit]) -> bool:
        """Is the best hit clearly ahead of the next? (Otherwise offer the top 3.)"""
        return is_clear(hits)

    def resolve(self, text: str) -> Procedure | None:
        """Procedure for an entity value: a code, an exact name/alias, else a clear search winner."""
        if not text or not text.strip():
            return None
        if proc := self.get(text):
            return proc
        if (code := self.index.exact(text)) and (proc := self.get(code)):
            return proc
        hits = self.search(text, limit=2)
        return hits[0].procedure if is_clear(hits) else None


_cache: dict[Path, Catalog] = {}
_cache_lock = threading.Lock()


def load_catalog(path: Path | None = None) -> Catalog:
    """Load (once per path, then cached) the catalog from ``path`` or ``config.CATALOG_DIR``.

    Raises :class:`CatalogError` if the directory does not exist. Invalid files are skipped
    here (``trolydvc catalog validate`` reports them).
    """
    from trolydvc import config
    from trolydvc.catalog.store import load_cached

    root = Path(path or config.CATALOG_DIR).resolve()
    with _cache_lock:
        if root in _cache:
            return _cache[root]
        if not root.is_dir():
            raise CatalogError(f"catalog directory not found: {root}")
        entries, _errors = load_cached(root)
        catalog = Catalog(root=root, entries=entries)
        _cache[root] = catalog
        return catalog


def clear_cache() -> None:
    """Forget loaded catalogs (tests, or after an import)."""
    with _cache_lock:
        _cache.clear()
