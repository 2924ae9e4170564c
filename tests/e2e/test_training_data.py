"""`rasa data validate` over the domain, rules, stories and NLU data: clean, warnings included."""

from __future__ import annotations

import os
import subprocess

import pytest

from trolydvc.config import ROOT

pytestmark = pytest.mark.rasa

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"


def test_rasa_data_validate_is_clean():
    if not RASA.exists():
        pytest.fail(f"{RASA} not found: run `make setup`")
    result = subprocess.run(
        [
            str(RASA),
            "data",
            "validate",
            "--fail-on-warnings",
            "--domain",
            "domain.yml",
            "--data",
            "nlu_data",
            "--config",
            "config.yml",
        ],  # fmt: skip
        cwd=ROOT,
        env=dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "UserWarning" not in output, output[-4000:]


def test_domain_declares_the_required_intents_and_entities():
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    required = [
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "bot_capabilities",
        "ask_required_documents",
        "ask_fee",
        "ask_processing_time",
        "ask_where_to_submit",
        "ask_procedure_steps",
        "ask_online_submission",
        "check_dossier_status",
        "ask_statistics",
        "subscribe_notifications",
        "unsubscribe_notifications",
        "request_human",
        "give_feedback",
        "inform",
        "out_of_scope",
        "nlu_fallback",
    ]
    assert set(required) <= set(domain["intents"])
    assert {"procedure", "dossier_code"} <= set(domain["entities"])
