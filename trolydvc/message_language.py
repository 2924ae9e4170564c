"""Which language to answer a message in: the message's own language, else the conversation's.

The rule (one place; the action server applies it to every answer, actions/language.py):

1. A message written in a language decides: English words make it English ("How much is the
   fee for đăng ký kết hôn?" included), Vietnamese words make it Vietnamese, with or without
   diacritics ("lam lai the can cuoc o dau").
2. A message with no language of its own (a button's payload, a dossier code, four digits,
   "ok", a procedure's name typed without diacritics such as "khai sinh") keeps the language
   of the conversation: the language of its last answer.
3. At the start of a conversation such a message is answered in the user's language setting
   (the Telegram bot sends its chat's language, chosen with /ngonngu or the Telegram client's,
   as message metadata ``{"language": "en"}``), else in Vietnamese.

So an English question from a user whose setting is Vietnamese is answered in English, and
its follow-ups (buttons, "khai sinh", "and the fee?") stay in English until the user writes
Vietnamese again; the setting never overrides what the user wrote.

Detection needs no model: a folded Vietnamese syllable has a fixed shape (initial consonant,
vowels, one of eight finals), so most English words ("how", "fee", "card", "registration")
cannot be one, while short English words that can ("the", "can", "do", "my") are counted as
English only next to a word that cannot be Vietnamese. Measured on the held-out sets
(tests/nlu/test_message_language.py): every English question English, no Vietnamese one English.
"""

from __future__ import annotations

import re

from trolydvc.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalize_language
from trolydvc.textnorm import ABBREVIATIONS, find_dossier_codes, fold, nfc

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# A folded Vietnamese syllable: an initial consonant, a vowel or one of the vowel clusters
# Vietnamese writes (with their semivowel ends: "oai", "ươi" = "uoi"), an optional final.
_VI_VOWELS = [
    "oai",
    "oay",
    "oao",
    "oeo",
    "uay",
    "uoi",
    "uou",
    "uya",
    "uye",
    "uyu",
    "yeu",
    "ieu",
    "uai",
    "ueu",
    "ai",
    "ao",
    "au",
    "ay",
    "eo",
    "eu",
    "ia",
    "ie",
    "iu",
    "oa",
    "oe",
    "oi",
    "oo",
    "ua",
    "ue",
    "ui",
    "uo",
    "uu",
    "uy",
    "ye",
    "a",
    "e",
    "i",
    "o",
    "u",
    "y",
]
_VI_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    rf"(?:{'|'.join(_VI_VOWELS)})(?:ch|ng|nh|[cmnpt])?$"
)
_VOWEL = re.compile(r"[aeiouy]")
# Letters only Vietnamese writes (a word with one is Vietnamese, wherever it stands).
_VI_LETTERS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]")
# English words that are also possible Vietnamese syllables ("the" = thẻ, "can" = cần, "do" = đỏ):
# English only in the company of a word that cannot be Vietnamese.
_EN_AMBIGUOUS = frozenset(
    [
        "a",
        "an",
        "i",
        "me",
        "my",
        "we",
        "he",
        "so",
        "no",
        "do",
        "to",
        "the",
        "can",
        "get",
        "in",
        "on",
        "at",
        "it",
        "be",
        "by",
        "or",
        "if",
        "up",
        "us",
        "go",
        "man",
        "ten",
        "much",
        "long",
        "hi",
        "bye",
        "not",
        "that",
        "sing",
        "song",
    ]
)
# Words Vietnamese messages borrow from English ("nộp online", "ok", "làm visa").
_LOANWORDS = frozenset(
    [
        "ok",
        "okay",
        "ad",
        "online",
        "offline",
        "email",
        "mail",
        "zalo",
        "facebook",
        "website",
        "web",
        "app",
        "internet",
        "wifi",
        "visa",
        "passport",
        "file",
        "pdf",
        "sms",
        "check",
        "code",
        "link",
        "admin",
        "hotline",
        "covid",
        "taxi",
        "grab",
        "bot",
    ]
)
# Without diacritics, Vietnamese words of a sentence (what a bare procedure name lacks): a
# message with one of them, or of this many words, is Vietnamese; a shorter one only a name.
_VI_SENTENCE_WORDS = frozenset(
    fold(w)
    for w in [
        "gì",
        "nào",
        "đâu",
        "sao",
        "bao",
        "nhiêu",
        "lâu",
        "không",
        "có",
        "cần",
        "làm",
        "thế",
        "thì",
        "tôi",
        "em",
        "mình",
        "anh",
        "chị",
        "ạ",
        "nhé",
        "vậy",
        "ơi",
        "được",
        "muốn",
        "hỏi",
        "xin",
        "cho",
        "ở",
        "nộp",
        "mất",
        "hết",
    ]
)
MIN_SENTENCE_WORDS = 7
# Words that are all English-or-Vietnamese ("can I do it"): English from this many on.
MIN_ENGLISH_SENTENCE = 3


def _is_vietnamese_shape(word: str) -> bool:
    return bool(_VI_SYLLABLE.match(word))


def message_language(text: str) -> str | None:
    """ "en", "vi", or None for a message with no language of its own (see the module's rule)."""
    text = nfc(text or "").strip()
    if not text or text.startswith("/"):
        return None
    for start, end, _ in reversed(find_dossier_codes(text)):
        text = text[:start] + " " + text[end:]
    words = [w.lower() for w in _WORD.findall(text)]
    words = [w for w in words if w not in ABBREVIATIONS and fold(w) not in _LOANWORDS]
    if not words:
        return None
    english = vietnamese = ambiguous = marked = 0
    for word in words:
        plain = fold(word)
        if _VI_LETTERS.search(word):
            vietnamese += 1
            marked += 1
        elif plain in _EN_AMBIGUOUS:
            ambiguous += 1
        elif _is_vietnamese_shape(plain.replace("'", "")):
            vietnamese += 1
        elif _VOWEL.search(plain):  # "cccd", "hs" are abbreviations, not English
            english += 1
    # one English word is not enough ("hello mn", "thanks ad", "haha"), but for a short
    # sentence of English words only ("what can you do", "can I do it online")
    only_english = not vietnamese and english + ambiguous >= MIN_ENGLISH_SENTENCE
    if (english >= 2 or (english and ambiguous and not vietnamese) or only_english) and (
        english + ambiguous > vietnamese
    ):
        return "en"
    if marked:  # written with Vietnamese letters
        return "vi"
    # without diacritics a procedure's name ("dang ky tam tru") is not yet a sentence
    folded = {fold(w) for w in words}
    if vietnamese and (folded & _VI_SENTENCE_WORDS or len(words) >= MIN_SENTENCE_WORDS):
        return "vi"
    return None


def answer_language(text: str, conversation: str | None = None, setting: str | None = None) -> str:
    """The language to answer ``text`` in: its own, else the conversation's (the language of
    the last answer), else the user's setting, else Vietnamese."""
    own = message_language(text)
    if own is not None:
        return own
    for language in (conversation, setting):
        if language and normalize_language(language) in LANGUAGES:
            return normalize_language(language)
    return DEFAULT_LANGUAGE
