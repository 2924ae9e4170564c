"""English in, English frame out (issue #17 item 5): English labels around the official
Vietnamese content, the language rule of trolydvc/message_language.py, one catalog of labels."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from actions import render
from actions.language import answering_in, tr
from actions.procedures import (
    ActionFee,
    ActionProcessingTime,
    ActionRequiredDocuments,
    ActionWhereToSubmit,
)
from trolydvc.catalog import load_catalog
from trolydvc.catalog.guidance import checklist
from trolydvc.catalog.schema import CHANNEL_LABELS, TIME_UNIT_LABELS
from trolydvc.config import LOCALES_DIR
from trolydvc.i18n import ANSWER_SOURCES

ROOT = Path(__file__).resolve().parents[2]
KET_HON = "1.000894"  # Thủ tục đăng ký kết hôn
CAN_CUOC_LAI = "1.014064"  # Cấp lại thẻ căn cước
HON_NHAN = "1.004873"  # Cấp Giấy xác nhận tình trạng hôn nhân: "3" (working days, stated)
# Labels of the Vietnamese frame that an English answer must not contain.
VIETNAMESE_LABELS = (
    "Mã thủ tục",
    "Nguồn:",
    "Cấp thực hiện:",
    "Cơ quan thực hiện:",
    "Lệ phí thủ tục",
    "Thời hạn giải quyết thủ tục",
    "Giấy tờ cần nộp",
    "Nơi nộp hồ sơ thủ tục",
)
OFFICIAL_LINE = "The official text (names of the procedure, papers and agencies, official wording)"


def span(text: str, part: str) -> list[dict[str, Any]]:
    """The procedure entity the NLU finds for ``part`` of ``text``."""
    start = text.index(part)
    code = {"marriage registration": KET_HON, "lost my ID card": CAN_CUOC_LAI}[part]
    return [{"entity": "procedure", "value": code, "start": start, "end": start + len(part)}]


def button_titles(turn: Any) -> list[str]:
    return [b["title"] for b in turn.buttons]


def assert_english_frame(text: str) -> None:
    for label in VIETNAMESE_LABELS:
        assert label not in text, label
    assert OFFICIAL_LINE in text
    assert re.search(r"\nProcedure code: \d\.\d{6} · Source: https://", text)


async def test_the_fee_of_marriage_registration_in_english(run_action):
    text = "How much is the fee for marriage registration?"
    turn = await run_action(ActionFee(), text, "ask_fee", span(text, "marriage registration"))
    assert turn.text.startswith("Fee — procedure «Đăng ký kết hôn»:\n")
    assert "Free of charge" in turn.text
    assert "Level: Cấp xã · Agency: Ủy ban Nhân dân xã, phường, thị trấn" in turn.text
    assert "Note: Miễn lệ phí." in turn.text  # the official note, not translated
    assert_english_frame(turn.text)
    assert button_titles(turn) == [
        "Documents to prepare",
        "Processing time",
        "Where to submit",
        "Steps",
        "Apply online",
    ]
    assert turn.slot("language") == "en"


async def test_a_lost_id_card_in_english_lists_the_official_papers(run_action):
    text = "I lost my ID card, how do I get a new one?"
    turn = await run_action(
        ActionRequiredDocuments(), text, "ask_required_documents", span(text, "lost my ID card")
    )
    assert turn.text.startswith("Documents to submit — procedure «Cấp lại thẻ căn cước»:\n1. ")
    for paper in checklist(load_catalog().get(CAN_CUOC_LAI)).core:
        assert f"{paper.short} (1 original)" in turn.text  # the paper's official name
    assert "Full official wording: tap «Full official list of documents»." in turn.text
    assert_english_frame(turn.text)
    titles = button_titles(turn)
    assert "Full official list of documents" in titles and "Fee" in titles
    assert not {"Lệ phí", "Toàn văn thành phần hồ sơ"} & set(titles)


async def test_a_processing_time_has_english_units(run_action):
    turn = await run_action(
        ActionProcessingTime(),
        "How long does it take to get a certificate of marital status?",
        "ask_processing_time",
        [{"entity": "procedure", "value": HON_NHAN}],
    )
    assert turn.text.startswith("Processing time — procedure «")
    assert "3 working days" in turn.text
    assert "(Unit as stated in the section «" in turn.text  # the quote itself is official
    assert_english_frame(turn.text)


async def test_a_button_after_an_english_answer_keeps_english(run_action):
    payload = f'/ask_processing_time{{"procedure": "{KET_HON}"}}'
    turn = await run_action(
        ActionProcessingTime(),
        payload,
        "ask_processing_time",
        [{"entity": "procedure", "value": KET_HON}],
        slots={"language": "en"},
    )
    assert turn.text.startswith("Processing time — procedure «Đăng ký kết hôn»:")
    assert_english_frame(turn.text)
    with pytest.raises(KeyError):  # already English: nothing to remember
        turn.slot("language")


async def test_an_english_follow_up_keeps_the_procedure_and_the_frame(run_action):
    turn = await run_action(
        ActionWhereToSubmit(),
        "and where do I submit it?",
        "ask_where_to_submit",
        slots={"procedure": KET_HON, "language": "en"},
    )
    assert turn.text.startswith("Where to submit — procedure «Đăng ký kết hôn»:")
    assert "   Address: " in turn.text and "   Phone: " in turn.text
    assert_english_frame(turn.text)


async def test_an_english_question_beats_a_vietnamese_setting(run_action):
    text = "How much is the fee for marriage registration?"
    turn = await run_action(
        ActionFee(),
        text,
        "ask_fee",
        span(text, "marriage registration"),
        metadata={"channel": "telegram", "language": "vi"},
    )
    assert turn.text.startswith("Fee — procedure")
    assert turn.slot("language") == "en"


@pytest.mark.parametrize(("setting", "start"), [("en", "Fee — procedure"), ("vi", "Lệ phí")])
async def test_the_setting_decides_for_a_button_at_the_start(run_action, setting, start):
    turn = await run_action(
        ActionFee(),
        f'/ask_fee{{"procedure": "{KET_HON}"}}',
        "ask_fee",
        [{"entity": "procedure", "value": KET_HON}],
        metadata={"channel": "telegram", "language": setting},
    )
    assert turn.text.startswith(start)


async def test_vietnamese_in_an_english_conversation_switches_back(run_action):
    turn = await run_action(
        ActionFee(),
        "còn lệ phí thì sao?",
        "ask_fee",
        slots={"procedure": KET_HON, "language": "en"},
        metadata={"channel": "telegram", "language": "en"},
    )
    assert turn.text.startswith("Lệ phí thủ tục «Đăng ký kết hôn»:")
    assert "Mã thủ tục: " in turn.text and OFFICIAL_LINE not in turn.text
    assert turn.slot("language") == "vi"


async def test_which_procedure_is_asked_in_english(run_action):
    turn = await run_action(ActionFee(), "how much is the fee?", "ask_fee")
    assert turn.text.startswith("For which procedure do you want the fee?")
    assert turn.buttons  # the most asked procedures, by their official names
    assert "Bạn" not in turn.text  # the assistant's own Vietnamese word for "you"


# --- one catalog of labels (locales/en/LC_MESSAGES/answers.po) -----------------------------


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_label_the_actions_mark_is_translated_with_the_same_fields():
    keywords = {"tr": None, "ntr": (1, 2), "N_": None}
    found: list[Any] = []
    for source in ANSWER_SOURCES:
        path = ROOT / source
        if path.is_dir():
            found += [msg for _, _, msg, _, _ in extract_from_dir(str(path), keywords=keywords)]
        else:
            found += [msg for _, msg, _, _ in extract_from_file("python", str(path), keywords)]
    assert len(found) > 150  # the sources moved: fail rather than check nothing
    marked = {msg if isinstance(msg, str) else msg[0] for msg in found}
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "answers.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}
    assert marked <= set(translated), marked - set(translated)
    for msgid in marked:
        english = translated[msgid]
        forms = english if isinstance(english, tuple) else (english,)
        assert all(forms), msgid
        assert all(_fields(form) == _fields(msgid) for form in forms), msgid


def test_the_schema_labels_are_the_ones_translated():
    assert set(render.CHANNEL_LABEL_IDS) == set(CHANNEL_LABELS.values())
    with answering_in("vi"):
        for unit, label in TIME_UNIT_LABELS.items():
            assert render.unit_label(unit, 3) == label
    with answering_in("en"):
        assert render.unit_label("working_days", 1) == "working day"
        assert render.unit_label("working_days", 3) == "working days"
        assert [tr(label) for label in CHANNEL_LABELS.values()] == [
            "In person",
            "Online",
            "By post",
        ]


def test_outside_an_action_the_labels_are_vietnamese():
    assert tr("Lệ phí") == "Lệ phí"
    with answering_in("en"):
        assert tr("Lệ phí") == "Fee"
    assert tr("Lệ phí") == "Lệ phí"
