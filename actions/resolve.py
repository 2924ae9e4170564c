"""Which procedure a message is about: entity, then the whole message, then the context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rasa_sdk import Tracker

from actions.common import (
    MAX_QUERY_CHARS,
    POPULAR_CODES,
    catalog,
    locality,
    user_text,
)
from actions.language import tr
from trolydvc.catalog import Procedure, SearchHit, is_clear
from trolydvc.catalog.search import CLEAR_MARGIN
from trolydvc.locality import word_keys
from trolydvc.message_language import message_language
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
    "trực", "tuyến", "online", "mạng", "xong", "để", "qua", "làm",
)
# fmt: on
# "hồ sơ" is in every question and many names, but typed without diacritics "ho so" is also the
# "hộ" of "hộ khẩu" and the "sổ" of "sổ đỏ": only the accented form is left out.
_ACCENTED_ONLY = ("hồ", "sơ")
QUESTION_SYLLABLES = frozenset(_QUESTION_WORDS + _ACCENTED_ONLY)
_QUESTION_PLAIN = frozenset(fold(s) for s in _QUESTION_WORDS)
# The same in an English message ("how much is the fee for ..."): the procedure is named by the
# catalog's English aliases, and its question words would otherwise weigh as words the catalog
# does not know ("fee" is no catalog syllable), i.e. as the name of a procedure it lacks. Only
# dropped from a message in English: "the", "can", "do" are Vietnamese syllables too.
# fmt: off
_ENGLISH_QUESTION_WORDS = frozenset((
    "how", "much", "many", "what", "which", "where", "when", "who", "why", "is", "are", "was",
    "be", "do", "does", "did", "can", "could", "would", "should", "will", "i", "me", "my", "we",
    "our", "you", "your", "it", "its", "this", "that", "there", "here", "the", "a", "an", "of",
    "for", "to", "from", "in", "on", "at", "by", "with", "about", "and", "or", "if", "please",
    "tell", "know", "want", "need", "needed", "get", "take", "takes", "fee", "fees", "cost",
    "costs", "charge", "price", "pay", "documents", "document", "papers", "paper", "paperwork",
    "required", "require", "steps", "step", "process", "days", "day", "working", "submit",
    "office", "go", "bring", "prepare", "long", "online", "internet", "file",
))
# fmt: on


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


def without_question_words(text: str) -> str:
    """The message without the words of the question itself ("các bước", "mất bao lâu"; in
    an English message "how", "the", "fee")."""
    drop = _QUESTION_PLAIN
    if message_language(text) == "en":
        drop = drop | _ENGLISH_QUESTION_WORDS
    return " ".join(w for w in text.split() if fold(w).strip("?.,!") not in drop)


def plausible_hits(text: str, hits: list[SearchHit]) -> list[SearchHit]:
    """The hits that really share words with the message (see MIN_SHARED_SYLLABLES)."""
    return [h for h in hits if shared_syllables(text, h) >= MIN_SHARED_SYLLABLES]


@dataclass
class Resolution:
    procedure: Procedure | None = None
    # without a procedure: the ones to offer; with one guessed from the message: the runners-up
    candidates: list[Procedure] = field(default_factory=list)
    source: str = ""  # "entity" | "message" | "context" | ""
    # the message names something specific that no catalog procedure explains ("giấy phép
    # nhập khẩu hóa chất"): say the catalog has no such procedure rather than guess
    unknown: bool = False


def resolve_procedure(tracker: Tracker, use_context: bool = True) -> Resolution:
    """The procedure a message is about, answered only when the message's distinctive words
    match it (:meth:`trolydvc.catalog.Catalog.supports`): an entity read from generic words or
    from an alias out of its context ("nhập khẩu" in "giấy phép nhập khẩu hóa chất" is import,
    not "nhập hộ khẩu") is not enough."""
    cat = catalog()
    candidates: list[Procedure] = []
    text = without_commune(user_text(tracker))
    searchable = bool(text) and len(text) <= MAX_QUERY_CHARS

    # 1. The `procedure` entity (a catalog code after synonym mapping, or a raw span), unless
    #    the whole message names a more specific procedure. An entity without a span (a button
    #    payload) is the user's choice and always taken.
    for value, span in entity_spans(tracker, "procedure"):
        if proc := cat.resolve(value):
            if (
                span
                and searchable
                and not (
                    cat.fits_entity(
                        without_question_words(text), proc.code, without_question_words(span)
                    )
                    # the whole message: "tiền" is part of what "hỗ trợ tiền điện" asks for
                    and cat.fits_phrases(text, proc.code)
                )
            ):
                continue
            better = more_specific(text, span, proc)
            return Resolution(better or proc, source="entity")
        for hit in cat.search(value, limit=3):
            if hit.procedure not in candidates and cat.support(text, hit.code) > 0:
                candidates.append(hit.procedure)

    # 2. Retrieval over the whole message (a commune it names aside).
    if searchable:
        hits = cat.search(text, limit=3)
        if (
            hits
            and is_clear(hits)
            and plausible_hits(text, hits[:1])
            and cat.supports(text, hits[0].code)
        ):
            # the runners-up that share words with the message: a wrong guess is one tap away
            others = [h.procedure for h in plausible_hits(text, hits[1:])]
            return Resolution(hits[0].procedure, candidates=others, source="message")
        for hit in plausible_hits(text, hits):
            # a suggestion shares at least one distinctive word with the message
            if hit.procedure not in candidates and cat.support(text, hit.code) > 0:
                candidates.append(hit.procedure)

    # 3. The procedure under discussion.
    if use_context and (code := tracker.get_slot("procedure")) and (proc := cat.get(str(code))):
        return Resolution(proc, source="context")

    # "not in the catalog" only when no candidate explains what the message names: "khai sinh
    # lệ phí" fits several khai sinh procedures equally (ask which), it is not unknown
    unknown = (
        searchable
        and cat.names_something(without_question_words(text))
        and not any(cat.supports(text, c.code) for c in candidates)
    )
    return Resolution(None, candidates=candidates[:3], unknown=unknown)


# The whole message names a more specific procedure than the entity when the catalog's best
# match for it (clearly ahead of the others but the entity's own procedure) has every word of
# the entity's span in its names and shares at least this many more syllables with the
# message: "đăng ký kết hôn với người nước ngoài" is "đăng ký kết hôn có yếu tố nước ngoài";
# "làm hộ chiếu cho con dưới 14 tuổi" is still "hộ chiếu", though "làm căn cước cho con dưới
# 14 tuổi" shares more words with it.
MORE_SPECIFIC_MARGIN = 2
# Words a span may start with that do not name anything ("làm hộ chiếu", "thủ tục kết hôn").
_SPAN_FILLERS = frozenset(["lam", "xin", "thu", "tuc", "nop", "ve", "cho", "cua", "viec"])


def without_commune(text: str) -> str:
    """The text without the commune of locality.yml it names ("tôi ở phường Tân Lập thì ..."):
    a place is not part of a procedure's name ("tan lap" would match "thành lập")."""
    words = text.split()
    keys: list[str] = []
    owner: list[int] = []  # the word each key comes from
    for i, word in enumerate(words):
        for key in word_keys(word):
            keys.append(key)
            owner.append(i)
    found = locality().find_commune_words(keys)
    if found is None:
        return text
    _, start, end = found
    return " ".join(words[: owner[start]] + words[owner[end - 1] + 1 :])


