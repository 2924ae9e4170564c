"""`trolydvc nlu ...`: generated NLU training data.

``trolydvc nlu build`` writes ``nlu_data/generated/`` (gitignored) from two sources of truth:

* ``procedures.yml`` — from the catalog (``trolydvc.catalog.load_catalog()``): the ``procedure``
  lookup table and the synonyms mapping the ways a procedure is named (official name, name without
  "Thủ tục", curated aliases, short forms) to its catalog code, e.g. ``1.001193``; plus the
  ``dossier_code`` regex from :data:`trolydvc.textnorm.DOSSIER_CODE_PATTERN`.
* ``augmented.yml`` — variants of the hand-written examples in ``nlu_data/nlu/``: without
  diacritics, with shorthand ("hs", "ko", "bn"), both, and with one typo. Deterministic (seeded by
  the example text), deduplicated, never colliding with an example of another intent.

The Rasa environment never imports this module (it needs PyYAML and the catalog).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml

from trolydvc.catalog.importer import LOCAL_LEVELS
from trolydvc.config import ROOT
from trolydvc.textnorm import (
    AUGMENT_ABBREVIATIONS,
    DOSSIER_CODE_PATTERN,
    fold,
    normalize_message,
    strip_diacritics,
)

NLU_DIR = ROOT / "nlu_data" / "nlu"
GENERATED_DIR = ROOT / "nlu_data" / "generated"
PROCEDURE_ENTITY = "procedure"

# --------------------------------------------------------------------------------------------
# Rasa's inline entity markup: [text](entity), [text](entity:value), [text]{"entity": ...}
_MARKUP = re.compile(
    r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|(?P<json>\{[^}]+\}))"
)


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    entity: str
    value: str | None = None  # None: the span text itself


@dataclass
class Example:
    """One annotated utterance: plain text plus entity spans."""

    text: str
    intent: str
    entities: list[Entity] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def span(self, entity: Entity) -> str:
        return self.text[entity.start : entity.end]

    def to_markup(self) -> str:
        out, pos = [], 0
        for e in sorted(self.entities, key=lambda e: e.start):
            out.append(self.text[pos : e.start])
            if e.value is None:
                out.append(f"[{self.text[e.start : e.end]}]({e.entity})")
            else:
                out.append(
                    f"[{self.text[e.start : e.end]}]"
                    + json.dumps({"entity": e.entity, "value": e.value}, ensure_ascii=False)
                )
            pos = e.end
        out.append(self.text[pos:])
        return "".join(out)


def parse_markup(line: str, intent: str = "") -> Example:
    """Parse one example line with inline entity annotations."""
    text, entities, pos = "", [], 0
    for m in _MARKUP.finditer(line):
        text += line[pos : m.start()]
        start = len(text)
        text += m.group("text")
        if m.group("json"):
            data = json.loads(m.group("json"))
            name, value = data["entity"], data.get("value")
        else:
            name, value = m.group("entity"), m.group("value")
        entities.append(Entity(start, len(text), name.strip(), value))
        pos = m.end()
    text += line[pos:]
    return Example(text, intent, entities)


def _example_lines(block: str) -> Iterator[str]:
    for raw in block.splitlines():
        raw = raw.strip()
        if raw.startswith("- "):
            yield raw[2:].strip()


def read_nlu_examples(paths: Iterable[Path]) -> list[Example]:
    """The intent examples of Rasa NLU YAML files (synonyms, lookups, regexes are skipped)."""
    examples: list[Example] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            intent = item.get("intent")
            if not intent:
                continue
            for line in _example_lines(item.get("examples") or ""):
                examples.append(parse_markup(line, intent))
    return examples


def nlu_files(directory: Path = NLU_DIR) -> list[Path]:
    return sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))


# --------------------------------------------------------------------------------------------
# Augmentation


def _rng(text: str, salt: str) -> random.Random:
    digest = hashlib.sha256(f"{salt}:{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _transform(example: Example, fn) -> Example:
    """Apply ``fn`` (str -> str) to every piece of the text, keeping entity spans aligned."""
    pieces: list[tuple[str, Entity | None]] = []
    pos = 0
    for e in sorted(example.entities, key=lambda e: e.start):
        pieces.append((example.text[pos : e.start], None))
        pieces.append((example.text[e.start : e.end], e))
        pos = e.end
    pieces.append((example.text[pos:], None))
    text, entities = "", []
    for piece, entity in pieces:
        new = fn(piece)
        if entity is not None:
            new = new.strip() or piece
            entities.append(Entity(len(text), len(text) + len(new), entity.entity, entity.value))
        text += new
    return Example(text, example.intent, entities)


_ABBR_PATTERNS = sorted(AUGMENT_ABBREVIATIONS, key=len, reverse=True)
_ABBR_RE = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(p) for p in _ABBR_PATTERNS) + r")(?!\w)", re.IGNORECASE
)


def abbreviate(text: str, rng: random.Random, rate: float = 0.8) -> str:
    """Replace known phrases by a shorthand people type ('không' -> 'ko', 'hồ sơ' -> 'hs')."""

    def repl(m: re.Match[str]) -> str:
        forms = AUGMENT_ABBREVIATIONS.get(m.group(0).lower())
        if not forms or rng.random() > rate:
            return m.group(0)
        return rng.choice(forms)

    return _ABBR_RE.sub(repl, text)


_VOWEL_TONES = "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"


def typo(text: str, rng: random.Random) -> str:
    """One plausible typing mistake in one word of ``text`` (or ``text`` unchanged)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\w{4,}", text) if not m.group(0).isdigit()]
    if not words:
        return text
    start, end = rng.choice(words)
    word = text[start:end]
    kind = rng.randrange(4)
    i = rng.randrange(len(word))
    if kind == 0:  # dropped letter
        new = word[:i] + word[i + 1 :]
    elif kind == 1:  # doubled letter
        new = word[:i] + word[i] + word[i:]
    elif kind == 2 and len(word) > 1:  # swapped neighbours
        i = min(i, len(word) - 2)
        new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:  # wrong or missing tone mark on one vowel
        toned = [j for j, ch in enumerate(word) if ch in _VOWEL_TONES]
        if toned:
            j = rng.choice(toned)
            new = word[:j] + strip_diacritics(word[j]) + word[j + 1 :]
        else:
            new = word[:i] + word[i + 1 :]
    return text[:start] + new + text[end:]


