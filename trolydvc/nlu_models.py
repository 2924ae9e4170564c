"""The NLU's two small models, free of Rasa so they can be trained, tested and measured anywhere.

* ``IntentModel``: TF-IDF over the normalised message *and* its accent-free form (words 1-2,
  character n-grams 2-5 within words) feeding a logistic regression. Seeing both forms, the
  same question scores alike with or without diacritics; parsing costs well under a
  millisecond (no TensorFlow).

  Trained with scikit-learn, served without it. Training keeps only the fitted numbers
  (:class:`IntentWeights`: vocabularies, idf, coefficients, intercepts, classes), stored as JSON
  plus a numbers-only ``.npz`` read with ``allow_pickle=False``, and inference recomputes
  scikit-learn's ``predict_proba`` from them with numpy. Loading a model therefore unpickles
  nothing (a model file cannot run code), and the served answer does not depend on the
  scikit-learn version: .venv (tests) has 1.9 while .venv-rasa (training and serving) has 1.1.
  The one place scikit-learn matters, turning a fitted pipeline into those numbers, is tested
  in both: tests/nlu/test_nlu_models.py in .venv, tests/nlu/rasa_components_probe.py in
  .venv-rasa; both check the probabilities against scikit-learn's to 1e-9. (skops would store
  the pipeline itself but still needs the same scikit-learn to load it, and one more
  dependency in both environments.)
* ``ProcedureFinder``: the procedure spans of a message, found by matching its accent-free
  word runs against the procedure names, aliases and synonyms generated from the catalog
  (``trolydvc nlu build``), longest first; a run one letter away from a name of two words or
  more ("khai sihn") still matches.

``trolydvc.nlu_components`` wraps both as Rasa graph components; ``make nlu-eval`` measures them.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    ``fit`` and ``rank`` take texts as :func:`trolydvc.textnorm.normalize_message` leaves them.

    ``fit`` trains with scikit-learn and keeps only the fitted numbers (:class:`IntentWeights`);
    ``rank`` and everything after :meth:`load` use those numbers alone."""

    def __init__(self, c: float = 10.0, random_state: int = 42) -> None:
        self.c = c
        self.random_state = random_state
        self.weights: IntentWeights | None = None
        self._pipeline: Any = None  # the scikit-learn pipeline, only in the process that fit it

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentModel:
        if len(set(intents)) < 2:
            raise ValueError("the intent model needs examples of at least two intents")
        # imported here: a served model never needs scikit-learn (nor its ~0.5 s import)
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LogisticRegression(C=self.c, max_iter=3000, random_state=self.random_state),
        )
        pipeline.fit([intent_text(t) for t in texts], list(intents))
        self._pipeline = pipeline
        self.weights = IntentWeights.from_pipeline(pipeline)
        return self

    def _fitted(self) -> IntentWeights:
        if self.weights is None:
            raise RuntimeError("the intent model is not trained")
        return self.weights

    @property
    def intents(self) -> list[str]:
        return list(self._fitted().classes)

    def rank(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """For each text, every intent with its probability, most likely first."""
        weights = self._fitted()
        return [
            sorted(
                zip(weights.classes, map(float, weights.proba(intent_text(t))), strict=True),
                key=lambda pair: -pair[1],
            )
            for t in texts
        ]

    def proba_reference(self, texts: Sequence[str]) -> Any:
        """scikit-learn's own predict_proba (what ``rank`` computes from the stored numbers, for
        the tests); only in the process that trained the model."""
        if self._pipeline is None:
            raise RuntimeError("scikit-learn's pipeline exists only where the model was trained")
        return self._pipeline.predict_proba([intent_text(t) for t in texts])

    def save(self, directory: Path) -> None:
        """Write the model as :data:`MODEL_JSON` (classes, vocabularies) and
        :data:`MODEL_ARRAYS` (idf, coefficients, intercepts): no pickle."""
        self._fitted().save(directory)

    @classmethod
    def load(cls, directory: Path) -> IntentModel:
        """The model :meth:`save` wrote; ValueError if its files are missing or inconsistent."""
        model = cls()
        model.weights = IntentWeights.load(directory)
        return model


MODEL_JSON = "intent_model.json"
MODEL_ARRAYS = "intent_model.npz"
FORMAT_VERSION = 1
# What the scikit-learn vectorizers must be set to for _analyze to reproduce them.
_VECTORIZER_SETTINGS = {
    "lowercase": True,
    "strip_accents": None,
    "stop_words": None,
    "preprocessor": None,
    "tokenizer": None,
    "token_pattern": r"(?u)\b\w\w+\b",
    "binary": False,
    "use_idf": True,
    "sublinear_tf": True,
    "norm": "l2",
}
_TOKEN = re.compile(_VECTORIZER_SETTINGS["token_pattern"])  # type: ignore[arg-type]
_WHITE_SPACES = re.compile(r"\s\s+")


def _analyze(text: str, analyzer: str, min_n: int, max_n: int) -> list[str]:
    """The n-grams scikit-learn's TfidfVectorizer (analyzer "word" or "char_wb", the settings
    of _VECTORIZER_SETTINGS) takes from ``text``: the same code path, in the same order."""
    text = text.lower()
    grams: list[str] = []
    if analyzer == "word":
        tokens = _TOKEN.findall(text)
        if min_n == 1:
            grams.extend(tokens)
            min_n = 2
        for n in range(min_n, min(max_n + 1, len(tokens) + 1)):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams
    for word in _WHITE_SPACES.sub(" ", text).split():
        word = f" {word} "
        for n in range(min_n, max_n + 1):
            offset = 0
            grams.append(word[:n])
            while offset + n < len(word):
                offset += 1
                grams.append(word[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


@dataclass
class _Vectorizer:
    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]  # n-gram -> column, from 0 within this vectorizer
    idf: Any  # numpy array, one per column


@dataclass
class IntentWeights:
    """A fitted intent model as plain numbers: per vectorizer its vocabulary and idf, then the
    logistic regression's coefficients and intercepts. ``proba`` gives scikit-learn's
    predict_proba for one text (the same n-grams, sublinear TF x IDF, L2 norm per vectorizer,
    then the softmax, or the logistic for two classes) in ~0.2 ms instead of its 2-3 ms
    (FeatureUnion's joblib dispatch, validation, sparse matrices); the tests compare the two."""

    classes: list[str]
    vectorizers: list[_Vectorizer]
    coef_t: Any  # (features, classes), or (features, 1) for two classes
    intercept: Any

    def __post_init__(self) -> None:
        n_features = sum(len(v.vocabulary) for v in self.vectorizers)
        n_columns = 1 if len(self.classes) == 2 else len(self.classes)
        if len(self.classes) < 2 or self.coef_t.shape != (n_features, n_columns):
            raise ValueError(
                f"intent model: {len(self.classes)} classes and {n_features} features do not "
                f"fit coefficients of shape {self.coef_t.shape}"
            )
        if self.intercept.shape != (n_columns,):
            raise ValueError(f"intent model: intercepts of shape {self.intercept.shape}")
        for v in self.vectorizers:
            if v.idf.shape != (len(v.vocabulary),) or v.analyzer not in ("word", "char_wb"):
                raise ValueError(f"intent model: a bad {v.analyzer} vectorizer")
        self.offsets = []
        offset = 0
        for v in self.vectorizers:
            self.offsets.append(offset)
            offset += len(v.vocabulary)

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> IntentWeights:
        union, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
        vectorizers = []
        for _name, vectorizer in union.transformer_list:
            settings = vectorizer.get_params()
            wrong = {k: settings[k] for k, v in _VECTORIZER_SETTINGS.items() if settings[k] != v}
            if wrong:
                raise ValueError(f"intent model: unsupported vectorizer settings {wrong}")
            vectorizers.append(
                _Vectorizer(
                    vectorizer.analyzer,
                    tuple(vectorizer.ngram_range),
                    {str(k): int(i) for k, i in vectorizer.vocabulary_.items()},
                    np.asarray(vectorizer.idf_, dtype=np.float64),
                )
            )
        return cls(
            [str(c) for c in classifier.classes_],
            vectorizers,
            np.ascontiguousarray(classifier.coef_.T, dtype=np.float64),
            np.asarray(classifier.intercept_, dtype=np.float64),
        )

    def proba(self, text: str) -> Any:
        indices: list[int] = []
        values: list[float] = []
        for v, offset in zip(self.vectorizers, self.offsets, strict=True):
            counts: dict[int, int] = {}
            for gram in _analyze(text, v.analyzer, *v.ngram_range):
                index = v.vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            local = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))
            weights = tf * v.idf[local]
            weights /= np.sqrt(np.dot(weights, weights))
            indices.extend((local + offset).tolist())
            values.extend(weights.tolist())
        scores = self.intercept.copy()
        if indices:
            scores = scores + np.asarray(values) @ self.coef_t[indices]
        if len(self.classes) == 2:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - positive, positive])
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()

    def save(self, directory: Path) -> None:
        meta = {
            "format": FORMAT_VERSION,
            "classes": self.classes,
            "vectorizers": [
                {
                    "analyzer": v.analyzer,
                    "ngram_range": list(v.ngram_range),
                    # the n-grams in column order
                    "vocabulary": sorted(v.vocabulary, key=v.vocabulary.__getitem__),
                }
                for v in self.vectorizers
            ],
        }
        arrays = {f"idf_{n}": v.idf for n, v in enumerate(self.vectorizers)}
        arrays.update(coef_t=self.coef_t, intercept=self.intercept)
        with (directory / MODEL_ARRAYS).open("wb") as out:
            np.savez_compressed(out, **arrays)
        (directory / MODEL_JSON).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> IntentWeights:
        try:
            meta = json.loads((directory / MODEL_JSON).read_text("utf-8"))
            # numbers only: allow_pickle=False refuses any object array
            with np.load(directory / MODEL_ARRAYS, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"intent model: unknown format {meta.get('format')!r}")
            vectorizers = [
                _Vectorizer(
                    str(v["analyzer"]),
                    (int(v["ngram_range"][0]), int(v["ngram_range"][1])),
                    {str(gram): i for i, gram in enumerate(v["vocabulary"])},
                    np.asarray(arrays[f"idf_{n}"], dtype=np.float64),
                )
                for n, v in enumerate(meta["vectorizers"])
            ]
            return cls(
                [str(c) for c in meta["classes"]],
                vectorizers,
                np.ascontiguousarray(arrays["coef_t"], dtype=np.float64),
                np.asarray(arrays["intercept"], dtype=np.float64),
            )
        except (OSError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as error:
            raise ValueError(f"intent model unreadable in {directory}: {error}") from error


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
