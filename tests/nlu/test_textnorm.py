"""Unit tests of trolydvc.textnorm (the normalisation every message goes through)."""

from __future__ import annotations

import unicodedata

import pytest

from trolydvc.textnorm import (
    expand_abbreviations,
    find_dossier_codes,
    fold,
    nfc,
    normalize_message,
    normalize_tone_marks,
    normalize_with_spans,
    squeeze_repeats,
    strip_diacritics,
)


def test_nfc_and_fold_accept_decomposed_text() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng  ký khai sinh")
    assert nfc(decomposed) == "Đăng ký khai sinh"
    assert fold(decomposed) == "dang ky khai sinh"
    assert strip_diacritics("Giấy tờ") == "Giay to"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoà giải", "hòa giải"),
        ("khoẻ không", "khỏe không"),
        ("Thuỷ lợi", "Thủy lợi"),
        ("quý khách", "quý khách"),  # qu + ý is already the new style
        ("hoàn thành", "hoàn thành"),  # tone before a final consonant stays
        ("HOÀ", "HÒA"),
    ],
)
def test_tone_mark_placement(text: str, expected: str) -> None:
    assert normalize_tone_marks(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ạaaaa", "ạ"),
        ("khôngggg", "không"),
        ("alooo", "alo"),
        ("xoong", "xoong"),  # double letters are words
        ("sao vậy???", "sao vậy?"),
        ("www.dichvucong.gov.vn", "www.dichvucong.gov.vn"),
    ],
)
def test_squeeze_repeats(text: str, expected: str) -> None:
    assert squeeze_repeats(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hs ko dc", "hồ sơ không được"),
        ("lam gks can j", "lam giấy khai sinh can gì"),
        ("mang cccd va sdt", "mang căn cước công dân va số điện thoại"),
        ("HS", "hồ sơ"),
        ("tks ad", "cảm ơn ad"),
        ("đăng kí kết hôn", "đăng ký kết hôn"),
        # not inside codes, URLs or e-mail addresses
        ("a.hs@x.vn k", "a.hs@x.vn không"),
        ("5k một trang", "5k một trang"),
        # ambiguous shorthand is left to the model
        ("lệ phí bn", "lệ phí bn"),
    ],
)
def test_expand_abbreviations(text: str, expected: str) -> None:
    assert expand_abbreviations(text) == expected


def test_normalize_message_order_of_steps() -> None:
    # "cccd" has three c's: it is expanded before letter runs are squeezed
    assert normalize_message("cần mang cccd ko") == "cần mang căn cước công dân không"
    # a squeezed run can reveal shorthand
    assert normalize_message("kooo đc đâuuu") == "không được đâu"
    assert normalize_message("  hs   lam  gks  ") == "hồ sơ lam giấy khai sinh"
    assert normalize_message("") == ""


def test_dossier_codes_upper_cased() -> None:
    text = "tra cứu hồ sơ 000.00.20.h50-221107-0001 giúp"
    assert normalize_message(text) == "tra cứu hồ sơ 000.00.20.H50-221107-0001 giúp"
    assert find_dossier_codes(text) == [(14, 39, "000.00.20.H50-221107-0001")]
    assert find_dossier_codes("mã 000.00.20.H50-221107-000") == []


@pytest.mark.parametrize(
    "typed",
    [
        "000.00.20.H50 221107 0001",
        "000.00.20.h50 - 221107 - 0001",
        "000.00.20.H50\u2013221107\u20130001",
    ],
)
def test_dossier_codes_typed_with_spaces_or_other_dashes(typed: str) -> None:
    text = f"mã hồ sơ {typed} và số cuối 5678"
    assert find_dossier_codes(text) == [(9, 9 + len(typed), "000.00.20.H50-221107-0001")]


@pytest.mark.parametrize("after", [".", ", rồi", "?", ".\n", ")"])
def test_a_code_may_end_a_sentence(after: str) -> None:
    text = f"mã hồ sơ của tôi là 000.00.20.H50-221107-0001{after}"
    assert [code for *_, code in find_dossier_codes(text)] == ["000.00.20.H50-221107-0001"]


def test_a_code_split_by_a_no_break_space() -> None:
    text = "mã 000.00.20.H50\u00a0221107\u00a00001"
    assert [code for *_, code in find_dossier_codes(text)] == ["000.00.20.H50-221107-0001"]


def test_numbers_that_only_look_like_codes_are_not_codes() -> None:
    assert find_dossier_codes("000.00.20.H50 221107") == []
    assert find_dossier_codes("X000.00.20.H50-221107-0001") == []
    assert find_dossier_codes("000.00.20.H50-221107-000112") == []
    assert find_dossier_codes("000.00.20.H50-221107-0001.5") == []
    assert find_dossier_codes("000.00.20.H50-221107-0001-2") == []


def test_normalize_with_spans_keeps_entities_aligned() -> None:
    text = "cần gì để làm gks ko ạaaa"
    start = text.index("gks")
    out, spans = normalize_with_spans(text, [(start, start + 3)])
    assert out == "cần gì để làm giấy khai sinh không ạ"
    assert [out[s:e] for s, e in spans] == ["giấy khai sinh"]

    text = "  hs  đăng ký  khai sinh ko"
    start = text.index("khai sinh")
    out, spans = normalize_with_spans(text, [(start, start + 9)])
    assert out == "hồ sơ đăng ký khai sinh không"
    assert [out[s:e] for s, e in spans] == ["khai sinh"]

    text = "gks và cccd"
    out, spans = normalize_with_spans(text, [(7, 11), (0, 3)])  # any order
    assert [out[s:e] for s, e in spans] == ["căn cước công dân", "giấy khai sinh"]


def test_normalize_with_spans_rejects_overlaps() -> None:
    with pytest.raises(ValueError):
        normalize_with_spans("abc def", [(0, 5), (4, 7)])


def test_normalisation_is_idempotent() -> None:
    for text in ["hs lam gks  can j ko aaa ạaaa", "Thủ tục hoà giải, khoẻ", "tks ad, ok dc"]:
        once = normalize_message(text)
        assert normalize_message(once) == once


def test_kh_after_dang_ky_is_ket_hon() -> None:
    assert normalize_message("hs dk kh cần những gì") == "hồ sơ dk kết hôn cần những gì"
    assert normalize_message("đk kh ở đâu") == "đk kết hôn ở đâu"
    assert normalize_message("kh biết") == "không biết"
