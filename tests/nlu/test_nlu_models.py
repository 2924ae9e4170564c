"""trolydvc.nlu_models: the intent model and the procedure finder, outside Rasa."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from trolydvc.config import ROOT
from trolydvc.nlu_data import NLU_DIR, nlu_files, parse_markup, read_nlu_examples
from trolydvc.nlu_models import (
    MODEL_ARRAYS,
    MODEL_JSON,
    IntentModel,
    ProcedureFinder,
    _analyze,
    procedure_key,
)
from trolydvc.textnorm import normalize_message

HELDOUT = sorted(Path(__file__).parent.glob("heldout*.yml"))


def heldout_texts() -> list[str]:
    """Every held-out utterance (all slices), as the pipeline's normaliser leaves it."""
    texts = []
    for path in HELDOUT:
        for subsets in yaml.safe_load(path.read_text(encoding="utf-8")).values():
            for block in subsets.values():
                for line in block.splitlines():
                    if line.strip().startswith("- "):
                        texts.append(parse_markup(line.strip()[2:], "x").text)
    return [normalize_message(t) for t in texts]


ODD_TEXTS = ["", "😀😀😀", "x" * 10_000, "Привет 你好 xin chào", "a  b\t\tc\n d", "ĐĂNG KÝ"]


@pytest.fixture(scope="module")
def trained() -> IntentModel:
    examples = read_nlu_examples(nlu_files(NLU_DIR))
    # normalised first, as VietnameseNormalizer does in the pipeline
    texts = [normalize_message(e.text) for e in examples]
    return IntentModel().fit(texts, [e.intent for e in examples])


@pytest.fixture(scope="module")
def stored(trained: IntentModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("intent_model")
    trained.save(directory)  # as the Rasa component stores it
    return directory


@pytest.fixture(scope="module")
def model(stored: Path) -> IntentModel:
    return IntentModel.load(stored)  # as the Rasa component loads it: no scikit-learn


def test_stored_model_ranks_like_scikit_learn(trained: IntentModel, model: IntentModel) -> None:
    texts = heldout_texts() + [normalize_message(t) for t in ODD_TEXTS]
    assert len(texts) > 600
    reference = trained.proba_reference(texts)
    names = model.intents
    assert names == [str(c) for c in trained._pipeline.classes_]
    for ranking, expected in zip(model.rank(texts), reference, strict=True):
        got = dict(ranking)
        assert np.allclose([got[n] for n in names], expected, rtol=0, atol=1e-9)
        assert [c for _, c in ranking] == sorted((c for _, c in ranking), reverse=True)


def test_ngrams_are_scikit_learns(trained: IntentModel) -> None:
    texts = heldout_texts() + ODD_TEXTS
    for analyzer, ngram_range in (("word", (1, 2)), ("char_wb", (2, 5)), ("word", (1, 1))):
        reference = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range).build_analyzer()
        for text in texts:
            assert _analyze(text, analyzer, *ngram_range) == reference(text), (analyzer, text)


def test_stored_model_is_plain_data(stored: Path) -> None:
    assert sorted(p.name for p in stored.iterdir()) == sorted([MODEL_JSON, MODEL_ARRAYS])
    meta = json.loads((stored / MODEL_JSON).read_text("utf-8"))
    assert "ask_fee" in meta["classes"]
    with np.load(stored / MODEL_ARRAYS, allow_pickle=False) as arrays:
        assert all(arrays[name].dtype == np.float64 for name in arrays.files)


