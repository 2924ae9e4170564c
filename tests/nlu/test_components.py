"""The Rasa components (trolydvc.nlu_components), exercised inside .venv-rasa."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from trolydvc.config import ROOT

RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
PROBE = Path(__file__).with_name("rasa_components_probe.py")

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def probe() -> dict:
    if not RASA_PY.exists():
        pytest.fail(".venv-rasa is missing: run `make setup`")
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [str(RASA_PY), str(PROBE)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_normalizer_moves_entity_spans_at_training_time(probe: dict) -> None:
    text = probe["train_text"]
    assert text == "cần gì để làm giấy khai sinh không ạ"
    (entity,) = probe["train_entities"]
    assert text[entity["start"] : entity["end"]] == "giấy khai sinh"
    assert entity["value"] == "giấy khai sinh"


def test_normalizer_rewrites_messages_at_serving_time(probe: dict) -> None:
    assert probe["serve_text"] == "tra cứu hồ sơ 000.00.20.H50-221107-0001 không"


def test_dossier_code_extracted_upper_case(probe: dict) -> None:
    (entity,) = probe["codes"]  # the overlapping procedure entity is gone
    assert entity["entity"] == "dossier_code"
    assert entity["value"] == "000.00.20.H50-221107-0001"
    assert entity["extractor"] == "DossierCodeExtractor"


def test_intent_classifier_trains_persists_and_loads(probe: dict) -> None:
    assert probe["intents"] == ["ask_fee", "greet"]  # asked without diacritics
    assert probe["ranking_sums_to_one"] == [1.0, 1.0]


def test_intent_model_stored_without_pickle_ranks_like_scikit_learn(probe: dict) -> None:
    # trained with .venv-rasa's scikit-learn (the one that trains the served model)
    assert probe["intent_files"] == ["intent_model.json", "intent_model.npz"]
    assert probe["max_proba_diff"] < 1e-9


def test_annotated_typo_joins_its_procedure(probe: dict) -> None:
    assert probe["table_typo"] == "1.001193"


def test_procedure_spans_found_without_accents_fillers_or_with_a_typo(probe: dict) -> None:
    assert probe["procedures"] == [
        [["đăng ký khai sinh", "1.001193"]],
        [["dang ky ket hon", "1.000894"]],
        [["đk kết hôn", "1.000894"]],
        [["khai sinhh", "1.001193"]],
        [],
    ]
