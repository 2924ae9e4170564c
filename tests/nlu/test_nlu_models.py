"""trolydvc.nlu_models: the intent model and the procedure finder, outside Rasa."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from trolydvc.nlu_data import NLU_DIR, nlu_files, read_nlu_examples
from trolydvc.nlu_models import IntentModel, ProcedureFinder, procedure_key
from trolydvc.textnorm import normalize_message


@pytest.fixture(scope="module")
def model() -> IntentModel:
    examples = read_nlu_examples(nlu_files(NLU_DIR))
    # normalised first, as VietnameseNormalizer does in the pipeline
    texts = [normalize_message(e.text) for e in examples]
    trained = IntentModel().fit(texts, [e.intent for e in examples])
    return pickle.loads(pickle.dumps(trained))  # as the Rasa component stores and loads it


def test_fast_ranking_equals_scikit_learn(model: IntentModel) -> None:
    texts = [
        "làm giấy khai sinh cần giấy tờ gì",
        "le phi bao nhieu",
        "hs của tôi đến đâu rồi",
        "",
        "😀😀😀",
        "x" * 10_000,
        "Привет 你好 xin chào",
    ]
    texts = [normalize_message(t) for t in texts]
    reference = model.proba_reference(texts)
    names = model.intents
    for ranking, expected in zip(model.rank(texts), reference, strict=True):
        got = dict(ranking)
        assert np.allclose([got[n] for n in names], expected, atol=1e-9)
        assert [c for _, c in ranking] == sorted((c for _, c in ranking), reverse=True)


def test_same_intent_with_or_without_diacritics(model: IntentModel) -> None:
    accented, plain = model.rank(
        [
            normalize_message(t)
            for t in ["lệ phí làm giấy khai sinh bao nhiêu", "le phi lam giay khai sinh bao nhieu"]
        ]
    )
    assert accented[0][0] == plain[0][0] == "ask_fee"


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