def augment(example: Example) -> list[tuple[str, Example]]:
    """(kind, variant) pairs for one hand-written example."""
    rng = _rng(example.text, example.intent)
    variants: list[tuple[str, Example]] = []
    stripped = _transform(example, strip_diacritics)
    variants.append(("unaccented", stripped))
    abbreviated = _transform(example, lambda s: abbreviate(s, rng))
    variants.append(("abbreviated", abbreviated))
    if rng.random() < 0.5:
        variants.append(("abbreviated_unaccented", _transform(abbreviated, strip_diacritics)))
    # one typo, in the accented or the unaccented form, for a third of the sentences
    if len(example.text.split()) < 3 or rng.random() < 0.67:
        return variants
    base = example if rng.random() < 0.5 else stripped
    typo_rng = _rng(example.text, "typo")
    if example.entities and typo_rng.random() < 0.5:
        # keep entity spans intact for half of the typo variants
        variants.append(("typo", _transform_outside_entities(base, lambda s: typo(s, typo_rng))))
    else:
        variants.append(("typo", _typo_whole(base, typo_rng)))
    return variants


def _transform_outside_entities(example: Example, fn) -> Example:
    pos, text, entities = 0, "", []
    for e in sorted(example.entities, key=lambda e: e.start):
        text += fn(example.text[pos : e.start])
        new_start = len(text)
        text += example.text[e.start : e.end]
        entities.append(Entity(new_start, len(text), e.entity, e.value))
        pos = e.end
    text += fn(example.text[pos:])
    return Example(text, example.intent, entities)


def _typo_whole(example: Example, rng: random.Random) -> Example:
    if not example.entities:
        return Example(typo(example.text, rng), example.intent, [])
    # a typo inside the procedure span: the synonym mapper may not resolve it, but the span
    # must still be found
    return _transform(example, lambda s: typo(s, rng) if s.strip() else s)


def _dedupe_key(text: str) -> str:
    return fold(normalize_message(text))


