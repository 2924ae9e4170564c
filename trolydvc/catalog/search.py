"""Free-text retrieval over the catalog: accent-insensitive, typo-tolerant, alias-aware.

Every procedure is indexed by its name (without the "Thủ tục" prefix) and its curated aliases,
folded with :func:`trolydvc.textnorm.fold`. Terms are syllable unigrams and bigrams weighted by
IDF over the catalog. A text's score combines how much of the question it explains (query
coverage) with how much of the text the question covers (so the general "Đăng ký khai sinh"
beats the longer "Đăng ký khai sinh có yếu tố nước ngoài" unless the question mentions the
extra words). Unknown query syllables are corrected to the nearest catalog syllable
(optimal-string-alignment distance ≤ 1, ≤ 2 for long syllables) with rapidfuzz.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from trolydvc.catalog.schema import Procedure
from trolydvc.textnorm import fold

# Score gap between the best and the second hit for the best to count as "clearly ahead".
CLEAR_MARGIN = 0.08
# Below this the best hit is not trusted on its own either.
CLEAR_MIN_SCORE = 0.45
# Hits below this are not returned at all.
MIN_SCORE = 0.12

_NON_WORD = re.compile(r"[^a-z0-9]+")
_NAME_PREFIX = re.compile(r"^(thu tuc\s+)")

# Question framing that says what the user wants to know, not which procedure (folded).
_FILLER_PHRASES = [
    "cho toi hoi",
    "cho em hoi",
    "cho minh hoi",
    "xin hoi",
    "toi muon",
    "em muon",
    "minh muon",
    "toi can",
    "em can",
    "minh can",
    "lam the nao de",
    "lam the nao",
    "lam sao de",
    "lam sao",
    "nhu the nao",
    "the nao",
    "can nhung giay to gi",
    "can giay to gi",
    "giay to gi",
    "can nhung gi",
    "can gi",
    "gom nhung gi",
    "ho so gom",
    "het bao nhieu tien",
    "bao nhieu tien",
    "bao nhieu",
    "mat bao lau",
    "bao lau",
    "mat phi",
    "le phi",
    "o dau",
    "nop o dau",
    "thu tuc",
    "duoc khong",
    "khong a",
    "vay a",
    "the a",
]
_FILLER_WORDS = {
    "a",
    "ah",
    "a?",
    "nhe",
    "nha",
    "vay",
    "ha",
    "oi",
    "ad",
    "admin",
    "ban",
    "gi",
    "ko",
    "k",
    "khong",
    "the",
    "nao",
    "sao",
    "dau",
    "toi",
    "em",
    "minh",
    "muon",
    "hoi",
    "xin",
    "giup",
    "voi",
    "duoc",
    "phai",
    "nhung",
    "thi",
}
# Common abbreviations people type (folded) -> expansion.
_ABBREVIATIONS = {
    "gcn": "giay chung nhan",
    "gcnqsdd": "giay chung nhan quyen su dung dat",
    "qsdd": "quyen su dung dat",
    "cccd": "can cuoc cong dan",
    "cmnd": "chung minh nhan dan",
    "hkd": "ho kinh doanh",
    "gpxd": "giay phep xay dung",
    "dkkd": "dang ky kinh doanh",
    "gplx": "giay phep lai xe",
    "bhyt": "bao hiem y te",
    "bhxh": "bao hiem xa hoi",
    "ubnd": "uy ban nhan dan",
    "dk": "dang ky",
    "dki": "dang ky",
    "gp": "giay phep",
    "xn": "xac nhan",
}


@dataclass(frozen=True)
class SearchHit:
    procedure: Procedure
    score: float
    matched: str = ""  # the (folded) name or alias that matched best

    @property
    def code(self) -> str:
        return self.procedure.code


def is_clear(hits: Sequence[SearchHit]) -> bool:
    """True when the best hit is good enough and clearly ahead of the next one."""
    if not hits or hits[0].score < CLEAR_MIN_SCORE:
        return False
    return len(hits) == 1 or hits[0].score - hits[1].score >= CLEAR_MARGIN


def normalize_query(text: str) -> str:
    folded = _NON_WORD.sub(" ", fold(text)).strip()
    tokens = [_ABBREVIATIONS.get(t, t) for t in folded.split()]
    return " ".join(tokens)


def _terms(tokens: Sequence[str]) -> set[str]:
    terms = set(tokens)
    terms.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return terms


def index_text(text: str) -> str:
    return _NAME_PREFIX.sub("", _NON_WORD.sub(" ", fold(text)).strip())


@dataclass
class _Text:
    doc: int
    text: str
    terms: set[str]
    weight: float = 0.0  # sum of idf of its terms
    is_alias: bool = False


@dataclass
class SearchIndex:
    procedures: list[Procedure]
    texts: list[_Text] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    vocab: list[str] = field(default_factory=list)
    _vocab_set: set[str] = field(default_factory=set)
    _exact: dict[str, int] = field(default_factory=dict)
    _prior: list[float] = field(default_factory=list)

    @classmethod
    def build(cls, procedures: Sequence[Procedure]) -> SearchIndex:
        index = cls(list(procedures))
        doc_freq: dict[str, int] = defaultdict(int)
        postings: dict[str, list[int]] = defaultdict(list)
        for doc, proc in enumerate(index.procedures):
            doc_terms: set[str] = set()
            sources = [(proc.name, False)] + [(a, True) for a in proc.aliases]
            seen: set[str] = set()
            for raw, is_alias in sources:
                text = index_text(raw)
                if not text or text in seen:
                    continue
                seen.add(text)
                terms = _terms(text.split())
                tid = len(index.texts)
                index.texts.append(_Text(doc, text, terms, is_alias=is_alias))
                for term in terms:
                    postings[term].append(tid)
                doc_terms |= terms
                index._exact.setdefault(text, doc)
            for term in doc_terms:
                doc_freq[term] += 1
            # Popular procedures (curated aliases) and local ones get a slight head start.
            prior = 0.0
            if proc.aliases:
                prior += 0.03
            if "Cấp xã" in proc.levels or "Cấp tỉnh" in proc.levels:
                prior += 0.01
            index._prior.append(prior)
        n = max(len(index.procedures), 1)
        index.idf = {t: math.log(1 + n / df) for t, df in doc_freq.items()}
        index.postings = dict(postings)
        for t in index.texts:
            t.weight = sum(index.idf[x] for x in t.terms)
        index.vocab = sorted(t for t in doc_freq if " " not in t)
        index._vocab_set = set(index.vocab)
        return index

    # --- query side ---------------------------------------------------------------------
    def _query_tokens(self, text: str) -> list[str]:
        q = f" {normalize_query(text)} "
        for phrase in _FILLER_PHRASES:
            q = q.replace(f" {phrase} ", " ")
        tokens = q.split()
        out: list[str] = []
        for tok in tokens:
            if tok in self._vocab_set:
                out.append(tok)
                continue
            if tok in _FILLER_WORDS or len(tok) < 3 or tok.isdigit():
                continue
            limit = 1 if len(tok) < 6 else 2
            best = process.extractOne(tok, self.vocab, scorer=OSA.distance, score_cutoff=limit)
            if best is not None:
                out.append(best[0])
        return [t for t in out if t not in _FILLER_WORDS or t in ("khong",)]

    def search(self, text: str, limit: int = 5) -> list[SearchHit]:
        tokens = self._query_tokens(text)
        if not tokens:
            return []
        q_terms = {t for t in _terms(tokens) if t in self.idf}
        if not q_terms:
            return []
        q_weight = sum(self.idf[t] for t in q_terms)
        acc: dict[int, float] = defaultdict(float)
        for term in q_terms:
            w = self.idf[term]
            for tid in self.postings[term]:
                acc[tid] += w
        best: dict[int, tuple[float, str]] = {}
        for tid, matched in acc.items():
            t = self.texts[tid]
            recall = matched / q_weight
            precision = matched / t.weight if t.weight else 0.0
            score = 0.7 * recall + 0.3 * precision
            if recall == 1.0 and precision == 1.0:
                score += 0.05  # the question is exactly this name / alias
            prev = best.get(t.doc)
            if prev is None or score > prev[0]:
                best[t.doc] = (score, t.text)
        ranked = sorted(
            ((s + self._prior[d], d, m) for d, (s, m) in best.items()),
            key=lambda x: (-x[0], self.procedures[x[1]].code),
        )
        return [
            SearchHit(self.procedures[d], round(min(s, 1.0), 4), m)
            for s, d, m in ranked[:limit]
            if s >= MIN_SCORE
        ]

    def exact(self, text: str) -> Procedure | None:
        """The procedure whose name or alias is exactly ``text`` (accent-insensitive)."""
        doc = self._exact.get(index_text(text))
        return None if doc is None else self.procedures[doc]
