"""The NLU training data, its generator (`trolydvc nlu build`) and the held-out set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner

from trolydvc.catalog import load_catalog
from trolydvc.catalog.schema import Procedure
from trolydvc.config import ROOT
from trolydvc.nlu_data import (
    Entity,
    Example,
    augment,
    build,
    build_augmented,
    build_procedure_table,
    nlu,
    nlu_files,
    parse_markup,
    read_nlu_examples,
    substitute_procedures,
)
from trolydvc.textnorm import DOSSIER_CODE_PATTERN, fold, nfc, normalize_message

INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_capabilities", "ask_required_documents",
    "ask_fee", "ask_processing_time", "ask_where_to_submit", "ask_procedure_steps",
    "ask_online_submission", "check_dossier_status", "ask_statistics", "subscribe_notifications",
    "unsubscribe_notifications", "request_human", "give_feedback", "inform", "tell_location", "out_of_scope",
    "restart",
}  # fmt: skip
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
# the held-out slices in their own files (bench/nlu_eval.py SLICES): name -> (file, minimum size)
SLICES = {
    "formal": (ROOT / "tests" / "nlu" / "heldout_formal.yml", 80),
    "english": (ROOT / "tests" / "nlu" / "heldout_english.yml", 40),
}


def _key(text: str) -> str:
    return fold(normalize_message(text))


def test_markup_round_trip() -> None:
    ex = parse_markup(
        'lệ phí [khai sinh](procedure) và [gks]{"entity": "procedure", "value": "1.001193"}'
    )
    assert ex.text == "lệ phí khai sinh và gks"
    assert [(ex.span(e), e.value) for e in ex.entities] == [
        ("khai sinh", None),
        ("gks", "1.001193"),
    ]
    again = parse_markup(ex.to_markup())
    assert again.text == ex.text and again.entities == ex.entities
    ex = parse_markup("[sổ đỏ](procedure:1.013978) ạ")
    assert ex.entities == [Entity(0, 5, "procedure", "1.013978")]


def test_hand_written_data_covers_every_intent() -> None:
    examples = read_nlu_examples(nlu_files())
    counts = Counter(ex.intent for ex in examples)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 25, counts
    # the same words never under two intents
    owners: dict[str, set[str]] = {}
    for ex in examples:
        owners.setdefault(_key(ex.text), set()).add(ex.intent)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert not clashes
    # procedure spans carry no hand-typed catalog code: synonyms are generated
    assert all(e.value is None for ex in examples for e in ex.entities)


def test_augment_keeps_spans_on_the_same_words() -> None:
    ex = parse_markup(
        "cần giấy tờ gì để [đăng ký khai sinh](procedure) không ạ", "ask_required_documents"
    )
    variants = augment(ex)
    assert dict(variants)["unaccented"].text == "can giay to gi de dang ky khai sinh khong a"
    for kind, variant in variants:
        (entity,) = variant.entities
        span = variant.span(entity)
        assert span and span == span.strip()
        if kind == "typo":  # one letter dropped, doubled, swapped or without its tone mark
            assert abs(len(span) - len("đăng ký khai sinh")) <= 1
        else:  # "đk"/"dk" = đăng ký is left to the model, "dky" is expanded
            assert _key(span) in {"dang ky khai sinh", "dk khai sinh"}


def test_augmented_variants_never_collide_across_intents() -> None:
    examples = [
        parse_markup("có", "affirm"),
        parse_markup("cô", "greet"),  # folds to "co" too: its variant must be dropped
        parse_markup("không cần đâu", "deny"),
    ]
    generated = build_augmented(examples)
    texts = {ex.text for exs in generated.values() for ex in exs}
    assert "co" not in texts
    assert "khong can dau" in {ex.text for ex in generated["deny"]}


def _proc(code: str, name: str, aliases: list[str] | None = None) -> Procedure:
    return Procedure(code=code, name=name, aliases=aliases or [])


class _FakeCatalog(list):
    def search(self, text: str, limit: int = 3) -> list:
        return []

    @staticmethod
    def is_clear(hits: list) -> bool:
        return False


def test_procedure_table_priorities_and_conflicts() -> None:
    catalog = _FakeCatalog(
        [
            _proc("1.001193", "Thủ tục đăng ký khai sinh", ["làm giấy khai sinh"]),
            _proc("1.004873", "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân"),
            _proc("2.000001", "Cấp bản sao trích lục"),
            _proc("2.000002", "Cấp bản sao trích lục"),  # same name, two codes: left to retrieval
        ]
    )
    table = build_procedure_table(catalog)
    assert "giấy khai sinh" in table.synonyms["1.001193"]  # alias without "làm"
    assert "khai sinh" in table.synonyms["1.001193"]  # short form of the name
    assert "xác nhận tình trạng hôn nhân" in table.synonyms["1.004873"]
    assert "2.000001" not in table.synonyms and "2.000002" not in table.synonyms
    assert any(key == "ban sao trich luc" for key, _codes in table.dropped)


def test_substitution_replaces_the_procedure_span() -> None:
    ex = parse_markup("lệ phí [khai sinh](procedure) là bao nhiêu", "ask_fee")
    (variant,) = substitute_procedures([ex], ["tách thửa"])
    (entity,) = variant.entities
    assert variant.span(entity) in {"tách thửa", "tach thua"}
    assert variant.text.startswith("lệ phí ") and variant.text.endswith(" là bao nhiêu")


def test_build_writes_generated_files(tmp_path: Path) -> None:
    catalog = load_catalog()
    summary = build(out_dir=tmp_path, catalog=catalog)
    procedures = yaml.safe_load((tmp_path / "procedures.yml").read_text(encoding="utf-8"))
    items = procedures["nlu"]
    regex = next(i for i in items if i.get("regex") == "dossier_code")
    assert DOSSIER_CODE_PATTERN in regex["examples"]
    synonyms = {i["synonym"]: i["examples"] for i in items if "synonym" in i}
    assert "- khai sinh\n" in synonyms["1.001193"]  # the real catalog, its aliases
    assert any(i.get("lookup") == "procedure" for i in items)
    augmented = yaml.safe_load((tmp_path / "augmented.yml").read_text(encoding="utf-8"))
    assert {i["intent"] for i in augmented["nlu"]} <= INTENTS
    assert summary["generated"] > summary["examples"]
    assert summary["catalog_missing"] is None


def test_cli_build_reports_missing_catalog(tmp_path: Path, monkeypatch) -> None:
    import trolydvc.nlu_data as nlu_data

    monkeypatch.setattr(
        nlu_data, "load_catalog_or_none", lambda: (None, "catalog directory not found")
    )
    result = CliRunner().invoke(nlu, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "catalog directory not found" in result.output
    assert (tmp_path / "augmented.yml").exists()


def _heldout(path: Path = HELDOUT) -> list[Example]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for intent, subsets in data.items():
        for subset, block in subsets.items():
            for line in block.splitlines():
                if line.strip().startswith("- "):
                    ex = parse_markup(line.strip()[2:], intent)
                    ex.meta["subset"] = subset
                    out.append(ex)
    return out


def test_heldout_set_shape_and_independence() -> None:
    heldout = _heldout()
    assert len(heldout) >= 400
    assert {ex.intent for ex in heldout} == INTENTS
    for intent in INTENTS:
        subsets = {ex.meta["subset"] for ex in heldout if ex.intent == intent}
        assert subsets == {"accented", "unaccented", "abbreviated", "misspelled"}, intent
    assert sum(1 for ex in heldout if ex.entities) >= 80
    # written separately: held-out utterances are not training examples (a few one-word replies
    # such as "gks" may coincide)
    training = {nfc(ex.text).lower() for ex in read_nlu_examples(nlu_files())}
    overlap = [ex.text for ex in heldout if nfc(ex.text).lower() in training]
    assert len(overlap) <= len(heldout) // 50, overlap


def test_heldout_slices_shape_and_independence() -> None:
    # no slice sentence is a training example, even without accents, case or punctuation (a
    # two-word greeting such as "good morning" may coincide)
    training = {_key(ex.text).strip(" ?.!") for ex in read_nlu_examples(nlu_files())}
    for name, (path, minimum) in SLICES.items():
        examples = _heldout(path)
        assert len(examples) >= minimum, name
        assert {ex.meta["subset"] for ex in examples} == {name}
        assert {ex.intent for ex in examples} <= INTENTS
        copied = [
            ex.text
            for ex in examples
            if _key(ex.text).strip(" ?.!") in training and len(ex.text.split()) > 2
        ]
        assert not copied, (name, copied)
