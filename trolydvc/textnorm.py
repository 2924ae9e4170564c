"""Vietnamese text normalisation, shared by the catalog search, the bot and the Rasa components.

Pure Python, standard library only, compatible with Python 3.10 (the Rasa environment imports it).

Two levels:

* :func:`nfc` / :func:`strip_diacritics` / :func:`fold` — canonical and accent-free forms used for
  matching (catalog search, synonyms).
* :func:`normalize_message` — what every user message goes through before the NLU sees it
  (the Rasa component :class:`trolydvc.nlu_components.VietnameseNormalizer` calls it, at training
  and at serving time): NFC, one tone-mark placement style, squeezed letter repeats ("ạaaa"),
  common abbreviations and teencode expanded ("ko" -> "không", "hs" -> "hồ sơ"), dossier codes
  upper-cased. :func:`normalize_with_spans` does the same while keeping entity spans aligned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC with collapsed whitespace (user text often arrives decomposed, NFD)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics, keeping case: 'Đăng ký' -> 'Dang ky'."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used for matching: 'Đăng  Ký' -> 'dang ky'."""
    # Lower-cased first and spaces collapsed last: "İ".lower() has a combining dot, and a lone
    # combining mark leaves a space behind once stripped (found by tests/nlu/test_textnorm_fuzz).
    return nfc(strip_diacritics(text.lower()))


# --------------------------------------------------------------------------------------------
# Dossier codes (mã hồ sơ), e.g. 000.00.20.H50-221107-0001: any letter case in, upper case out.
# The one definition of the pattern: the NLU generator writes it into the training data as the
# `dossier_code` regex and the Rasa extractor uses it.
# Its parts may be typed with spaces around the dashes, other dashes, or spaces instead
# ("000.00.20.H50 221107 0001"); the last part has 4 or 5 digits.
# A code may end a sentence ("... 0001."), but not go on ("0001.5", "0001-2").
_CODE_SEPARATOR = r"(?:[^\S\r\n]*[-\u2010-\u2014][^\S\r\n]*|[^\S\r\n]+)"
DOSSIER_CODE_PATTERN = (
    rf"(?<![\w.])\d{{3}}\.\d{{2}}\.\d{{2}}\.[A-Za-z]\d{{2}}{_CODE_SEPARATOR}\d{{6}}"
    rf"{_CODE_SEPARATOR}\d{{4,5}}(?!\w|[.-]\w)"
)
DOSSIER_CODE_RE = re.compile(DOSSIER_CODE_PATTERN)
_CODE_SEPARATOR_RE = re.compile(_CODE_SEPARATOR)


def canonical_dossier_code(code: str) -> str:
    """A code as matched by DOSSIER_CODE_PATTERN, upper case with ASCII dashes."""
    return _CODE_SEPARATOR_RE.sub("-", code).upper()


