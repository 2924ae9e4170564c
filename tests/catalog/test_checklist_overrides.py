"""Curated checklist overrides: kept across re-imports, omitted from files that have none, used."""

from __future__ import annotations

from trolydvc.catalog import Document, Procedure
from trolydvc.catalog.guidance import checklist
from trolydvc.catalog.importer import keep_aliases
from trolydvc.catalog.schema import PaperOverride
from trolydvc.catalog.store import dump_procedure


def _proc(**extra: object) -> Procedure:
    docs = [Document(name="Giấy tờ chứng minh nơi cư trú trong trường hợp cơ quan không tra được.")]
    return Procedure(code="9.999997", name="Thủ tục thử", documents=docs, **extra)  # type: ignore[arg-type]


def test_overrides_survive_a_reimport_and_empty_ones_are_not_written():
    curated = _proc(
        aliases=["thử"],
        checklist=[PaperOverride(starts_with="Giấy tờ chứng minh", short="Giấy tờ cư trú")],
    )
    fresh = _proc()
    assert "checklist" not in dump_procedure(fresh)
    (kept,) = keep_aliases([fresh], [curated])
    assert kept.aliases == ["thử"] and kept.checklist == curated.checklist
    assert "checklist:" in dump_procedure(kept)


def test_an_override_replaces_the_short_name_and_the_case():
    plain = checklist(_proc()).papers[0]
    assert plain.short == "Giấy tờ chứng minh nơi cư trú" and plain.case is not None
    override = PaperOverride(
        starts_with="giay to chung minh", short="Giấy tờ cư trú", case="nếu cơ quan không tra được"
    )
    paper = checklist(_proc(checklist=[override])).papers[0]
    assert paper.short == "Giấy tờ cư trú" and paper.case is not None
    assert paper.case.label == "nếu cơ quan không tra được"
    core = checklist(_proc(checklist=[PaperOverride(starts_with="Giấy tờ", case="")])).papers[0]
    assert core.case is None
