"""Which procedure a message is about: entity, then the whole message, then the context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rasa_sdk import Tracker

from actions.common import MAX_QUERY_CHARS, POPULAR_CODES, catalog, entity_values, user_text
from trolydvc.catalog import Procedure, SearchHit, is_clear
from trolydvc.textnorm import fold, nfc, normalize_tone_marks

# A search hit over the whole message counts only if the message shares at least this many
# distinct syllables with the matched name or alias: retrieval is typo-tolerant, so a bare
# follow-up such as "còn lệ phí thì sao?" would otherwise "match" a procedure about "con".
MIN_SHARED_SYLLABLES = 2
_WORD = re.compile(r"[a-z0-9]+")
_SYLLABLE = re.compile(r"\w+")


# Syllables of the questions themselves (what is asked, not which procedure): "cần mang gì",
# "mất bao lâu", "phí bao nhiêu tiền", "nộp ở đâu", "thủ tục thế nào". They do not count as
# shared with a name. Typed without diacritics they match their accent-free form.
# fmt: off
_QUESTION_WORDS = (
    "gì", "nào", "sao", "đâu", "bao", "nhiêu", "lâu", "cần", "mang", "tiền", "phí", "lệ", "mất",
    "hết", "thế", "thì", "như", "không", "có", "được", "tôi", "mình", "em", "bạn", "hỏi", "ạ",
    "nhé", "vậy", "ở", "nộp", "thủ", "tục", "giấy", "tờ", "thời", "hạn", "giải", "quyết", "bước",
    "trực", "tuyến", "online", "mạng", "xong",
)
# fmt: on
# "hồ sơ" is in every question and many names, but typed without diacritics "ho so" is also the
# "hộ" of "hộ khẩu" and the "sổ" of "sổ đỏ": only the accented form is left out.
_ACCENTED_ONLY = ("hồ", "sơ")
QUESTION_SYLLABLES = frozenset(_QUESTION_WORDS + _ACCENTED_ONLY)
_QUESTION_PLAIN = frozenset(fold(s) for s in _QUESTION_WORDS)


def _syllables(text: str) -> set[str]:
    """Lower-case syllables with their diacritics, tone marks placed one way ('hoà' = 'hòa')."""
    return set(_SYLLABLE.findall(normalize_tone_marks(nfc(text)).lower()))


def shared_syllables(text: str, hit: SearchHit) -> int:
    """Distinct syllables of the message found in the matched name or alias, question words
    aside (QUESTION_SYLLABLES). A syllable typed with diacritics counts only with the same
    diacritics there ("căn" is not the "cán" of "cán bộ"); one typed without them matches any."""
    name_folded = set(_WORD.findall(hit.matched))
    name_exact = _syllables(hit.source) if hit.source else set()
    shared = set()
    for syllable in _syllables(text):
        plain = fold(syllable)
        if plain not in name_folded:
            continue
        if syllable == plain:  # typed without diacritics
            if plain in _QUESTION_PLAIN:
                continue
        elif syllable in QUESTION_SYLLABLES or (hit.source and syllable not in name_exact):
            continue
        shared.add(plain)
    return len(shared)


def plausible_hits(text: str, hits: list[SearchHit]) -> list[SearchHit]:
    """The hits that really share words with the message (see MIN_SHARED_SYLLABLES)."""
    return [h for h in hits if shared_syllables(text, h) >= MIN_SHARED_SYLLABLES]


@dataclass
class Resolution:
    procedure: Procedure | None = None
    candidates: list[Procedure] = field(default_factory=list)
    source: str = ""  # "entity" | "message" | "context" | ""


def resolve_procedure(tracker: Tracker, use_context: bool = True) -> Resolution:
    cat = catalog()
    candidates: list[Procedure] = []

    # 1. The `procedure` entity (a catalog code after synonym mapping, or a raw span), unless
    #    the whole message names a more specific procedure.
    for value in entity_values(tracker, "procedure"):
        if proc := cat.resolve(value):
            return Resolution(more_specific(user_text(tracker), proc) or proc, source="entity")
        for hit in cat.search(value, limit=3):
            if hit.procedure not in candidates:
                candidates.append(hit.procedure)

    # 2. Retrieval over the whole message.
    text = user_text(tracker)
    if text and len(text) <= MAX_QUERY_CHARS:
        hits = cat.search(text, limit=3)
        if hits and is_clear(hits) and plausible_hits(text, hits[:1]):
            return Resolution(hits[0].procedure, source="message")
        for hit in plausible_hits(text, hits):
            if hit.procedure not in candidates:
                candidates.append(hit.procedure)

    # 3. The procedure under discussion.
    if use_context and (code := tracker.get_slot("procedure")) and (proc := cat.get(str(code))):
        return Resolution(proc, source="context")

    return Resolution(None, candidates=candidates[:3])


# The whole message names a more specific procedure than the entity when the catalog's clear
# best match for it shares at least this many more syllables with the message than the
# entity's own name: "đăng ký kết hôn với người nước ngoài" is not "đăng ký kết hôn".
MORE_SPECIFIC_MARGIN = 2


def more_specific(text: str, proc: Procedure) -> Procedure | None:
    """A procedure the whole message names more precisely than ``proc`` (the entity), if any."""
    if not text or len(text) > MAX_QUERY_CHARS:
        return None
    hits = catalog().search(text, limit=3)
    if not (hits and is_clear(hits)) or hits[0].procedure.code == proc.code:
        return None
    own = SearchHit(proc, 0.0, fold(proc.name), proc.name)
    if shared_syllables(text, hits[0]) >= shared_syllables(text, own) + MORE_SPECIFIC_MARGIN:
        return hits[0].procedure
    return None


def popular_procedures() -> list[Procedure]:
    cat = catalog()
    return [p for code in POPULAR_CODES if (p := cat.get(code)) is not None]
