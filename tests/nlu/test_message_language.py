"""The language of a message and of its answer (trolydvc/message_language.py), measured on the
held-out sets: every English question is English, no Vietnamese one is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from trolydvc.message_language import answer_language, message_language

HELDOUT = Path(__file__).resolve().parent
_MARKUP = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def utterances(name: str) -> list[str]:
    data = yaml.safe_load((HELDOUT / name).read_text(encoding="utf-8"))
    out = []
    for subsets in data.values():
        for block in (subsets or {}).values():
            out += [
                _MARKUP.sub(r"\1", line.strip()[2:])
                for line in block.splitlines()
                if line.strip().startswith("- ")
            ]
    return out


def test_every_english_held_out_question_is_english():
    questions = utterances("heldout_english.yml")
    assert len(questions) >= 45
    assert [q for q in questions if message_language(q) != "en"] == []


@pytest.mark.parametrize("name", ["heldout.yml", "heldout_formal.yml"])
def test_no_vietnamese_held_out_question_is_english(name):
    questions = utterances(name)
    assert len(questions) >= 90
    assert [q for q in questions if message_language(q) == "en"] == []


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How much is the fee for marriage registration?", "en"),
        ("I lost my ID card, how do I get a new one?", "en"),
        ("How much is the fee for đăng ký kết hôn?", "en"),  # an official name inside
        ("can I do it online", "en"),  # English words that are Vietnamese syllables too
        ("lam lai the can cuoc o dau", "vi"),  # "the", "can": thẻ, căn
        ("còn lệ phí thì sao?", "vi"),
        ("nộp online thế nào", "vi"),  # a borrowed word is not English
        ("đăng ký tạm trú", "vi"),
        ("khai sinh", None),  # a name typed without diacritics: no language of its own
        ("ok", None),
        ("hello mn", None),  # one English word in Vietnamese chat
        ('/ask_fee{"procedure": "1.000894"}', None),
        ("000.00.20.H50-221107-0001", None),
        ("1234", None),
    ],
)
def test_message_language(text, language):
    assert message_language(text) == language


def test_the_message_then_the_conversation_then_the_setting_decide():
    assert answer_language("How much is the fee?", "vi", "vi") == "en"
    assert answer_language("còn lệ phí thì sao?", "en", "en") == "vi"
    assert answer_language("khai sinh", "en", "vi") == "en"  # keeps the conversation's
    assert answer_language("/ask_fee", None, "en-US") == "en"  # the setting, at the start
    assert answer_language("/ask_fee", None, "fr") == "vi"
    assert answer_language("1234", None, None) == "vi"
