"""Run by test_components.py with .venv-rasa's python: exercises the NLU components, prints JSON."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from trolydvc.nlu_components import (  # noqa: E402
    DossierCodeExtractor,
    ProcedureEntityExtractor,
    TfidfIntentClassifier,
    VietnameseNormalizer,
)
from trolydvc.textnorm import normalize_message  # noqa: E402


def main() -> None:
    out: dict = {}
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    context = ExecutionContext(GraphSchema({}), "probe")

    normalizer = VietnameseNormalizer.create({}, storage, Resource("norm"), context)
    text = "cần gì để làm gks ko ạaaa"
    start = text.index("gks")
    example = Message(
        data={
            "text": text,
            "intent": "ask_required_documents",
            "entities": [{"entity": "procedure", "start": start, "end": start + 3, "value": "gks"}],
        }
    )
    training = TrainingData([example], entity_synonyms={"giấy khai sinh": "1.001193"})
    normalizer.process_training_data(training)
    out["train_text"] = example.get("text")
    out["train_entities"] = example.get("entities")

    message = Message(data={"text": "tra cứu hs 000.00.20.h50-221107-0001 ko"})
    normalizer.process([message])
    out["serve_text"] = message.get("text")

    extractor = DossierCodeExtractor.create({}, storage, Resource("codes"), context)
    # a wrong procedure entity overlapping the code is dropped
    message.set(
        "entities",
        [{"entity": "procedure", "start": 15, "end": 20, "value": "x"}],
        add_to_output=True,
    )
    extractor.process([message])
    out["codes"] = message.get("entities")

    # the intent classifier: trained, persisted, loaded again, then asked
    examples = [
        Message(data={"text": normalize_message(text), "intent": intent})
        for intent, texts in {
            "ask_fee": ["lệ phí bao nhiêu", "mất bao nhiêu tiền", "phí làm hết bao nhiêu"],
            "greet": ["xin chào", "chào bạn", "chào buổi sáng"],
            "goodbye": ["tạm biệt", "chào tạm biệt nhé", "hẹn gặp lại"],
        }.items()
        for text in texts
    ]
    config = TfidfIntentClassifier.get_default_config()
    classifier = TfidfIntentClassifier.create(config, storage, Resource("intent"), context)
    classifier.train(TrainingData(examples))
    loaded = TfidfIntentClassifier.load(config, storage, Resource("intent"), context)
    asked = [Message(data={"text": normalize_message(t)}) for t in ["le phi bao nhieu", "chao ban"]]
    loaded.process(asked)
    out["intents"] = [m.get("intent")["name"] for m in asked]
    # the stored numbers give this scikit-learn's own probabilities (it trains in this env)
    probe_texts = [
        normalize_message(t) for t in ["le phi bao nhieu", "chào", "", "hẹn gặp lại nhé"]
    ]
    reference = classifier.model.proba_reference(probe_texts)
    names = loaded.model.intents
    out["max_proba_diff"] = max(
        abs(dict(ranking)[name] - float(row[i]))
        for ranking, row in zip(loaded.model.rank(probe_texts), reference, strict=True)
        for i, name in enumerate(names)
    )
    with storage.read_from(Resource("intent")) as directory:
        out["intent_files"] = sorted(p.name for p in directory.iterdir())
    out["ranking_sums_to_one"] = [
        round(sum(r["confidence"] for r in m.get("intent_ranking")), 6) for m in asked
    ]

    # the procedure extractor: generated synonyms + an annotated typo resolved to its code
    typo = "cần gì để làm khai sihn"
    start = typo.index("khai sihn")
    training = TrainingData(
        [
            Message(
                data={
                    "text": typo,
                    "intent": "ask_required_documents",
                    "entities": [
                        {
                            "entity": "procedure",
                            "start": start,
                            "end": start + 9,
                            "value": "khai sihn",
                        }
                    ],
                }
            )
        ],
        entity_synonyms={
            "đăng ký khai sinh": "1.001193",
            "khai sinh": "1.001193",
            "đăng ký kết hôn": "1.000894",
        },
    )
    procedures = ProcedureEntityExtractor.create({}, storage, Resource("proc"), context)
    procedures.train(training)
    loaded_procedures = ProcedureEntityExtractor.load({}, storage, Resource("proc"), context)
    out["table_typo"] = loaded_procedures.finder.table.get("khai sihn")
    found = []
    for text in [
        "làm giấy tờ đăng ký khai sinh cho con",
        "dang ky ket hon o dau",
        "đk kết hôn cần gì",
        "khai sinhh mất bao lâu",
        "hôm nay trời đẹp",
    ]:
        message = Message(data={"text": normalize_message(text)})
        loaded_procedures.process([message])
        found.append(
            [
                (message.get("text")[e["start"] : e["end"]], e["value"])
                for e in message.get("entities")
            ]
        )
    out["procedures"] = found
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