def find_dossier_codes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical code) of every dossier code in ``text``."""
    return [
        (m.start(), m.end(), canonical_dossier_code(m.group(0)))
        for m in DOSSIER_CODE_RE.finditer(text)
    ]


# --------------------------------------------------------------------------------------------
# Tone-mark placement: "hoà", "khoẻ", "thuỷ" (old style) -> "hòa", "khỏe", "thủy" (the style of
# the national database), so both spellings give the same tokens.
_TONES = {
    # base vowel -> (huyền, sắc, hỏi, ngã, nặng)
    "a": "àáảãạ",
    "e": "èéẻẽẹ",
    "y": "ỳýỷỹỵ",
    "o": "òóỏõọ",
    "u": "ùúủũụ",
}
_TONE_OF = {ch: (base, i) for base, marks in _TONES.items() for i, ch in enumerate(marks)}
# o + toned a/e, u + toned y, at the end of a syllable; not after "q" ("quý" is already new style)
_OLD_TONE = re.compile(r"(?<![qQ])([oOuU])([àáảãạèéẻẽẹỳýỷỹỵ])(?!\w)", re.IGNORECASE)


def _move_tone(match: re.Match[str]) -> str:
    first, second = match.group(1), match.group(2)
    base, tone = _TONE_OF[second.lower()]
    if (first.lower() == "o" and base not in "ae") or (first.lower() == "u" and base != "y"):
        return match.group(0)
    toned_first = _TONES[first.lower()][tone]
    if first.isupper():
        toned_first = toned_first.upper()
    return toned_first + (base.upper() if second.isupper() else base)


def normalize_tone_marks(text: str) -> str:
    """Put the tone mark on the first vowel of word-final oa/oe/uy: 'hoà' -> 'hòa'."""
    return _OLD_TONE.sub(_move_tone, text)


# --------------------------------------------------------------------------------------------
# Repeated letters: Vietnamese never writes a letter three times in a row, people do ("ạaaa",
# "khôngggg", "alooo"). A run of >= 3 letters with the same accent-free form becomes one letter
# (the first accented one of the run, if any).
# A token: letters/digits; not part of a code, a URL or an e-mail (no . - / @ glued to it).
_TOKEN = re.compile(r"(?<![\w\-/@.])\w+(?![\w\-/@]|\.\w)", re.UNICODE)
_PUNCT_RUN = re.compile(r"([?!.,])\1+")


def _base_letter(ch: str) -> str:
    return strip_diacritics(ch).lower()


def _squeeze_word(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if not ch.isalpha():
            out.append(ch)
            i += 1
            continue
        base = _base_letter(ch)
        j = i + 1
        while j < n and text[j].isalpha() and _base_letter(text[j]) == base:
            j += 1
        run = text[i:j]
        if len(run) >= 3:
            accented = [c for c in run if c.lower() != base]
            out.append(accented[0] if accented else run[0])
        else:
            out.append(run)
        i = j
    return "".join(out)


def squeeze_repeats(text: str) -> str:
    """'ạaaa' -> 'ạ', 'khôngggg' -> 'không', '???' -> '?'; double letters, URLs, codes kept."""
    text = _TOKEN.sub(lambda m: _squeeze_word(m.group(0)), text)
    return _PUNCT_RUN.sub(r"\1", text)


# --------------------------------------------------------------------------------------------
# Abbreviations and teencode with one clear meaning in this domain (citizens asking about
# procedures). Keys are lower-case tokens. Ambiguous shorthand ("bn" = bạn / bao nhiêu,
# "dk" = được / đăng ký, "tt" = thủ tục / thông tin) is NOT expanded: the model learns it
# from the generated training variants (see AUGMENT_ABBREVIATIONS).
ABBREVIATIONS: dict[str, str] = {
    # không
    "ko": "không",
    "k": "không",
    "kh": "không",
    "khg": "không",
    "kg": "không",
    "hok": "không",
    "hem": "không",
    "k0": "không",
    "khum": "không",
    "hông": "không",
    # làm
    "lm": "làm",
    # được
    "dc": "được",
    "đc": "được",
    "dduoc": "được",
    "đươc": "được",
    # common words
    "j": "gì",
    "ji": "gì",
    "v": "vậy",
    "vs": "với",
    "mk": "mình",
    "mik": "mình",
    "mh": "mình",
    "ntn": "như thế nào",
    "trc": "trước",
    "r": "rồi",
    "rùi": "rồi",
    "ng": "người",
    "mn": "mọi người",
    "tgian": "thời gian",
    "tg": "thời gian",
    "hnay": "hôm nay",
    "kq": "kết quả",
    "ttin": "thông tin",
    "đt": "điện thoại",
    "sdt": "số điện thoại",
    "sđt": "số điện thoại",
    "tks": "cảm ơn",
    "thks": "cảm ơn",
    "thx": "cảm ơn",
    "camon": "cảm ơn",
    "cmon": "cảm ơn",
    "oke": "ok",
    "okie": "ok",
    "oki": "ok",
    "okê": "ok",
    "okela": "ok",
    "dky": "đăng ký",
    "đky": "đăng ký",
    "dki": "đăng ký",
    "đki": "đăng ký",
    # papers and institutions
    "hs": "hồ sơ",
    "gks": "giấy khai sinh",
    "cccd": "căn cước công dân",
    "cmnd": "chứng minh nhân dân",
    "cmt": "chứng minh thư",
    "gplx": "giấy phép lái xe",
    "gpxd": "giấy phép xây dựng",
    "gpkd": "giấy phép kinh doanh",
    "dkkd": "đăng ký kinh doanh",
    "đkkd": "đăng ký kinh doanh",
    "hkd": "hộ kinh doanh",
    "gcn": "giấy chứng nhận",
    "qsdd": "quyền sử dụng đất",
    "qsdđ": "quyền sử dụng đất",
    "bhyt": "bảo hiểm y tế",
    "bhxh": "bảo hiểm xã hội",
    "ubnd": "ủy ban nhân dân",
    "tthc": "thủ tục hành chính",
    "dvc": "dịch vụ công",
    "nvqs": "nghĩa vụ quân sự",
    "xn": "xác nhận",
    "tb": "thông báo",
    "cb": "cán bộ",
    "kt": "kiểm tra",
    "hdsd": "hướng dẫn sử dụng",
    "ny": "người yêu",
    "tbiet": "tạm biệt",
    "bđ": "bắt đầu",
    # i/y spelling variants (both are used; the catalog writes "ký", "lý", "kỳ", "tỷ")
    "kí": "ký",
    "ki": "ky",
    "lí": "lý",
    "kì": "kỳ",
    "kĩ": "kỹ",
    "tỉ": "tỷ",
    "xnttdt": "xác nhận tình trạng hôn nhân",
    "xntthn": "xác nhận tình trạng hôn nhân",
}

# Extra shorthand used only to generate training variants (never rewritten at run time).
# phrase -> shorthand forms people type for it.
AUGMENT_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "không": ("ko", "k", "hok", "hông", "kh"),
    "được": ("dc", "đc", "dk"),
    "gì": ("j", "gi"),
    "làm": ("lm",),
    "vậy": ("v", "z", "vay"),
    "với": ("vs",),
    "mình": ("mk", "mik", "mh"),
    "hồ sơ": ("hs", "ho so"),
    "giấy khai sinh": ("gks",),
    "căn cước công dân": ("cccd", "cc"),
    "chứng minh nhân dân": ("cmnd",),
    "số điện thoại": ("sdt", "sđt"),
    "bao nhiêu": ("bn", "bnhiu", "bao nhiu"),
    "bao lâu": ("bao lau", "bl"),
    "bao giờ": ("bh", "bgio"),
    "giấy tờ": ("gt", "giay to"),
    "thủ tục": ("tt", "thu tuc"),
    "đăng ký": ("dk", "đk", "dky"),
    "thời gian": ("tgian", "tg"),
    "như thế nào": ("ntn",),
    "lệ phí": ("lp", "le phi"),
    "kết quả": ("kq",),
    "thông tin": ("ttin", "tt"),
    "người": ("ng",),
    "trước": ("trc",),
    "rồi": ("r", "rùi"),
    "cảm ơn": ("tks", "camon", "thanks", "cám ơn"),
    "ủy ban nhân dân": ("ubnd",),
    "ủy ban": ("ub",),
    "bảo hiểm y tế": ("bhyt",),
    "anh/chị": ("a/c", "ac"),
    "anh chị": ("ac", "a c"),
    "nhé": ("nhe", "nha"),
    "ạ": ("a", "ah"),
}


# "kh" is "không", except right after "đăng ký": "đk kh" is "đăng ký kết hôn".
_DK_KH = re.compile(r"\b(dk|đk|dky|đky|đăng ký|dang ky)\s+kh\b", re.IGNORECASE)


def expand_abbreviations(text: str, table: dict[str, str] | None = None) -> str:
    """Replace shorthand tokens by their full form: 'hs ko dc' -> 'hồ sơ không được'."""
    table = ABBREVIATIONS if table is None else table
    text = _DK_KH.sub(r"\1 kết hôn", text)

    def repl(match: re.Match[str]) -> str:
        word = match.group(0)
        return table.get(word.lower(), word)

    return _TOKEN.sub(repl, text)


def _upper_codes(text: str) -> str:
    return DOSSIER_CODE_RE.sub(lambda m: m.group(0).upper(), text)


def _normalize_piece(text: str) -> str:
    """Everything of :func:`normalize_message` except trimming the ends."""
    text = unicodedata.normalize("NFC", text)
    text = normalize_tone_marks(text)
    text = expand_abbreviations(text)  # before squeezing: "cccd" is not "cd"
    text = expand_abbreviations(squeeze_repeats(text))  # "kooo" -> "ko" -> "không"
    text = _upper_codes(text)
    # Again NFC: an expansion can end next to a combining mark ("r" + U+0300 -> "rồi" + U+0300).
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text))


def normalize_message(text: str) -> str:
    """The form of a user message the NLU sees (same at training and serving time).

    >>> normalize_message("hs lam gks  can j ko aaa ạaaa")
    'hồ sơ lam giấy khai sinh can gì không a ạ'
    """
    return _normalize_piece(text).strip()


def normalize_with_spans(
    text: str, spans: Sequence[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """Normalise ``text`` and return the new (start, end) of each span (entity annotations).

    Spans must not overlap. The text between and inside spans is normalised piece by piece so
    every span keeps covering the same words. A span edge never separates a letter from its
    combining marks (decomposed text, 'A' + U+0300): the marks stay with the letter, or the
    pieces would not compose back to NFC (found by tests/nlu/test_textnorm_fuzz.py).
    """

    def whole(p: int) -> int:
        while p < len(text) and unicodedata.combining(text[p]):
            p += 1
        return p

    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    pieces: list[tuple[str, int | None]] = []  # (text, index of the span or None)
    pos = last_end = 0
    for i in order:
        if spans[i][0] < last_end or spans[i][1] < spans[i][0] or spans[i][1] > len(text):
            raise ValueError(f"bad or overlapping span {spans[i]!r} in {text!r}")
        last_end = spans[i][1]
        start, end = whole(spans[i][0]), whole(spans[i][1])
        pieces.append((text[pos:start], None))
        pieces.append((text[start:end], i))
        pos = end
    pieces.append((text[pos:], None))

    out = ""
    new_spans: list[tuple[int, int]] = [(0, 0)] * len(spans)
    for piece, index in pieces:
        norm = _normalize_piece(piece)
        if index is not None:
            norm = norm.strip()
            if out and not out.endswith(" ") and piece[:1].isspace():
                out += " "
            new_spans[index] = (len(out), len(out) + len(norm))
        elif out.endswith(" ") and norm.startswith(" "):
            norm = norm[1:]
        out += norm
    lead = len(out) - len(out.lstrip())
    out = out.strip()
    return out, [(s - lead, e - lead) for s, e in new_spans]


def variants_without_diacritics(texts: Iterable[str]) -> list[str]:
    """Accent-free copies of ``texts`` (case kept), skipping ones that do not change."""
    result = []
    for text in texts:
        stripped = strip_diacritics(text)
        if stripped != text:
            result.append(stripped)
    return result
