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
    FoldedSynonymMapper,
    FoldingWhitespaceTokenizer,
    VietnameseNormalizer,
    tidy_procedure_entities,
)


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

    tokenizer = FoldingWhitespaceTokenizer(FoldingWhitespaceTokenizer.get_default_config())
    tokens = tokenizer.tokenize(Message(data={"text": "Giấy tờ đăng ký"}), "text")
    out["tokens"] = [[t.text, t.lemma] for t in tokens]

    extractor = DossierCodeExtractor.create({}, storage, Resource("codes"), context)
    # a wrong procedure entity overlapping the code is dropped
    message.set(
        "entities",
        [{"entity": "procedure", "start": 15, "end": 20, "value": "x"}],
        add_to_output=True,
    )
    extractor.process([message])
    out["codes"] = message.get("entities")

    mapper_config = FoldedSynonymMapper.get_default_config()
    mapper = FoldedSynonymMapper.create(mapper_config, storage, Resource("syn"), context)
    mapper.train(training)
    loaded = FoldedSynonymMapper.load(mapper_config, storage, Resource("syn"), context)
    entities = [
        {"entity": "procedure", "start": 0, "end": 1, "value": value}
        for value in ["Giấy khai sinh", "giay khai sinh", "làm giấy khai sinh", "GKS", "tách thửa"]
    ]
    loaded.replace_synonyms(entities)
    out["mapped"] = [e["value"] for e in entities]

    def proc(text: str, piece: str) -> dict:
        start = text.index(piece)
        return {"entity": "procedure", "start": start, "end": start + len(piece), "value": piece}

    known = {"chứng thực di chúc": "2.001019", "đăng ký tạm trú": "1.004194"}
    text = "muốn chứng thực di chúc khi đăng ký tạm trú cho sinh viên"
    tidy = tidy_procedure_entities(
        text,
        [
            proc(text, "chứng thực"),
            proc(text, "di chúc"),
            proc(text, "khi"),
            proc(text, "đăng ký tạm trú cho sinh viên"),
        ],
        known.get,
    )
    out["tidy"] = [text[e["start"] : e["end"]] for e in tidy]
    text = "mua xe điện hay xe xăng"
    out["tidy_oos"] = tidy_procedure_entities(
        text, [proc(text, "mua xe điện")], known.get, drop_unresolved=True
    )
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
