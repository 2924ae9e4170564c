"""Rasa 3.6 graph components for Vietnamese (imported only inside .venv-rasa).

Used in ``config.yml`` by their dotted path:

* :class:`VietnameseNormalizer` — first in the pipeline: rewrites the message text with
  :func:`trolydvc.textnorm.normalize_message` (NFC, tone-mark style, letter repeats, abbreviations
  and teencode, upper-case dossier codes). At training time the entity spans of each example are
  moved with the text, so training and serving see the same text. The parse result's ``text`` is
  the normalised text (entity offsets refer to it); the tracker keeps what the user typed.
* :class:`FoldingWhitespaceTokenizer` — Rasa's whitespace tokenizer, with each token's ``lemma``
  set to its accent-free lower-case form ("giấy" -> "giay"). A ``CountVectorsFeaturizer`` with
  ``use_lemma: true`` therefore computes features on accent-stripped text, alongside one with
  ``use_lemma: false`` on the accented text.
* :class:`DossierCodeExtractor` — the ``dossier_code`` entity (000.00.20.H50-221107-0001, any case
  in, upper case out), from :data:`trolydvc.textnorm.DOSSIER_CODE_PATTERN`; it also drops any
  other entity overlapping a code.
* :class:`FoldedSynonymMapper` — Rasa's synonym mapper, matching accent-, case- and
  abbreviation-insensitively ("giay khai sinh", "GKS" and "giấy khai sinh" give the same value),
  also after dropping leading filler words ("làm", "thủ tục", ...). Procedure synonyms map to the
  catalog code; they are generated from the catalog by ``trolydvc nlu build``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from trolydvc.textnorm import find_dossier_codes, fold, normalize_message, normalize_with_spans

logger = logging.getLogger(__name__)

DOSSIER_CODE_ENTITY = "dossier_code"
PROCEDURE_ENTITY = "procedure"
OUT_OF_SCOPE = "out_of_scope"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseNormalizer(GraphComponent):
    """Rewrites the message text into its normalised form before tokenisation."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseNormalizer:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize_example(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                message.set(TEXT, normalize_message(text))
        return messages

    @staticmethod
    def _normalize_example(example: Message) -> None:
        text = example.get(TEXT)
        if not isinstance(text, str) or not text:
            return
        entities = example.get(ENTITIES) or []
        if not entities:
            example.set(TEXT, normalize_message(text))
            return
        spans = [(e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END]) for e in entities]
        try:
            new_text, new_spans = normalize_with_spans(text, spans)
        except ValueError:
            logger.warning("Overlapping entities, example kept as written: %r", text)
            return
        new_entities = []
        for entity, (start, end) in zip(entities, new_spans, strict=True):
            entity = dict(entity)
            old_span = text[entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
            if entity.get(ENTITY_ATTRIBUTE_VALUE) == old_span:
                entity[ENTITY_ATTRIBUTE_VALUE] = new_text[start:end]
            entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = start, end
            new_entities.append(entity)
        example.set(TEXT, new_text)
        example.set(ENTITIES, new_entities)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class FoldingWhitespaceTokenizer(WhitespaceTokenizer):
    """Whitespace tokens whose lemma is the accent-free lower-case form of the token."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = fold(token.text)
        return tokens


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class DossierCodeExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts dossier codes (upper-cased) and removes other entities overlapping them."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DossierCodeExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            codes = find_dossier_codes(text)
            entities = [
                e
                for e in message.get(ENTITIES, [])
                if e.get(ENTITY_ATTRIBUTE_TYPE) != DOSSIER_CODE_ENTITY
                and not any(
                    e[ENTITY_ATTRIBUTE_START] < end and start < e[ENTITY_ATTRIBUTE_END]
                    for start, end, _ in codes
                )
            ]
            for start, end, code in codes:
                entity = {
                    ENTITY_ATTRIBUTE_TYPE: DOSSIER_CODE_ENTITY,
                    ENTITY_ATTRIBUTE_START: start,
                    ENTITY_ATTRIBUTE_END: end,
                    ENTITY_ATTRIBUTE_VALUE: code,
                    "confidence_entity": 1.0,
                }
                entities.extend(self.add_extractor_name([entity]))
            message.set(ENTITIES, entities, add_to_output=True)
        return messages


# Words people put before a procedure's name that are not part of it ("làm giấy khai sinh").
_FILLERS = (
    "thu tuc",
    "lam thu tuc",
    "lam",
    "xin",
    "xin cap",
    "nop",
    "ve",
    "cho",
    "cua",
    "viec",
    "ho so",
)


def tidy_procedure_entities(
    text: str,
    entities: list[dict[str, Any]],
    lookup: Callable[[str], str | None],
    drop_unresolved: bool = False,
) -> list[dict[str, Any]]:
    """Repair the procedure spans a sequence tagger typically gets slightly wrong.

    * adjacent pieces ("chứng thực" + "di chúc") are merged into one span when together they
      name a procedure (or neither piece does);
    * a span running past the name ("khi đăng ký tạm trú cho sinh viên") is cut back to its
      longest run of words that names a catalog procedure;
    * an unresolved one-word span ("khi", "hộ") is dropped: no procedure is named by one
      syllable that is not a known synonym; so is every unresolved span when the message is
      out of scope.
    """
    procs = sorted(
        (e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) == PROCEDURE_ENTITY),
        key=lambda e: e[ENTITY_ATTRIBUTE_START],
    )
    others = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) != PROCEDURE_ENTITY]
    merged: list[dict[str, Any]] = []
    for entity in procs:
        entity = dict(entity)
        if merged:
            last = merged[-1]
            gap = text[last[ENTITY_ATTRIBUTE_END] : entity[ENTITY_ATTRIBUTE_START]]
            joined = text[last[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
            first = text[last[ENTITY_ATTRIBUTE_START] : last[ENTITY_ATTRIBUTE_END]]
            second = text[entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]]
            if not gap.strip() and (
                lookup(joined) is not None or (lookup(first) is None and lookup(second) is None)
            ):
                last[ENTITY_ATTRIBUTE_END] = entity[ENTITY_ATTRIBUTE_END]
                last[ENTITY_ATTRIBUTE_VALUE] = joined
                continue
        merged.append(entity)
    kept = []
    for entity in merged:
        start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
        span = text[start:end]
        if lookup(span) is None:
            best = _longest_known_part(span, lookup)
            if best is not None:
                entity[ENTITY_ATTRIBUTE_START] = start + best[0]
                entity[ENTITY_ATTRIBUTE_END] = start + best[1]
                span = entity[ENTITY_ATTRIBUTE_VALUE] = span[best[0] : best[1]]
        if lookup(span) is None and (drop_unresolved or len(span.split()) < 2):
            continue
        kept.append(entity)
    return others + kept


def _longest_known_part(span: str, lookup: Callable[[str], str | None]) -> tuple[int, int] | None:
    """(start, end) of the longest run of >= 2 words of ``span`` that names a procedure."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", span)]
    for size in range(len(words) - 1, 1, -1):
        for i in range(len(words) - size + 1):
            start, end = words[i][0], words[i + size - 1][1]
            if lookup(span[start:end]) is not None:
                return start, end
    return None