def entity_spans(tracker: Tracker, name: str) -> list[tuple[str, str]]:
    """(value, text span) of entity ``name`` in the latest message, in order, one per value (as
    ``entity_values``); the span is '' when the entity came without one (a button payload)."""
    text = str(tracker.latest_message.get("text") or "")
    spans: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") != name or entity.get("value") is None:
            continue
        value = str(entity["value"]).strip()
        start, end = entity.get("start"), entity.get("end")
        if value and not spans.get(value):
            spans[value] = (
                text[start:end] if isinstance(start, int) and isinstance(end, int) else ""
            )
    return list(spans.items())


def more_specific(text: str, span: str, proc: Procedure) -> Procedure | None:
    """A procedure the whole message names more precisely than ``proc``, the one its entity
    ``span`` names, if any."""
    if not text or not span or len(text) > MAX_QUERY_CHARS:
        return None
    named = set(_WORD.findall(fold(span))) - _SPAN_FILLERS - _QUESTION_PLAIN
    hits = catalog().search(text, limit=4)
    others = [h for h in hits if h.procedure.code != proc.code]
    if not named or not others:
        return None
    # clearly ahead of the other candidates; the entity's own procedure, which it refines, may
    # come close behind, or just ahead when the refinement explains more of what is specific in
    # the message (its general name shares the generic words: "con tôi sinh ở nước ngoài thì
    # đăng ký khai sinh thế nào")
    if not is_clear(others):
        return None
    best = others[0]
    if hits[0] is not best and (
        hits[0].score - best.score >= CLEAR_MARGIN
        or catalog().support(text, best.code) <= catalog().support(text, proc.code)
        or not catalog().supports(text, best.code)
    ):
        return None
    names = " ".join([best.matched, best.procedure.name, *best.procedure.aliases])
    if not named <= set(_WORD.findall(fold(names))):
        return None
    if shared_syllables(text, best) >= len(named) + MORE_SPECIFIC_MARGIN:
        return best.procedure
    return None


def popular_procedures() -> list[Procedure]:
    cat = catalog()
    return [p for code in POPULAR_CODES if (p := cat.get(code)) is not None]


def not_in_catalog() -> str:
    """The answer to an administrative request the catalog has nothing for."""
    loc = locality()
    lines = [
        tr(
            "Tôi chưa tìm thấy thủ tục này trong danh mục thủ tục hành chính của tôi. Bạn có thể "
            "tra cứu trên Cổng Dịch vụ công quốc gia ({portal}) hoặc hỏi Bộ phận Một cửa nơi Bạn "
            "cư trú."
        ).format(portal=loc.portals.national)
    ]
    if loc.hotline:
        lines.append(
            tr("Đường dây hỗ trợ: {phone} ({name}).").format(
                phone=loc.hotline.phone, name=loc.hotline.name
            )
        )
    if loc.example:
        lines.append(tr("(Lưu ý: số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)"))
    return "\n".join(lines)
