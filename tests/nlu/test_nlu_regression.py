"""NLU regression test on the held-out set (tests/nlu/heldout.yml).

Model: models/assistant.tar.gz when `scripts/train.py --check` says it is up to date with the
training inputs (`make test` trains it first); otherwise the NLU-only evaluation model
models/eval/ours.tar.gz, trained here if its inputs changed (a few minutes, once).

Stated thresholds, a little below what `make nlu-eval` measured (97.8% overall, 94.3-100% per
subset, out_of_scope recall 97.1%, procedure F1 98.8%; the model is a seeded logistic
regression, so retraining moves these little) so that a real regression fails the suite:
intent accuracy >= 96% overall and >= 92% on each subset (accented, unaccented, abbreviated,
misspelled), out_of_scope recall >= 90%, procedure-entity F1 >= 95%; on the formal/long and
English slices (heldout_formal.yml, heldout_english.yml) their targets, >= 92% and >= 90%.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from trolydvc.config import ROOT

pytestmark = pytest.mark.rasa

MIN_ACCURACY_ALL = 0.96
MIN_ACCURACY_SUBSET = 0.92
MIN_OOS_RECALL = 0.90
MIN_ENTITY_F1 = 0.95
# the slices of issue #17 (measured 100% formal, 95.9% English): their targets
MIN_ACCURACY_SLICES = {"formal": 0.92, "english": 0.90}

# Restart only when asked (issue #17.4): these restart the conversation...
RESTART_ASKED = [
    "bắt đầu lại",
    "bat dau lai",
    "/restart",
    "Bắt đầu lại từ đầu nhé",
    "lam lai tu dau",
]
# ...these ask about the paper to redo (intent as served, after the fallback)
REDO_A_PAPER = {
    "lam lai the can cuoc o dau": "ask_where_to_submit",
    "làm lại thẻ căn cước ở đâu": "ask_where_to_submit",
    "làm lại giấy khai sinh cho con cần giấy tờ gì": "ask_required_documents",
    "lam lai can cuoc het bao nhieu tien": "ask_fee",
    "lam lai so do mat bao lau": "ask_processing_time",
    "làm lại hộ chiếu bị mất thế nào": "ask_procedure_steps",
}
# English questions: the same intents, the procedure found by the catalog's English aliases
IN_ENGLISH = {
    "I lost my ID card, how do I get a new one?": ("ask_procedure_steps", "1.014064"),
    "How much is the fee for marriage registration?": ("ask_fee", "1.000894"),
    "Where do I submit a birth registration?": ("ask_where_to_submit", "1.001193"),
    "What documents do I need for temporary residence?": ("ask_required_documents", "1.004194"),
}
# The intent comes from the form of the question, known procedure or not (issue #17.1: the
# first two were inform and fallback)
BY_THE_FORM = {
    "Việc cấp phép vận tải hành khách bằng xe ô tô do cơ quan nào thực hiện?": "ask_where_to_submit",
    "Cho tôi hỏi thủ tục gia hạn giấy phép lái tàu bay thực hiện ở đâu?": "ask_where_to_submit",
    "cần giấy tờ gì để xin giấy phép nhập khẩu hóa chất": "ask_required_documents",
    "Thời hạn cấp giấy phép nhập khẩu thuốc thú y là bao lâu?": "ask_processing_time",
}


def _bench():
    spec = importlib.util.spec_from_file_location("nlu_eval", ROOT / "bench" / "nlu_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["nlu_eval"] = module
    spec.loader.exec_module(module)
    return module


def _model(bench) -> Path:
    assistant = ROOT / "models" / "assistant.tar.gz"
    check = ROOT / "scripts" / "train.py"
    if assistant.exists() and check.exists():
        fresh = subprocess.run(
            [sys.executable, str(check), "--check"], cwd=ROOT, capture_output=True, check=False
        )
        if fresh.returncode == 0:
            return assistant
    return bench.train_model("ours", bench.CONFIG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def evaluation():
    bench = _bench()
    if not bench.RASA.exists():
        pytest.fail(".venv-rasa is missing: run `make setup`")
    model = _model(bench)
    heldout = bench.load_heldout() + bench.load_slices()
    probe = "tra cứu hồ sơ 000.00.20.h50-221107-0001"
    extra = [probe, *RESTART_ASKED, *REDO_A_PAPER, *BY_THE_FORM, *IN_ENGLISH]
    results = bench.parse_inprocess(model, [ex.text for ex in heldout] + extra)
    preds = [bench.from_rasa(r) for r in results[: len(heldout)]]
    parsed = dict(zip(extra, results[len(heldout) :], strict=True))
    return bench, heldout, preds, parsed


def test_intent_accuracy_per_subset(evaluation) -> None:
    bench, heldout, preds, _ = evaluation
    scores = {}
    for subset in (*bench.SUBSETS, "all"):
        idx = [
            i
            for i, ex in enumerate(heldout)
            if ex.meta["subset"] == subset
            or (subset == "all" and ex.meta["subset"] in bench.SUBSETS)
        ]
        scores[subset] = bench.score([heldout[i] for i in idx], [preds[i] for i in idx])
    summary = {s: round(v.accuracy, 3) for s, v in scores.items()}
    assert scores["all"].accuracy >= MIN_ACCURACY_ALL, summary
    for subset in bench.SUBSETS:
        assert scores[subset].accuracy >= MIN_ACCURACY_SUBSET, (subset, summary)
    assert (scores["all"].oos_recall or 0.0) >= MIN_OOS_RECALL, scores["all"].oos_recall
    assert (scores["all"].entity_f1 or 0.0) >= MIN_ENTITY_F1, scores["all"].entity_f1


def test_intent_accuracy_formal_and_english_slices(evaluation) -> None:
    bench, heldout, preds, _ = evaluation
    for subset, minimum in MIN_ACCURACY_SLICES.items():
        idx = [i for i, ex in enumerate(heldout) if ex.meta["subset"] == subset]
        assert idx, subset
        scores = bench.score([heldout[i] for i in idx], [preds[i] for i in idx], entities=False)
        assert scores.accuracy >= minimum, (subset, round(scores.accuracy, 3), scores.confused)


def test_dossier_code_message(evaluation) -> None:
    *_, parses = evaluation
    parsed = parses["tra cứu hồ sơ 000.00.20.h50-221107-0001"]
    assert parsed["intent"]["name"] == "check_dossier_status"
    codes = [e["value"] for e in parsed["entities"] if e["entity"] == "dossier_code"]
    assert codes == ["000.00.20.H50-221107-0001"]


def test_intent_from_the_form_of_the_question(evaluation) -> None:
    *_, parses = evaluation
    for text, intent in BY_THE_FORM.items():
        assert parses[text]["intent"]["name"] == intent, (text, parses[text]["intent"])


def test_english_questions_same_intents_and_procedures(evaluation) -> None:
    *_, parses = evaluation
    for text, (intent, code) in IN_ENGLISH.items():
        parsed = parses[text]
        assert parsed["intent"]["name"] == intent, (text, parsed["intent"])
        procedures = [e["value"] for e in parsed["entities"] if e["entity"] == "procedure"]
        assert procedures == [code], (text, procedures)


def test_restart_only_when_asked(evaluation) -> None:
    *_, parses = evaluation
    for text in RESTART_ASKED:
        assert parses[text]["intent"]["name"] == "restart", text
    for text, intent in REDO_A_PAPER.items():
        assert parses[text]["intent"]["name"] == intent, (text, parses[text]["intent"])
