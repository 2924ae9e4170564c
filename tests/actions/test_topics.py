"""The answer-topic registry agrees with the Rasa domain and rules; the `pending` codec."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from actions import pending
from actions.procedures import ProcedureTopicAction
from actions.topics import TOPICS, topic_buttons
from trolydvc.catalog import load_catalog
from trolydvc.config import ROOT


def test_every_topic_is_in_the_domain_and_the_rules():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((ROOT / "nlu_data" / "rules.yml").read_text(encoding="utf-8"))
    pairs = {
        (rule["steps"][0].get("intent"), rule["steps"][1].get("action"))
        for rule in rules["rules"]
        if len(rule["steps"]) == 2
    }
    for topic in TOPICS.values():
        assert topic.intent in domain["intents"], topic.key
        assert topic.action in domain["actions"], topic.key
        assert (topic.intent, topic.action) in pairs, topic.key


def test_one_action_per_topic_and_the_action_server_registers_them():
    names = {cls().name() for cls in ProcedureTopicAction.__subclasses__()}
    assert names == {t.action for t in TOPICS.values()}
    executor = ActionExecutor()
    executor.register_package("actions")  # what `python -m rasa_sdk --actions actions` does
    assert names <= set(executor.actions)


def test_topic_buttons_ask_each_other_topic_of_the_procedure():
    proc = load_catalog().get("1.001193")
    assert proc is not None
    buttons = topic_buttons(proc, exclude="fee")
    assert [b["title"] for b in buttons] == [t.label for k, t in TOPICS.items() if k != "fee"]
    assert buttons[0]["payload"] == '/ask_required_documents{"procedure": "1.001193"}'


def test_pending_round_trips_and_keeps_the_dossier_values():
    for value in ("procedure:fee", "procedure:", "dossier_code", "phone_last4"):
        assert pending.encode(pending.decode(value)) == value
    assert pending.decode("procedure:time") == pending.which_procedure("time")
    assert pending.decode("procedure:") == pending.WHICH_PROCEDURE
    assert pending.decode("phone_last4") == pending.PHONE_LAST4
    assert pending.decode(None) is None and pending.decode("") is None
    assert pending.decode("something else") is None
    assert pending.encode(None) is None
