"""The NLU's two small models, free of Rasa so they can be trained, tested and measured anywhere.

* ``IntentModel``: TF-IDF over the normalised message *and* its accent-free form (words 1-2,
  character n-grams 2-5 within words) feeding a logistic regression. Seeing both forms, the
  same question scores alike with or without diacritics; parsing costs well under a
  millisecond (no TensorFlow).
* ``ProcedureFinder``: the procedure spans of a message, found by matching its accent-free
  word runs against the procedure names, aliases and synonyms generated from the catalog
  (``trolydvc nlu build``), longest first; a run one letter away from a name of two words or
  more ("khai sihn") still matches.

``trolydvc.nlu_components`` wraps both as Rasa graph components; ``make nlu-eval`` measures them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trolydvc.textnorm import fold, normalize_message

# Words people put before a procedure's name that are not part of it ("làm giấy khai sinh").
FILLERS = (
    "thu tuc",
    "lam thu tuc",
    "lam",
    "xin",
    "xin cap",
    "nop",
    "ve",
    "cho",
    "cua",
    "viec",
    "ho so",
)
# A name this long (in letters) may be matched with one letter missing, extra or wrong.
FUZZY_MIN_LETTERS = 8
MAX_SPAN_WORDS = 12
_WORD = re.compile(r"[^\s,.;:!?()\"“”]+")


def intent_text(text: str) -> str:
    """What the intent model reads: the text, then its accent-free form. The text comes
    normalised (VietnameseNormalizer runs first in the pipeline, at training and parse time),
    so it is not normalised again here."""
    return f"{text} | {fold(text)}"


class IntentModel:
    """TF-IDF (word 1-2 and char_wb 2-5 n-grams) + logistic regression over ``intent_text``;
    ``fit`` and ``rank`` take texts as :func:`trolydvc.textnorm.normalize_message` leaves them."""

    def __init__(self, c: float = 10.0, random_state: int = 42) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        self.pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LogisticRegression(C=c, max_iter=3000, random_state=random_state),
        )
        self._scorer: _FastScorer | None = None

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentModel:
        if len(set(intents)) < 2:
            raise ValueError("the intent model needs examples of at least two intents")
        self.pipeline.fit([intent_text(t) for t in texts], list(intents))
        self._scorer = None
        return self

    @property
    def intents(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def rank(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """For each text, every intent with its probability, most likely first."""
        if self._scorer is None:
            self._scorer = _FastScorer(self.pipeline)
        names = self.intents
        return [
            sorted(
                zip(names, map(float, self._scorer.proba(intent_text(t))), strict=True),
                key=lambda pair: -pair[1],
            )
            for t in texts
        ]

    def proba_reference(self, texts: Sequence[str]) -> Any:
        """scikit-learn's own predict_proba (what ``rank`` computes faster, for the tests)."""
        return self.pipeline.predict_proba([intent_text(t) for t in texts])

    def __getstate__(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.pipeline = state["pipeline"]
        self._scorer = None


class _FastScorer:
    """The fitted pipeline's probabilities for one text, without scikit-learn's per-call
    overhead (FeatureUnion's joblib dispatch, validation, sparse matrix construction): the same
    n-grams, sublinear TF x IDF, L2 norm per vectorizer, then the multinomial softmax. About
    0.2 ms a message instead of 2-3 ms; the tests check it against ``predict_proba``."""

    def __init__(self, pipeline: Any) -> None:
        import numpy as np

        union, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
        self.np = np
        self.parts = []
        offset = 0
        for _name, vectorizer in union.transformer_list:
            vocabulary = vectorizer.vocabulary_
            self.parts.append(
                (vectorizer.build_analyzer(), vocabulary, np.asarray(vectorizer.idf_), offset)
            )
            offset += len(vocabulary)
        self.coef_t = np.ascontiguousarray(classifier.coef_.T)  # (features, classes)
        self.intercept = classifier.intercept_
        self.binary = self.coef_t.shape[1] == 1

    def proba(self, text: str) -> Any:
        np = self.np
        indices: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, idf, offset in self.parts:
            counts: dict[int, int] = {}
            for gram in analyzer(text):
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            local = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))) * idf[local]
            weights /= np.sqrt(np.dot(weights, weights))
            indices.extend((local + offset).tolist())
            values.extend(weights.tolist())
        scores = self.intercept.copy()
        if indices:
            scores = scores + np.asarray(values) @ self.coef_t[indices]
        if self.binary:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - positive, positive])
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()


def procedure_key(text: str) -> str:
    """The lookup key of a procedure name or span: normalised, accent-free, lower-case."""
    return " ".join(fold(normalize_message(text)).split())


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1 :] for i in range(len(key)) if key[i] != " "}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    code: str