def substitute_procedures(
    examples: list[Example], names: list[str], per_example: int = 1, per_inform: int = 2
) -> list[Example]:
    """Copies of examples naming a procedure with the span replaced by another catalog name.

    Teaches the entity extractor that any catalog name or alias is a procedure, not only the
    few named in hand-written examples. ``names`` are surface forms from the catalog.
    """
    if not names:
        return []
    out: list[Example] = []
    for ex in examples:
        spans = [e for e in ex.entities if e.entity == PROCEDURE_ENTITY]
        if len(spans) != 1:
            continue
        target = spans[0]
        rng = _rng(ex.text, "substitute")
        for _ in range(per_inform if ex.intent == "inform" else per_example):
            name = rng.choice(names)
            if rng.random() < 0.4:
                name = strip_diacritics(name)
            text = ex.text[: target.start] + name + ex.text[target.end :]
            shift = len(name) - (target.end - target.start)
            entities = []
            for e in ex.entities:
                if e is target:
                    entities.append(Entity(e.start, e.start + len(name), e.entity, None))
                elif e.start >= target.end:
                    entities.append(Entity(e.start + shift, e.end + shift, e.entity, e.value))
                else:
                    entities.append(e)
            out.append(Example(text, ex.intent, entities))
    return out


def substitution_names(table: ProcedureTable, max_words: int = 7) -> list[str]:
    """Catalog surface forms short enough to be typed in a question, lower-cased."""
    names = {
        form.lower()
        for forms in table.synonyms.values()
        for form in forms
        if len(form.split()) <= max_words and "," not in form
    }
    return sorted(names)


def build_augmented(
    examples: list[Example], extra: list[Example] | None = None
) -> dict[str, list[Example]]:
    """Generated variants per intent, without duplicates or cross-intent collisions."""
    owner: dict[str, set[str]] = defaultdict(set)
    written = {ex.text.strip().lower() for ex in examples}
    for ex in examples:
        owner[_dedupe_key(ex.text)].add(ex.intent)
    generated: dict[str, list[Example]] = defaultdict(list)
    seen: dict[str, set[str]] = defaultdict(set)
    candidates: list[Example] = []
    pairs = [(ex, variant) for ex in examples for _kind, variant in augment(ex)]
    pairs += [(None, variant) for variant in extra or []]
    for ex, variant in pairs:
        if not variant.text.strip() or (ex is not None and variant.text == ex.text):
            continue
        key = _dedupe_key(variant.text)
        seen[key].add(variant.intent)
        candidates.append(variant)
    emitted: set[tuple[str, str]] = set()
    for variant in candidates:
        key = _dedupe_key(variant.text)
        exact = variant.text.strip().lower()
        if len(seen[key]) > 1 or (owner.get(key, set()) - {variant.intent}):
            continue  # the same words under two intents: drop, never guess
        if exact in written or (variant.intent, exact) in emitted:
            continue
        emitted.add((variant.intent, exact))
        generated[variant.intent].append(variant)
    return generated


# --------------------------------------------------------------------------------------------
# Procedure names -> catalog codes

_PREFIXES = ("thủ tục ", "tthc ")
# leading words dropped to derive the short forms people use:
# "cấp Giấy xác nhận tình trạng hôn nhân" -> "Giấy xác nhận ..." -> "xác nhận tình trạng hôn nhân"
_SHORT_PREFIXES = ("đăng ký ", "cấp ", "giấy ", "giải quyết ", "thực hiện ", "thủ tục ")
_REQUEST_WORDS = ("làm ", "xin ", "làm thủ tục ")


def _clean_name(name: str) -> str:
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name.strip())  # trailing "(...)" qualifiers
    low = name.lower()
    for prefix in _PREFIXES:
        if low.startswith(prefix):
            name = name[len(prefix) :]
            low = low[len(prefix) :]
    return name.strip().rstrip(".")


def _short_forms(name: str) -> list[str]:
    forms, current = [], name
    while True:
        low = current.lower()
        prefix = next((p for p in _SHORT_PREFIXES if low.startswith(p)), None)
        if prefix is None:
            return forms
        current = current[len(prefix) :]
        rest = current.lower()
        if len(current.split()) < 2 or rest.startswith(("lại ", "đổi ", "và ", ",")):
            return forms
        forms.append(current)


