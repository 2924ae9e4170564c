"""Free-text retrieval over the catalog: accent-insensitive, typo-tolerant, alias-aware.

Indexing: every procedure's official name (without "Thủ tục") and its curated aliases are
folded with :func:`trolydvc.textnorm.fold`, common abbreviations expanded (cccd, bhxh, ...),
and split into syllable unigrams and bigrams weighted by IDF over the catalog.

Query: folded the same way; question framing ("cho tôi hỏi", "cần giấy tờ gì", "ở đâu")
removed; a syllable unknown to the catalog is corrected to the nearest catalog syllable
(optimal-string-alignment distance 1, 2 for long syllables; rapidfuzz).

Score of a procedure (0..1, see the weights below):

* how much of the question all its names and aliases together explain (recall), how much its
  best single name/alias explains, and how much of that name/alias the question covers
  (precision: the general "đăng ký khai sinh" beats the longer "... có yếu tố nước ngoài");
* minus a penalty for each action the question asks ("cấp lại", "đổi", "gia hạn") that the
  procedure never mentions, for each special case in its name the question does not mention
  (nước ngoài, lưu động, cấp lại, trình báo mất, ...), and for being the Cấp tỉnh/huyện copy of
  a procedure that also exists at Cấp xã, and for being done only centrally (Cấp bộ);
* plus a small prior for procedures with curated aliases (the most asked) and Cấp xã ones;
* scaled down when the recognised words carry little information ("tôi muốn hỏi").

:func:`is_clear` tells whether the best hit is good enough and clearly ahead of the next;
:meth:`SearchIndex.support` whether a procedure explains what is *specific* in the question
(words used by few procedures; generic ones such as "cấp giấy phép kinh doanh" never count), so
that a question about a procedure the catalog lacks is told so instead of answered with an
unrelated one (thresholds SUPPORT_MIN, NAME_COVER_MIN, ENTITY_SUPPORT_MIN).
All scoring is vectorised with numpy: a query over ~1,600 procedures takes well under 1 ms.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from trolydvc.catalog.schema import Procedure
from trolydvc.textnorm import fold

# Score gap between the best and the second hit for the best to count as "clearly ahead".
CLEAR_MARGIN = 0.08
# Below this the best hit is not trusted on its own either.
CLEAR_MIN_SCORE = 0.45
# Score = W_DOC_RECALL * share of the question covered by all the procedure's names and
# aliases together + W_TEXT_RECALL * share covered by its best single name/alias
# + W_PRECISION * share of that name/alias covered by the question.
W_DOC_RECALL = 0.35
W_TEXT_RECALL = 0.35
W_PRECISION = 0.3
# What a question says it wants done ("cấp lại", "gia hạn", "đổi", ...): a procedure none of
# whose names mention it loses ACTION_PENALTY per missing action.
ACTION_TERMS = frozenset(
    {
        "lai",
        "doi",
        "gia han",
        "dieu chinh",
        "xoa",
        "cham dut",
        "tam ngung",
        "thay doi",
        "thu hoi",
        "huy",
        "tach",
        "di doi",
        "sua chua",
        "cai tao",
        "dinh chinh",
        "cai chinh",
        "giai the",
        "tam thoi",
        "mat",
    }
)
ACTION_PENALTY = 0.1
# Special cases of a common procedure: a name that has one the question does not mention
# loses LOOKALIKE_PENALTY each (prefer "đăng ký khai sinh" to "... có yếu tố nước ngoài").
# Variants named by what they do to an existing result ("cấp lại", "trình báo mất", ...) count
# as look-alikes too: "hộ chiếu" means getting one, not reporting it lost.
LOOKALIKE_TERMS = frozenset(
    {
        "nuoc ngoai",
        "luu dong",
        "bien gioi",
        "toan trinh",
        "mot phan",
        "dang ky lai",
        "cap lai",
        "gia han",
        "dieu chinh",
        "xoa",
        "cham dut",
        "tam ngung",
        "thu hoi",
        "dinh chinh",
        "trinh bao",
        "tam thoi",
        "giai the",
    }
)
LOOKALIKE_PENALTY = 0.04
# The same procedure offered at several levels ("... (thực hiện tại cấp tỉnh)"): the variants
# other than the Cấp xã one lose LEVEL_VARIANT_PENALTY unless the question names the level.
LEVEL_VARIANT_PENALTY = 0.04
# A procedure done only centrally (Cấp bộ, Cơ quan khác) loses CENTRAL_PENALTY unless the
# question names the central level: where a question fits a commune/provincial procedure and a
# central one ("cấp thẻ tạm trú cho người nước ngoài" at Công an tỉnh / at Cục Quản lý xuất nhập
# cảnh), the local one comes first and clearly ahead (CLEAR_MARGIN).
CENTRAL_PENALTY = 0.08
CENTRAL_TERMS = frozenset({"trung uong", "cuc", "cap bo"})
LOCAL_LEVELS = frozenset({"Cấp xã", "Cấp tỉnh"})
_LEVEL_SUFFIX = re.compile(
    r"\s*\(?\s*(?:thuc hien\s+)?(?:tai|o)\s+(?:cap|cong an cap)\s+(?:tinh|huyen|xa|trung uong)\s*\)?\s*$"
)
# Scores are scaled down when the recognised words of the question carry less IDF weight than
# this (about two specific syllables and their bigram): "tôi muốn hỏi" is not a procedure.
INFORMATIVE_WEIGHT = 8.0
# Only the first words of a very long message are searched (keeps latency bounded).
MAX_QUERY_TOKENS = 64
# Hits below this are not returned at all.
MIN_SCORE = 0.12
# A term (syllable or pair of syllables) is *specific* when at most this share of the catalog's
# procedures use it: "cấp", "giấy phép", "đăng ký", "kinh doanh", "nhập khẩu" are not, "khai
# sinh", "xăng dầu", "hóa chất" are. Computed at load time from the catalog, so the cut-off
# follows its size (2,642 procedures: a term of at most 79 of them). Calibrated with
# SUPPORT_MIN on tests/catalog/questions.yml and out_of_catalog.yml (bench/catalog_search.py
# prints the curve).
SPECIFIC_SHARE = 0.03
# A procedure is answered only when it explains at least this share of the specific weight of
# the question (:meth:`SearchIndex.support`): "giấy phép kinh doanh karaoke" is not "hộ kinh
# doanh", whose alias "làm giấy phép kinh doanh" shares only generic words with it. Measured
# (bench/catalog_search.py, 2,642 procedures): 0.5 answers 87.7% of the labelled in-catalog
# questions right and 6.1% of the out-of-catalog ones with a procedure; 0.65 answers 85.8% right
# (the others are asked back, the right one offered first in most) and 3.0% out-of-catalog
# (1.5% once short words are no longer read as shorter catalog syllables, "taxi" -> "tai").
SUPPORT_MIN = 0.65
# A procedure the NLU read in the message (an exact name or alias) is kept unless the message's
# specific syllables are this little explained by it: "nhập khẩu" (an alias of "Đăng ký thường
# trú") in "giấy phép nhập khẩu hóa chất" explains none of "hóa chất", while "hộ chiếu" in "làm
# hộ chiếu cho con dưới 14 tuổi" explains a fifth of it.
ENTITY_SUPPORT_MIN = 0.15
# ... and its best name or alias must be named by the question to at least this share of its
# own specific weight (:meth:`SearchIndex.name_cover`).
NAME_COVER_MIN = 0.3
# "X cho Y", "X của Y", "X đối với Y" (folded): X is what the question asks for, Y whom or what
# it is for. Two mismatches a whole-message share cannot see (:meth:`SearchIndex.fits_phrases`):
# a procedure that explains only Y ("hỗ trợ tiền điện | cho hộ nghèo" is not «Công nhận hộ
# nghèo»), and a procedure whose own name is for another Y ("giấy chứng nhận cơ sở đủ điều kiện
# an toàn thực phẩm | cho quán ăn" is not the certificate "đối với cơ sở ... nông, lâm, thủy
# sản"). Measured (bench/catalog_search.py, 89 out-of-catalog and 260 in-catalog questions): the
# out-of-catalog questions answered with a procedure went from 3 to 0, one wrong in-catalog
# answer became a question back, no right answer was lost.
_SCOPE_MARKER = re.compile(r" (?:danh cho|doi voi|cho|cua) ")
# Share of the specific weight of a procedure name's own Y that a question must name for that
# Y to count as mentioned.
SCOPE_NAMED_MIN = 0.5

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
    "nop o dau",
    "o dau",
    "o xa",
    "o phuong",
    "tai xa",
    "tai phuong",
    "o uy ban",
    "thu tuc",
    "duoc khong",
    "khong a",
    "vay a",
    "the a",
    "xin chao",
    "chao ban",
    "cam on",
    "tam biet",
]
# Single words that never name a procedure. Folding merges many syllables (bạn/bản, sao,
# đâu/đầu, thẻ/thế), so only words whose folded form is not a catalog word belong here.
_FILLER_WORDS = {"a", "ah", "nhe", "nha", "vay", "oi", "ad", "admin", "ko", "k", "gi"}
# Words of asking for something ("xin giấy phép", "làm sổ đỏ"): they name no procedure, though
# the catalog's aliases use them, so they neither support a procedure nor count against one.
_REQUEST_WORDS = frozenset({"xin", "lam"})
# A syllable the catalog does not know and that is no typo of one it knows ("karaoke", "gym")
# weighs as much as the rarest catalog word: it names what the question is about.
_UNKNOWN = "?"
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
    "tnld": "tai nan lao dong",
    "bnn": "benh nghe nghiep",
    "bhtn": "bao hiem that nghiep",
    "tnhh": "trach nhiem huu han",
    "dn": "doanh nghiep",
    "htx": "hop tac xa",
    "passport": "ho chieu",
    "cavet": "ca vet",
    "cavert": "ca vet",
    "lltp": "ly lich tu phap",
    "mst": "ma so thue",
    "gks": "giay khai sinh",
}


@dataclass(frozen=True)
class SearchHit:
    procedure: Procedure
    score: float
    matched: str = ""  # the name or alias that matched best, folded ("lam cccd")
    source: str = ""  # the same name or alias as written, diacritics kept ("làm CCCD")

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


def split_scope(text: str) -> tuple[str, str]:
    """(X, Y) of a folded, abbreviation-expanded "X cho Y" / "X của Y" / "X đối với Y";
    ``(text, "")`` without such a marker."""
    padded = f" {text} "
    marker = _SCOPE_MARKER.search(padded)
    if marker is None:
        return text.strip(), ""
    return padded[: marker.start()].strip(), padded[marker.end() :].strip()


def _terms(tokens: Sequence[str]) -> set[str]:
    terms = set(tokens)
    terms.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return terms


def index_text(text: str) -> str:
    """Folded, abbreviation-expanded form of a name or alias (without "Thủ tục")."""
    return _NAME_PREFIX.sub("", normalize_query(text))


@dataclass
class _Text:
    doc: int
    text: str
    terms: set[str]
    source: str = ""  # the name or alias as written
    weight: float = 0.0  # sum of idf of its terms
    is_alias: bool = False


class Indexable(Protocol):
    """What the index needs of a procedure (a Procedure or a light catalog entry)."""

    code: str
    name: str
    aliases: list[str]
    levels: list[str]


@dataclass
class SearchIndex:
    procedures: list[Indexable]
    texts: list[_Text] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)  # term -> text ids
    doc_postings: dict[str, list[int]] = field(default_factory=dict)  # term -> procedure ids
    idf: dict[str, float] = field(default_factory=dict)
    vocab: list[str] = field(default_factory=list)
    _vocab_set: set[str] = field(default_factory=set)
    _exact: dict[str, int] = field(default_factory=dict)
    _prior: list[float] = field(default_factory=list)
    _doc_texts: list[list[int]] = field(default_factory=list)  # procedure -> its text ids
    _lookalikes: list[frozenset[str]] = field(default_factory=list)  # in the official name
    # numpy views used by search()
    _np_postings: dict[str, np.ndarray] = field(default_factory=dict)
    _np_doc_postings: dict[str, np.ndarray] = field(default_factory=dict)
    _text_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    _text_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _prior_arr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _lookalike_arr: dict[str, np.ndarray] = field(default_factory=dict)
    _level_variant: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _central_only: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _doc_terms: list[set[str]] = field(default_factory=list)  # procedure -> terms of its texts
    _code_doc: dict[str, int] = field(default_factory=dict)
    specific_idf: float = 0.0  # terms with at least this idf are specific (SPECIFIC_SHARE)

    @classmethod
    def build(cls, procedures: Sequence[Indexable]) -> SearchIndex:
        index = cls(list(procedures))
        bases: dict[str, list[int]] = defaultdict(list)  # name without its level -> docs
        doc_freq: dict[str, int] = defaultdict(int)
        postings: dict[str, list[int]] = defaultdict(list)
        for doc, proc in enumerate(index.procedures):
            doc_terms: set[str] = set()
            texts = getattr(proc, "index_texts", None) or [
                index_text(t) for t in [proc.name, *proc.aliases]
            ]
            seen: set[str] = set()
            index._doc_texts.append([])
            sources = [proc.name, *proc.aliases]
            for i, text in enumerate(texts):
                is_alias = i > 0
                if not text or text in seen:
                    continue
                seen.add(text)
                terms = _terms(text.split())
                tid = len(index.texts)
                source = sources[i] if i < len(sources) else text
                index.texts.append(_Text(doc, text, terms, source=source, is_alias=is_alias))
                index._doc_texts[doc].append(tid)
                for term in terms:
                    postings[term].append(tid)
                doc_terms |= terms
                index._exact.setdefault(text, doc)
            for term in doc_terms:
                doc_freq[term] += 1
            index._doc_terms.append(doc_terms)
            index._code_doc.setdefault(proc.code, doc)
            words = texts[0].split() if texts else []
            name_terms = _terms(words) | {" ".join(words[i : i + 3]) for i in range(len(words))}
            index._lookalikes.append(frozenset(name_terms & LOOKALIKE_TERMS))
            base = _LEVEL_SUFFIX.sub("", texts[0]) if texts else ""
            bases[base].append(doc)
            # Popular procedures (curated aliases) and local ones get a slight head start.
            prior = 0.0
            if proc.aliases:
                prior += 0.03
            # after the 2025 reform most citizen-facing procedures are done at Cấp xã
            if "Cấp xã" in proc.levels:
                prior += 0.02
            elif "Cấp tỉnh" in proc.levels:
                prior += 0.01
            index._prior.append(prior)
        n = max(len(index.procedures), 1)
        index.idf = {t: math.log(1 + n / df) for t, df in doc_freq.items()}
        index.specific_idf = math.log(1 + 1 / SPECIFIC_SHARE)
        index.postings = dict(postings)
        index.doc_postings = {
            term: sorted({index.texts[tid].doc for tid in tids}) for term, tids in postings.items()
        }
        for t in index.texts:
            t.weight = sum(index.idf[x] for x in t.terms)
        index.vocab = sorted(t for t in doc_freq if " " not in t)
        index._vocab_set = set(index.vocab)
        index._np_postings = {t: np.array(v, dtype=np.int32) for t, v in index.postings.items()}
        index._np_doc_postings = {
            t: np.array(v, dtype=np.int32) for t, v in index.doc_postings.items()
        }
        index._text_doc = np.array([t.doc for t in index.texts], dtype=np.int32)
        index._text_weight = np.array([t.weight for t in index.texts], dtype=np.float64)
        index._prior_arr = np.array(index._prior, dtype=np.float64)
        level_variant = np.zeros(len(index.procedures), dtype=bool)
        for docs in bases.values():
            if len(docs) > 1 and any("Cấp xã" in index.procedures[d].levels for d in docs):
                for d in docs:
                    level_variant[d] = "Cấp xã" not in index.procedures[d].levels
        index._level_variant = level_variant
        index._central_only = np.array(
            [not LOCAL_LEVELS & set(p.levels) for p in index.procedures], dtype=bool
        )
        index._lookalike_arr = {
            term: np.array([term in la for la in index._lookalikes], dtype=bool)
            for term in LOOKALIKE_TERMS
        }
        return index

    # --- query side ---------------------------------------------------------------------
    def _query_tokens(self, text: str, keep_unknown: bool = False) -> list[str]:
        """Catalog syllables of the question (typos corrected), framing removed; with
        ``keep_unknown`` a syllable that is no catalog word is kept as ``"?" + syllable``."""
        q = f" {normalize_query(text)} "
        for phrase in _FILLER_PHRASES:
            q = q.replace(f" {phrase} ", " ")
        tokens = q.split()[:MAX_QUERY_TOKENS]
        out: list[str] = []
        for tok in tokens:
            if tok in self._vocab_set:
                out.append(tok)
                continue
            if tok in _FILLER_WORDS or len(tok) < 3 or tok.isdigit():
                continue
            limit = 1 if len(tok) < 6 else 2
            best = process.extractOne(tok, self.vocab, scorer=OSA.distance, score_cutoff=limit)
            # a short word is not read as a shorter catalog syllable ("taxi" is not "tai"):
            # letters are dropped or swapped by mistake, hardly ever added
            if best is not None and (len(tok) >= 6 or len(best[0]) >= len(tok)):
                out.append(best[0])
            elif keep_unknown:
                out.append(_UNKNOWN + tok)
        return out

    def _specific_terms(self, text: str, pairs: bool = True) -> dict[str, float]:
        """The specific terms of a question (syllables, and pairs of syllables when ``pairs``)
        with their weight (idf; an unknown word weighs as much as the rarest catalog word)."""
        tokens = [t for t in self._query_tokens(text, keep_unknown=True) if t not in _REQUEST_WORDS]
        rarest = math.log(1 + max(len(self.procedures), 1))
        out: dict[str, float] = {}
        for term in _terms(tokens) if pairs else set(tokens):
            if term.startswith(_UNKNOWN) and " " not in term:
                out[term] = rarest
            elif (w := self.idf.get(term, 0.0)) >= self.specific_idf:
                out[term] = w
        return out

    def name_cover(self, text: str, code: str) -> float:
        """Share (0..1) of the specific weight of the procedure's best name or alias that the
        question contains: 0 when the name shares only generic words with it or has none (the
        alias "làm giấy phép kinh doanh" cannot name a procedure by itself), low when it adds a
        special case the question does not mention ("... ly hôn ... ở nước ngoài")."""
        doc = self._code_doc.get(code)
        if doc is None:
            return 0.0
        tokens = self._query_tokens(text)
        q_terms = _terms(tokens)
        best = 0.0
        for tid in self._doc_texts[doc]:
            weights = {
                t: w
                for t in self.texts[tid].terms
                if (w := self.idf.get(t, 0.0)) >= self.specific_idf
            }
            total = sum(weights.values())
            if total > 0:
                best = max(best, sum(w for t, w in weights.items() if t in q_terms) / total)
        return best

    def names_something(self, text: str, pairs: bool = True) -> bool:
        """Does the question have any specific term?"""
        return bool(self._specific_terms(text, pairs))

    def specific_weight(self, text: str) -> float:
        """The total weight of the question's specific terms (syllables and pairs): at least
        INFORMATIVE_WEIGHT for a question that names something ("giấy phép nhập khẩu hóa chất"
        weighs 15), less for a bare follow-up ("còn lệ phí?" 4.1, "... có kết quả" 4.7)."""
        return sum(self._specific_terms(text).values())

    def support(self, text: str, code: str, pairs: bool = True) -> float:
        """Share (0..1) of the specific weight of the question that the names and aliases of
        procedure ``code`` explain; 0 when the question has no specific word at all (generic
        words such as "cấp giấy phép kinh doanh" never support a procedure on their own).
        Without ``pairs``, over syllables only: a pair that spans two phrases ("con dưới" in
        "hộ chiếu cho con dưới 14 tuổi") is rare in the catalog without naming anything."""
        doc = self._code_doc.get(code)
        terms = self._specific_terms(text, pairs)
        total = sum(terms.values())
        if doc is None or total <= 0:
            return 0.0
        known = self._doc_terms[doc]
        return sum(w for t, w in terms.items() if t in known) / total

    def fits_phrases(self, text: str, code: str) -> bool:
        """Does procedure ``code`` fit the parts of a question "X cho Y" (:data:`_SCOPE_MARKER`)?
        No when X has specific terms and the procedure explains less than :data:`SUPPORT_MIN` of
        their weight (the test :meth:`support` puts to a whole question), or when the procedure's official name is "... cho/đối với
        Z", the question names less than :data:`SCOPE_NAMED_MIN` of Z's specific weight, and its
        own Y shares no syllable with Z and has one the procedure never uses. Yes for a question
        without such a marker."""
        doc = self._code_doc.get(code)
        asked, scope = split_scope(normalize_query(text))
        if doc is None or not asked or not scope:
            return True
        if self.names_something(asked) and self.support(asked, code) < SUPPORT_MIN:
            return False
        own_scope = split_scope(self.texts[self._doc_texts[doc][0]].text)[1]
        own = {
            t: w
            for t in _terms(own_scope.split())
            if (w := self.idf.get(t, 0.0)) >= self.specific_idf
        }
        if not own:
            return True
        asked_terms = _terms(self._query_tokens(text))
        if sum(w for t, w in own.items() if t in asked_terms) >= SCOPE_NAMED_MIN * sum(
            own.values()
        ):
            return True
        words = [t for t in self._query_tokens(scope) if not _SCOPE_MARKER.search(f" {t} ")]
        if set(words) & set(own_scope.split()):
            return True  # the same kind of Y ("cho con 15 tuổi" / "cho người dưới 14 tuổi")
        return all(w in self._doc_terms[doc] for w in words)

    def search(self, text: str, limit: int = 5) -> list[tuple[str, float, str, str]]:
        """Ranked ``(code, score, matched text folded, matched text as written)``, best first."""
        tokens = self._query_tokens(text)
        if not tokens:
            return []
        q_terms = {t for t in _terms(tokens) if t in self.idf}
        if not q_terms:
            return []
        q_weight = sum(self.idf[t] for t in q_terms)
        n_docs = len(self.procedures)
        acc = np.zeros(len(self.texts))
        doc_acc = np.zeros(n_docs)
        for term in q_terms:
            w = self.idf[term]
            acc[self._np_postings[term]] += w
            doc_acc[self._np_doc_postings[term]] += w
        recall = acc / q_weight
        precision = np.divide(
            acc, self._text_weight, out=np.zeros_like(acc), where=self._text_weight > 0
        )
        text_score = W_TEXT_RECALL * recall + W_PRECISION * precision
        # the question is exactly this name / alias
        text_score += 0.05 * ((recall > 1 - 1e-9) & (precision > 1 - 1e-9))
        text_score[acc == 0] = -np.inf
        best = np.full(n_docs, -np.inf)
        np.maximum.at(best, self._text_doc, text_score)
        candidates = np.isfinite(best)
        if not candidates.any():
            return []
        # how much of the question the procedure explains with all its names together
        score = best + W_DOC_RECALL * doc_acc / q_weight + self._prior_arr
        q_all = set(_terms(tokens)) | {
            " ".join(tokens[i : i + 3]) for i in range(max(len(tokens) - 2, 0))
        }
        for action in q_all & ACTION_TERMS:
            has = np.zeros(n_docs, dtype=bool)
            if action in self._np_doc_postings:
                has[self._np_doc_postings[action]] = True
            score -= ACTION_PENALTY * ~has
        for term in LOOKALIKE_TERMS - q_all:
            score -= LOOKALIKE_PENALTY * self._lookalike_arr[term]
        if not q_all & {"cap tinh", "cap huyen", "tinh", "trung uong"}:
            score -= LEVEL_VARIANT_PENALTY * self._level_variant
        if not q_all & CENTRAL_TERMS:
            score -= CENTRAL_PENALTY * self._central_only
        # A question with little information (one common word) cannot be matched confidently
        score *= min(1.0, q_weight / INFORMATIVE_WEIGHT)
        score[~candidates] = -np.inf
        k = min(limit, int(candidates.sum()))
        if k <= 0:
            return []
        top = np.argpartition(-score, k - 1)[:k] if k < n_docs else np.arange(n_docs)
        ranked = sorted((int(d) for d in top), key=lambda d: (-score[d], self.procedures[d].code))
        out: list[tuple[str, float, str, str]] = []
        for d in ranked:
            s = float(score[d])
            if s < MIN_SCORE:
                continue
            tid = max(self._doc_texts[d], key=lambda t: text_score[t])
            source = self.texts[tid].source
            matched = _NON_WORD.sub(" ", fold(source)).strip()
            out.append((self.procedures[d].code, round(min(s, 1.0), 4), matched, source))
        return out

    def exact(self, text: str) -> str | None:
        """Code of the procedure whose name or alias is exactly ``text`` (accent-insensitive)."""
        doc = self._exact.get(index_text(text))
        return None if doc is None else self.procedures[doc].code