def test_serving_imports_no_scikit_learn(stored: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from trolydvc.nlu_models import IntentModel; "
        f"m = IntentModel.load(Path({str(stored)!r})); "
        "print(m.rank(['lệ phí bao nhiêu'])[0][0][0], 'sklearn' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["ask_fee", "False"]


def test_broken_or_pickled_files_are_refused(stored: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unreadable"):
        IntentModel.load(tmp_path)  # nothing stored
    (tmp_path / MODEL_JSON).write_bytes((stored / MODEL_JSON).read_bytes())
    # an object array needs pickle to load: refused, never unpickled
    np.savez(tmp_path / MODEL_ARRAYS, coef_t=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        IntentModel.load(tmp_path)
    with np.load(stored / MODEL_ARRAYS) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    parts["coef_t"] = parts["coef_t"][:-1]  # one feature short
    np.savez(tmp_path / MODEL_ARRAYS, **parts)
    with pytest.raises(ValueError, match="do not fit"):
        IntentModel.load(tmp_path)


def test_same_intent_with_or_without_diacritics(model: IntentModel) -> None:
    accented, plain = model.rank(
        [
            normalize_message(t)
            for t in ["lệ phí làm giấy khai sinh bao nhiêu", "le phi lam giay khai sinh bao nhieu"]
        ]
    )
    assert accented[0][0] == plain[0][0] == "ask_fee"


def test_two_intents_stored_and_loaded(tmp_path: Path) -> None:
    texts = ["lệ phí bao nhiêu", "mất bao nhiêu tiền", "xin chào", "chào bạn"]
    trained = IntentModel().fit(texts, ["ask_fee", "ask_fee", "greet", "greet"])
    trained.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    asked = ["phí bao nhiêu", "chào", ""]
    reference = trained.proba_reference(asked)
    for ranking, expected in zip(loaded.rank(asked), reference, strict=True):
        got = dict(ranking)
        assert np.allclose([got["ask_fee"], got["greet"]], expected, rtol=0, atol=1e-9)
    assert loaded.rank(["chào bạn"])[0][0][0] == "greet"


def test_one_intent_is_refused() -> None:
    with pytest.raises(ValueError, match="two intents"):
        IntentModel().fit(["a", "b"], ["greet", "greet"])


@pytest.fixture(scope="module")
def finder() -> ProcedureFinder:
    return ProcedureFinder.from_pairs(
        [
            ("Đăng ký khai sinh", "1.001193"),
            ("khai sinh", "1.001193"),
            ("giấy khai sinh", "1.001193"),
            ("đăng ký kết hôn", "1.000894"),
            ("đăng ký khai tử", "1.000656"),
            ("đăng ký khai sinh", "9.999999"),  # a later pair never overrides the first
            ("vneid", "3.000228"),
        ]
    )


def spans(finder: ProcedureFinder, text: str) -> list[tuple[str, str]]:
    return [(s.text, s.code) for s in finder.find(text)]


def test_longest_name_wins_and_fillers_are_left_out(finder: ProcedureFinder) -> None:
    assert spans(finder, "thủ tục đăng ký khai sinh cần gì") == [("đăng ký khai sinh", "1.001193")]
    assert spans(finder, "làm giấy khai sinh ở đâu") == [("giấy khai sinh", "1.001193")]


def test_a_name_after_the_filler_wins_when_it_reaches_further() -> None:
    finder = ProcedureFinder.from_pairs(
        [
            ("làm căn cước", "1.014061"),
            ("căn cước", "1.014061"),
            ("căn cước cho bé", "1.014062"),
            ("làm khai sinh", "1.001193"),
            ("khai sinh", "1.001193"),
        ]
    )
    assert spans(finder, "làm căn cước cho bé") == [("căn cước cho bé", "1.014062")]
    assert spans(finder, "làm căn cước") == [("căn cước", "1.014061")]
    # "là khai sinh" is one letter from "làm khai sinh": the exact "khai sinh" is the reading
    assert spans(finder, "là khai sinh") == [("khai sinh", "1.001193")]


def test_accents_case_and_dk_do_not_matter(finder: ProcedureFinder) -> None:
    assert spans(finder, "DANG KY KET HON o dau") == [("DANG KY KET HON", "1.000894")]
    assert spans(finder, "đk kết hôn") == [("đk kết hôn", "1.000894")]


def test_one_typo_in_a_long_name(finder: ProcedureFinder) -> None:
    assert spans(finder, "cần gì để làm khai sihn") == [("khai sihn", "1.001193")]
    assert spans(finder, "đăng ký khai tủ") == [("đăng ký khai tủ", "1.000656")]
    assert spans(finder, "đăng ký khai xyz") == []


def test_several_procedures_in_one_message(finder: ProcedureFinder) -> None:
    found = spans(finder, "khai sinh và kết hôn: đăng ký kết hôn, đăng ký khai tử")
    assert [code for _, code in found] == ["1.001193", "1.000894", "1.000656"]


def test_one_word_name_only_when_it_is_the_whole_message(finder: ProcedureFinder) -> None:
    assert spans(finder, "làm trên vneid được không") == []
    assert spans(finder, "VNeID") == [("VNeID", "3.000228")]


def test_keys_and_lookup(finder: ProcedureFinder) -> None:
    assert procedure_key("  Đăng   Ký  ") == "dang ky"
    assert finder.lookup("làm thủ tục đăng ký khai sinh") == "1.001193"
    assert finder.lookup("khai sihn") is None
    assert finder.lookup("khai sihn", fuzzy=True) == "1.001193"
    assert finder.find("") == []
