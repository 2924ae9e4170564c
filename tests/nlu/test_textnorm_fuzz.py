"""Property tests of the text normaliser (issue #11 item 8): any text, never an exception.

Bounded for CI: a fixed number of examples each, no deadline, no example database written
into the tree; the whole file takes a few seconds.
"""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from trolydvc.textnorm import (
    ABBREVIATIONS,
    fold,
    nfc,
    normalize_message,
    normalize_with_spans,
    strip_diacritics,
)

FUZZ = settings(max_examples=150, deadline=None, database=None)

# Vietnamese letters (precomposed and as combining marks), the shorthand the normaliser expands,
# repeats, dossier-code pieces, whitespace of all kinds; mixed with any Unicode text.
_VI = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯ"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
    "0123456789.-/_@?!, \t\n\r\u00a0\u2013\u2014İß"
)
vi_text = st.text(alphabet=_VI, max_size=80)
words = st.lists(
    st.one_of(
        st.sampled_from(sorted(ABBREVIATIONS)),
        st.sampled_from(["hoà", "khoẻ", "thuỷ", "QUÝ", "ạaaa", "khôngggg", "???", "đk kh"]),
        st.sampled_from(["000.00.20.h50-221107-0001", "000.00.20.H50 221107 0001", "0001.5"]),
        vi_text,
    ),
    max_size=12,
).map(" ".join)
any_text = st.one_of(st.text(max_size=200), vi_text, words)


def _is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


@FUZZ
@given(any_text)
def test_normalize_message_never_raises_and_gives_bounded_nfc_text(text: str) -> None:
    out = normalize_message(text)
    assert _is_nfc(out)
    assert out == out.strip() and "  " not in out
    # The longest expansion: one letter ("k") becomes five ("không").
    assert len(out) <= 5 * len(text)


@FUZZ
@given(any_text)
def test_normalize_message_is_idempotent(text: str) -> None:
    once = normalize_message(text)
    assert normalize_message(once) == once


@FUZZ
@given(any_text)
def test_nfc_fold_and_strip_diacritics(text: str) -> None:
    n = nfc(text)
    assert _is_nfc(n) and nfc(n) == n and len(n) <= len(text) * 3  # NFC can expand a little
    folded = fold(text)
    assert _is_nfc(folded) and fold(folded) == folded
    assert not any(unicodedata.category(ch) == "Mn" for ch in folded)
    stripped = strip_diacritics(text)
    assert strip_diacritics(stripped) == stripped


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(any_text)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    # An entity annotation covers words: a span of only whitespace is not one (the function then
    # may point past the stripped text).
    return text, [(a, b) for a, b in pairs if text[a:b].strip()]


@FUZZ
@given(text_and_spans())
@example(("0A\u0300", [(0, 2)]))  # a span ending between a letter and its combining mark
@example(("A\u0300b", [(0, 1), (1, 3)]))
def test_normalize_with_spans_keeps_spans_inside_the_text(
    case: tuple[str, list[tuple[int, int]]],
) -> None:
    text, spans = case
    out, new = normalize_with_spans(text, spans)
    assert _is_nfc(out)
    assert len(new) == len(spans)
    for start, end in new:
        assert 0 <= start <= end <= len(out)