def synonym_key(text: str) -> str:
    """The lookup key of an entity value or synonym: normalised, accent-free, lower-case."""
    return fold(normalize_message(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class FoldedSynonymMapper(EntitySynonymMapper):
    """EntitySynonymMapper with accent-, case- and abbreviation-insensitive keys."""

    def _add_entities_if_synonyms(self, entity: str, synonym: str | None) -> None:
        if synonym is None:
            return
        key, synonym = synonym_key(str(entity)), str(synonym)
        # The generator resolves conflicts (a key claimed by two codes is not written), so a
        # clash here comes from an annotated example; the explicit synonym table wins.
        if key != synonym.lower():
            self.synonyms.setdefault(key, synonym)
        self.synonyms.setdefault(synonym_key(synonym), synonym)

    def train(self, training_data: TrainingData) -> Resource:
        for key, value in list(training_data.entity_synonyms.items()):
            self._add_entities_if_synonyms(key, value)
        # annotated examples whose value differs from their text ("[gks](procedure:...)")
        for example in training_data.entity_examples:
            for entity in example.get(ENTITIES, []):
                span = example.get(TEXT)[
                    entity[ENTITY_ATTRIBUTE_START] : entity[ENTITY_ATTRIBUTE_END]
                ]
                value = str(entity.get(ENTITY_ATTRIBUTE_VALUE))
                if synonym_key(span) != synonym_key(value):
                    self._add_entities_if_synonyms(span, value)
        self._persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = tidy_procedure_entities(
                message.get(TEXT) or "",
                list(message.get(ENTITIES, [])),
                self.lookup,
                drop_unresolved=(message.get(INTENT) or {}).get("name") == OUT_OF_SCOPE,
            )
            self.replace_synonyms(entities)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def lookup(self, value: str) -> str | None:
        key = synonym_key(value)
        if key.startswith(("dk ", "dky ")):  # "đk kết hôn": here dk is đăng ký, not được
            key = "dang ky " + key.split(" ", 1)[1]
        if key in self.synonyms:
            return self.synonyms[key]
        changed = True
        while changed and key:
            changed = False
            for filler in _FILLERS:
                if key.startswith(filler + " "):
                    key = key[len(filler) + 1 :]
                    changed = True
                    if key in self.synonyms:
                        return self.synonyms[key]
        return None

    def replace_synonyms(self, entities: list[dict[str, Any]]) -> None:
        for entity in entities:
            if entity.get(ENTITY_ATTRIBUTE_TYPE) == DOSSIER_CODE_ENTITY:
                continue
            resolved = self.lookup(str(entity[ENTITY_ATTRIBUTE_VALUE]))
            if resolved is not None and resolved != entity[ENTITY_ATTRIBUTE_VALUE]:
                entity[ENTITY_ATTRIBUTE_VALUE] = resolved
                self.add_processor_name(entity)