class ProcedureFinder:
    """Finds procedure names in a message; ``table`` maps a name's key to its catalog code."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = {procedure_key(k): v for k, v in table.items() if procedure_key(k)}
        # one deletion away, for names of >= 2 words and FUZZY_MIN_LETTERS letters; a
        # deletion shared by two different codes is ambiguous and left out
        near: dict[str, str | None] = {}
        for key, code in self.table.items():
            if " " not in key or len(key.replace(" ", "")) < FUZZY_MIN_LETTERS:
                continue
            for variant in _deletions(key) | {key}:
                if near.get(variant, code) != code:
                    near[variant] = None
                else:
                    near[variant] = code
        self.near = {k: v for k, v in near.items() if v is not None}

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> ProcedureFinder:
        """From (name or span, code) pairs; the first code given for a key wins."""
        table: dict[str, str] = {}
        for name, code in pairs:
            key = procedure_key(name)
            if key:
                table.setdefault(key, code)
        return cls(table)

    def lookup(self, text: str, fuzzy: bool = False) -> str | None:
        """The code a span names: exactly, after dropping leading filler words, or (fuzzy)
        one letter away."""
        key = procedure_key(text)
        if key.startswith(("dk ", "dky ")):  # "đk kết hôn": here dk is đăng ký, not được
            key = "dang ky " + key.split(" ", 1)[1]
        candidates = [key]
        changed = True
        while changed:
            changed = False
            for filler in FILLERS:
                if key.startswith(filler + " "):
                    key = key[len(filler) + 1 :]
                    candidates.append(key)
                    changed = True
        for candidate in candidates:
            if candidate in self.table:
                return self.table[candidate]
        if fuzzy:
            for candidate in candidates:
                code = self._near(candidate)
                if code is not None:
                    return code
        return None

    def find(self, text: str) -> list[Span]:
        """Non-overlapping procedure spans, longest match first, left to right. A span does not
        start with a filler word when the rest names the same procedure ("làm giấy khai sinh"
        -> "giấy khai sinh"), and a name starting after the filler wins when it reaches further
        ("làm căn cước cho bé": "căn cước cho bé", not "làm căn cước")."""
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        keys = [procedure_key(text[s:e]) for s, e in words]
        # "đk kết hôn": before more words, dk is đăng ký (alone, the normaliser reads "được")
        keys = [
            "dang ky" if key in ("dk", "dky") and n + 1 < len(keys) else key
            for n, key in enumerate(keys)
        ]
        spans: list[Span] = []
        i = 0
        while i < len(words):
            found = self._longest_at(keys, i)
            if found is None:
                i += 1
                continue
            j, code, fuzzy = found
            if fuzzy and j - i > 1:
                # an exact name starting one word later that reaches as far is the better reading
                later = self._longest_at(keys, i + 1)
                if later is not None and not later[2] and later[0] >= j:
                    i, (j, code, fuzzy) = i + 1, later
            while j - i > 1 and self._filler_first(keys[i:j]):
                later = self._longest_at(keys, i + 1)
                if later is not None and later[0] > j:
                    i, (j, code, fuzzy) = i + 1, later
                elif self.lookup(" ".join(keys[i + 1 : j]), fuzzy=True) == code:
                    i += 1
                else:
                    break
            start, end = words[i][0], words[j - 1][1]
            spans.append(Span(start, end, text[start:end], code))
            i = j
        return spans

    def _longest_at(self, keys: list[str], i: int) -> tuple[int, str, bool] | None:
        """(end, code, fuzzy) of the longest name starting at word ``i``: exact, else one
        letter off (fuzzy)."""
        for fuzzy in (False, True):
            for j in range(min(len(keys), i + MAX_SPAN_WORDS), i, -1):
                # one word ("vneid", "passport") names a procedure only when it is the
                # whole message: inside a sentence it is usually a tool or a paper
                if j - i < 2 and (fuzzy or len(keys) > 1):
                    break
                key = " ".join(keys[i:j])
                code = self.table.get(key) if not fuzzy else self._near(key)
                if code is not None:
                    return j, code, fuzzy
        return None

    @staticmethod
    def _filler_first(keys: list[str]) -> bool:
        joined = " ".join(keys)
        return any(joined.startswith(filler + " ") for filler in FILLERS)

    def _near(self, key: str) -> str | None:
        if len(key.replace(" ", "")) < FUZZY_MIN_LETTERS:
            return None
        if key in self.near:
            return self.near[key]
        for variant in _deletions(key):
            if variant in self.near:
                return self.near[variant]
        return None