def procedure_names(procedure: Any) -> list[tuple[int, str]]:
    """(priority, surface form) naming one procedure; lower priority number wins a clash."""
    forms: list[tuple[int, str]] = []
    for alias in getattr(procedure, "aliases", []) or []:
        alias = alias.strip()
        if not alias:
            continue
        forms.append((0, alias))
        for word in _REQUEST_WORDS:
            if alias.lower().startswith(word):
                forms.append((0, alias[len(word) :]))
    name = _clean_name(procedure.name)
    forms.append((1, procedure.name.strip().rstrip(".")))
    forms.append((1, name))
    forms.extend((2, short) for short in _short_forms(name))
    seen, unique = set(), []
    for prio, form in forms:
        form = " ".join(form.split())
        if form and form.lower() not in seen and len(form) <= 120:
            seen.add(form.lower())
            unique.append((prio, form))
    return unique


@dataclass
class ProcedureTable:
    synonyms: dict[str, list[str]]  # code -> surface forms
    lookup: list[str]
    dropped: list[tuple[str, list[str]]]  # ambiguous keys left to retrieval


def build_procedure_table(catalog: Any) -> ProcedureTable:
    """Synonyms (surface form -> code) and the lookup table, from the catalog."""
    claims: dict[str, dict[int, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    local: set[str] = set()  # codes done at Cấp xã or Cấp tỉnh
    for proc in catalog:
        if set(getattr(proc, "levels", []) or []) & set(LOCAL_LEVELS):
            local.add(proc.code)
        for prio, form in procedure_names(proc):
            claims[_dedupe_key(form)][prio].setdefault(proc.code, form)
    synonyms: dict[str, list[str]] = defaultdict(list)
    dropped: list[tuple[str, list[str]]] = []
    lookup: set[str] = set()
    for key, by_prio in sorted(claims.items()):
        prio = min(by_prio)
        owners = by_prio[prio]
        # the same name at several levels ("... (thực hiện tại cấp trung ương)"): a citizen
        # means the local one
        local_owners = [c for c in owners if c in local]
        if len(owners) == 1:
            code = next(iter(owners))
        elif len(local_owners) == 1:
            code = local_owners[0]
        else:
            code = _disambiguate(catalog, key, owners)
            if code is None:
                dropped.append((key, sorted(owners)))
                continue
        form = owners[code]
        synonyms[code].append(form)
        if prio in (0, 2) or len(form.split()) <= 8:
            lookup.add(form.lower())
            lookup.add(strip_diacritics(form.lower()))  # the text may come without accents
    return ProcedureTable(dict(synonyms), sorted(lookup), dropped)


def _disambiguate(catalog: Any, key: str, owners: dict[str, str]) -> str | None:
    """The claimant the catalog search clearly prefers for ``key`` (common citizen procedure)."""
    search = getattr(catalog, "search", None)
    if search is None:
        return None
    hits = search(key, limit=3)
    if hits and catalog.is_clear(hits) and hits[0].procedure.code in owners:
        return hits[0].procedure.code
    return None


# --------------------------------------------------------------------------------------------
# YAML writers (block style, one example per line, like hand-written Rasa files)

_HEADER = "# GENERATED by `trolydvc nlu build` — do not edit; edit {source} instead.\n"


def _block(items: Iterable[str]) -> str:
    return "".join(f"    - {item}\n" for item in items)


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_procedures_yml(table: ProcedureTable, path: Path) -> None:
    parts = [
        _HEADER.format(source="procedures_catalog/ (names, aliases)"),
        'version: "3.1"\nnlu:\n',
        f"- regex: dossier_code\n  examples: |\n{_block([DOSSIER_CODE_PATTERN])}",
    ]
    if table.lookup:
        parts.append(f"- lookup: {PROCEDURE_ENTITY}\n  examples: |\n{_block(table.lookup)}")
    for code in sorted(table.synonyms):
        parts.append(f"- synonym: {_quote(code)}\n  examples: |\n{_block(table.synonyms[code])}")
    path.write_text("".join(parts), encoding="utf-8")


def write_augmented_yml(generated: dict[str, list[Example]], path: Path) -> None:
    parts = [_HEADER.format(source="nlu_data/nlu/*.yml"), 'version: "3.1"\nnlu:\n']
    for intent in sorted(generated):
        lines = [ex.to_markup() for ex in generated[intent]]
        parts.append(f"- intent: {intent}\n  examples: |\n{_block(lines)}")
    path.write_text("".join(parts), encoding="utf-8")


def load_catalog_or_none() -> tuple[Any | None, str | None]:
    """The catalog, or None with the reason (a fresh clone before `trolydvc catalog import`)."""
    try:
        from trolydvc.catalog import load_catalog
    except ImportError as exc:  # pragma: no cover - the catalog package ships with the project
        return None, f"catalog package unavailable ({exc})"
    try:
        catalog = load_catalog()
    except Exception as exc:  # CatalogError and unreadable files: report, do not crash
        return None, str(exc)
    if len(catalog) == 0:
        return None, "the catalog is empty"
    return catalog, None


def build(
    nlu_dir: Path = NLU_DIR, out_dir: Path = GENERATED_DIR, catalog: Any | None = None
) -> dict[str, Any]:
    """Write the generated training data; return a summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = read_nlu_examples(nlu_files(nlu_dir))
    if not examples:
        raise click.ClickException(f"Không tìm thấy câu mẫu NLU nào trong {nlu_dir}")
    reason = None
    if catalog is None:
        catalog, reason = load_catalog_or_none()
    table = build_procedure_table(catalog) if catalog is not None else ProcedureTable({}, [], [])
    write_procedures_yml(table, out_dir / "procedures.yml")
    substituted = substitute_procedures(examples, substitution_names(table))
    generated = build_augmented(examples, substituted)
    write_augmented_yml(generated, out_dir / "augmented.yml")
    summary: dict[str, Any] = {
        "examples": len(examples),
        "generated": sum(len(v) for v in generated.values()),
    }
    summary.update(
        procedures=len(table.synonyms),
        synonyms=sum(len(v) for v in table.synonyms.values()),
        lookup=len(table.lookup),
        ambiguous=len(table.dropped),
        catalog_missing=reason,
    )
    return summary


@click.group()
def nlu() -> None:
    """Dữ liệu huấn luyện NLU: sinh từ danh mục thủ tục và làm giàu câu mẫu."""


@nlu.command("build")
@click.option(
    "--nlu-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=NLU_DIR,
    help="Thư mục câu mẫu viết tay (mặc định: nlu_data/nlu/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=GENERATED_DIR,
    help="Thư mục ghi dữ liệu sinh ra (mặc định: nlu_data/generated/).",
)
def build_cmd(nlu_dir: Path, out_dir: Path) -> None:
    """Sinh dữ liệu huấn luyện NLU (mặc định vào nlu_data/generated/).

    Gồm từ đồng nghĩa và bảng tra tên thủ tục lấy từ danh mục, cùng các biến thể của câu mẫu
    viết tay.
    """
    summary = build(nlu_dir, out_dir)
    click.echo(
        f"{summary['examples']} câu mẫu viết tay -> {summary['generated']} biến thể được sinh ra"
    )
    if summary["catalog_missing"]:
        click.echo(
            f"CẢNH BÁO: chưa có từ đồng nghĩa tên thủ tục: {summary['catalog_missing']}. "
            "Hãy chạy `trolydvc catalog import` trước; giá trị thực thể thủ tục sẽ giữ nguyên "
            "như trong câu.",
            err=True,
        )
    else:
        click.echo(
            f"{summary['procedures']} thủ tục, {summary['synonyms']} từ đồng nghĩa, "
            f"{summary['lookup']} mục trong bảng tra, {summary['ambiguous']} tên ứng với nhiều "
            "thủ tục (để bước tìm kiếm xử lý)"
        )
    click.echo(f"Đã ghi vào {out_dir}")


@nlu.command("normalize")
@click.argument("text", nargs=-1, required=True)
def normalize_cmd(text: tuple[str, ...]) -> None:
    """In TEXT sau khi chuẩn hóa (như NLU nhận được) và dạng không dấu."""
    message = normalize_message(" ".join(text))
    click.echo(message)
    click.echo(fold(message))
