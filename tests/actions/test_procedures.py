"""Procedure questions answered from the real catalog, with context and "which one?" flows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.procedures import (
    ActionFee,
    ActionOnlineSubmission,
    ActionProcedureSteps,
    ActionProcessingTime,
    ActionRequiredDocuments,
    ActionWhereToSubmit,
)
from trolydvc.catalog import load_catalog
from trolydvc.nlu_data import build_procedure_table
from trolydvc.nlu_models import ProcedureFinder

KHAI_SINH = "1.001193"
HON_NHAN = "1.004873"  # Cấp Giấy xác nhận tình trạng hôn nhân
CHUNG_THUC = "2.000815"  # Chứng thực bản sao từ bản chính


def ent(value: str, name: str = "procedure") -> list[dict[str, Any]]:
    """An entity given without a span in the text (as a button's payload gives it)."""
    return [{"entity": name, "value": value}]


def footer_of(code: str) -> str:
    proc = load_catalog().get(code)
    assert proc is not None and proc.source_url
    return f"Mã thủ tục: {code} · Nguồn: {proc.source_url}"


async def test_documents_of_khai_sinh_from_entity(run_action):
    turn = await run_action(
        ActionRequiredDocuments(), "làm giấy khai sinh cần giấy tờ gì",
        "ask_required_documents", ent(KHAI_SINH),
    )  # fmt: skip
    # the paper almost every parent needs comes first, the special cases after it
    assert turn.text.startswith(
        "Giấy tờ cần nộp — thủ tục «Đăng ký khai sinh»:\n1. Giấy chứng sinh"
    )
    assert turn.text.endswith(footer_of(KHAI_SINH))
    assert turn.slot("procedure") == KHAI_SINH
    assert turn.slot("pending") is None
    # follow-up buttons carry the procedure code; the documents buttons carry a case
    payloads = [b["payload"] for b in turn.buttons]
    assert f'/ask_fee{{"procedure": "{KHAI_SINH}"}}' in payloads
    assert f'/ask_required_documents{{"procedure": "{KHAI_SINH}"}}' not in payloads
    assert f'/ask_required_documents{{"procedure": "{KHAI_SINH}", "case": "all"}}' in payloads


async def test_follow_up_fee_keeps_the_procedure_in_context(run_action):
    turn = await run_action(
        ActionFee(), "còn lệ phí thì sao?", "ask_fee", slots={"procedure": KHAI_SINH}
    )
    assert "Lệ phí thủ tục «Đăng ký khai sinh»" in turn.text
    assert "Miễn phí" in turn.text
    assert turn.text.endswith(footer_of(KHAI_SINH))


async def test_follow_up_place_uses_locality_and_catalog(run_action):
    turn = await run_action(
        ActionWhereToSubmit(), "thế nộp ở đâu?", "ask_where_to_submit",
        slots={"procedure": KHAI_SINH},
    )  # fmt: skip
    assert "Nơi nộp hồ sơ thủ tục «Đăng ký khai sinh»" in turn.text
    assert "Cấp xã" in turn.text
    assert "Địa chỉ:" in turn.text and "Giờ làm việc:" in turn.text and "Điện thoại:" in turn.text
    assert "dữ liệu mẫu" in turn.text  # the shipped locality is an example


@pytest.mark.parametrize(
    "text",
    ["tôi ở xã Hòa An thì nộp ở đâu", "tôi ở Hòa An, nộp ở đâu?", "nộp ở đâu, tôi ở hoa an."],
)
async def test_place_narrows_to_the_commune_named(run_action, text):
    turn = await run_action(
        ActionWhereToSubmit(), text, "ask_where_to_submit",
        slots={"procedure": KHAI_SINH},
    )  # fmt: skip
    assert "xã Hòa An" in turn.text
    assert "Bình Minh" not in turn.text


async def test_fee_per_page_of_chung_thuc(run_action):
    turn = await run_action(
        ActionFee(), "photo công chứng mất bao nhiêu", "ask_fee", ent(CHUNG_THUC)
    )
    assert "2.000 đồng/trang" in turn.text


async def test_processing_time_of_tinh_trang_hon_nhan(run_action):
    turn = await run_action(
        ActionProcessingTime(), "xác nhận độc thân mất mấy ngày", "ask_processing_time",
        ent(HON_NHAN),
    )  # fmt: skip
    # the table says "3"; the official steps say "Trong thời hạn 03 ngày làm việc …"
    assert "Thời hạn giải quyết" in turn.text and ": 3 ngày làm việc" in turn.text
    assert (
        '(Đơn vị theo mục «Trình tự thực hiện»: "Trong thời hạn 03 ngày làm việc kể từ ngày '
        "tiếp nhận hồ sơ" in turn.text
    )
    assert "không ghi đơn vị" not in turn.text
    assert turn.text.endswith(footer_of(HON_NHAN))


async def test_steps_and_online(run_action):
    steps = await run_action(
        ActionProcedureSteps(), "các bước", "ask_procedure_steps", ent(KHAI_SINH)
    )
    assert steps.text.startswith("Các bước thực hiện thủ tục «Đăng ký khai sinh»")
    online = await run_action(
        ActionOnlineSubmission(), "nộp online được không", "ask_online_submission", ent(KHAI_SINH)
    )
    assert "trực tuyến" in online.text and "VNeID" in online.text
    assert online.text.endswith(footer_of(KHAI_SINH))


# "1" in the table and no phrase of its text that states the unit of that number
NO_STATED_UNIT = "1.000014"


async def test_a_time_without_unit_is_never_shown_bare(run_action):
    # The official data gives this procedure's processing time as "1", without a unit, and its
    # text states none: both answers that show it say so instead of guessing the unit.
    proc = load_catalog().get(NO_STATED_UNIT)
    assert proc is not None and proc.submission_methods[0].processing_time.text == "1"
    assert proc.submission_methods[0].processing_time.unit is None
    for action, intent in (
        (ActionOnlineSubmission(), "ask_online_submission"),
        (ActionProcessingTime(), "ask_processing_time"),
    ):
        turn = await run_action(action, "?", intent, ent(NO_STATED_UNIT))
        if intent == "ask_online_submission" and "Thời hạn" not in turn.text:
            continue  # not submitted online: no time in that answer
        lines = turn.text.splitlines()
        shown = next(i for i, line in enumerate(lines) if line.rstrip().endswith(": 1"))
        assert "không ghi đơn vị thời gian" in lines[shown + 1]


@pytest.mark.parametrize(
    ("action", "intent", "text"),
    [
        (ActionRequiredDocuments(), "ask_required_documents", "cần mang gì"),
        (ActionRequiredDocuments(), "ask_required_documents", "can mang gi"),
        (ActionFee(), "ask_fee", "phí bao nhiêu tiền"),
        (ActionProcessingTime(), "ask_processing_time", "bao lâu thì giải quyết xong"),
    ],
)
async def test_a_bare_follow_up_stays_on_the_procedure_in_context(run_action, action, intent, text):
    # Retrieval over these words finds names that merely share them ("cán bộ", "cách mạng",
    # "tiền mai táng phí", "giải quyết ..."): question words and other diacritics do not count.
    turn = await run_action(action, text, intent, slots={"procedure": HON_NHAN})
    assert "«Cấp Giấy xác nhận tình trạng hôn nhân»" in turn.text
    assert turn.slot("procedure") == HON_NHAN


async def test_a_fee_question_alone_offers_the_popular_procedures(run_action):
    from actions.resolve import popular_procedures

    turn = await run_action(ActionFee(), "phi bao nhieu tien", "ask_fee")
    assert turn.slot("pending") == "procedure:fee"
    codes = [json.loads(b["payload"][b["payload"].index("{") :])["procedure"] for b in turn.buttons]
    assert codes == [p.code for p in popular_procedures()][:5] and len(codes) == 5


@pytest.mark.parametrize(
    ("text", "span", "entity", "code"),
    [
        ("đăng ký kết hôn với người nước ngoài cần giấy tờ gì", "đăng ký kết hôn", "1.000894",
         "2.000806"),
        ("đăng ký kết hôn cần giấy tờ gì", "đăng ký kết hôn", "1.000894", "1.000894"),
        # the entity's own procedure comes a close second to the one that refines it
        ("con tôi sinh ở nước ngoài thì đăng ký khai sinh thế nào", "đăng ký khai sinh", KHAI_SINH,
         "2.000528"),
        ("làm giấy khai sinh cho con cần giấy tờ gì", "giấy khai sinh", KHAI_SINH, KHAI_SINH),
        # the best match ("làm căn cước cho con dưới 14 tuổi") shares more words, but not "hộ
        # chiếu" or "tách khẩu": it is another procedure, not a more specific one
        ("làm hộ chiếu cho con dưới 14 tuổi", "hộ chiếu", "1.001456", "1.001456"),
        ("lam ho chieu cho con duoi 14 tuoi", "ho chieu", "1.001456", "1.001456"),
        ("tách khẩu cho con dưới 14 tuổi", "tách khẩu", "1.010038", "1.010038"),
    ],
)  # fmt: skip
async def test_the_message_may_name_a_more_specific_procedure_than_the_entity(
    run_action, text, span, entity, code
):
    # The NLU finds the longest name it knows ("đăng ký kết hôn"); the rest of the message can
    # make it a more specific procedure ("... có yếu tố nước ngoài").
    start = text.index(span)
    found = [{"entity": "procedure", "value": entity, "start": start, "end": start + len(span)}]
    turn = await run_action(ActionRequiredDocuments(), text, "ask_required_documents", found)
    assert turn.slot("procedure") == code


@pytest.mark.parametrize(
    "text", ["toi o phuong tan lap thi nop o dau", "tôi ở xã Hòa An, thì nộp ở đâu?"]
)
async def test_a_commune_named_is_not_taken_for_a_procedure(run_action, text):
    from actions.resolve import popular_procedures

    # "tan lap" would match the "thành lập" of a procedure name: the question names no procedure
    turn = await run_action(ActionWhereToSubmit(), text, "ask_where_to_submit")
    assert turn.slot("pending") == "procedure:place"
    codes = [json.loads(b["payload"][b["payload"].index("{") :])["procedure"] for b in turn.buttons]
    assert codes == [p.code for p in popular_procedures()][:5]


async def test_question_without_procedure_asks_which_one(run_action):
    turn = await run_action(ActionFee(), "lệ phí bao nhiêu vậy", "ask_fee")
    assert "thủ tục nào" in turn.text
    assert turn.slot("pending") == "procedure:fee"
    assert turn.buttons, "popular procedures are offered as buttons"
    for b in turn.buttons:
        assert b["payload"].startswith("/inform{")
        code = json.loads(b["payload"][len("/inform") :])["procedure"]
        assert load_catalog().get(code) is not None


async def test_ambiguous_message_offers_top_matches(run_action):
    turn = await run_action(ActionRequiredDocuments(), "đăng ký kết hôn", "ask_required_documents")
    if turn.slot("pending") == "procedure:documents":
        codes = [json.loads(b["payload"][len("/inform") :])["procedure"] for b in turn.buttons]
        assert "1.000894" in codes and len(codes) <= 3
    else:  # the search found it clearly ahead
        assert turn.slot("procedure") == "1.000894"


async def test_unknown_entity_value_falls_back_to_search(run_action):
    turn = await run_action(
        ActionFee(), "lệ phí đăng ký kết hôn", "ask_fee", ent("đăng ký kết hôn")
    )
    assert turn.slot("procedure") == "1.000894" or "1.000894" in str(turn.buttons)


@pytest.mark.parametrize(
    "text",
    ["", "😀😀😀", "x" * 10_000, "đăng ký 結婚 khai sinh ∑∆", "/foo", "   "],
)
async def test_bad_input_never_crashes(run_action, text):
    turn = await run_action(ActionFee(), text, "ask_fee")
    assert turn.messages and turn.text


def test_every_procedure_renders_within_telegram_limits():
    """Each topic answer of every catalog procedure: no crash, < 4,096 chars, ends with the footer."""
    from actions import render
    from trolydvc.locality import load_locality

    loc = load_locality()
    renderers = [
        render.documents_answer, render.fee_answer, render.time_answer, render.steps_answer,
        render.overview_answer, lambda p: render.place_answer(p, loc), lambda p: render.online_answer(p, loc),
    ]  # fmt: skip
    catalog = load_catalog()
    assert len(catalog) > 1000
    for proc in catalog:
        footer = (
            f"Mã thủ tục: {proc.code} · Nguồn: {proc.source_url or 'https://dichvucong.gov.vn'}"
        )
        for fn in renderers:
            text = fn(proc)
            assert len(text) < 4096, (proc.code, fn)
            assert text.endswith(footer), (proc.code, fn)


def nlu_procedure_entities(text: str) -> list[dict[str, Any]]:
    """The procedure entities the NLU's ProcedureEntityExtractor finds, from the same table
    (the generated synonyms) it is trained with."""
    table = build_procedure_table(load_catalog())
    pairs = [(form, code) for code, forms in table.synonyms.items() for form in forms]
    finder = ProcedureFinder.from_pairs(pairs)
    return [
        {"entity": "procedure", "start": s.start, "end": s.end, "value": s.code}
        for s in finder.find(text)
    ]


# Issue #17: an alias read out of its context ("nhập khẩu" is import here, not "nhập hộ
# khẩu") or generic words ("giấy phép kinh doanh") never answer with an unrelated procedure.
@pytest.mark.parametrize(
    ("action", "intent", "text"),
    [
        (ActionRequiredDocuments(), "ask_required_documents",
         "cần giấy tờ gì để xin giấy phép nhập khẩu hóa chất"),
        (ActionProcessingTime(), "ask_processing_time",
         "Thời hạn cấp giấy phép nhập khẩu hóa chất là bao lâu?"),
        (ActionRequiredDocuments(), "ask_required_documents",
         "hồ sơ xin cấp giấy phép kinh doanh xăng dầu"),
    ],
)  # fmt: skip
async def test_an_unrelated_procedure_is_never_the_answer(run_action, action, intent, text):
    entities = nlu_procedure_entities(text)
    turn = await run_action(action, text, intent, entities)
    assert "Mã thủ tục" not in turn.text
    assert "Đăng ký thường trú" not in turn.text and "thành lập hộ kinh doanh" not in turn.text
    assert "chưa tìm thấy thủ tục này" in turn.text
    assert turn.slot("pending").startswith("procedure:")


async def test_nhap_khau_for_a_household_is_still_residence(run_action):
    text = "nhập khẩu cho con vào hộ của bố"
    entities = nlu_procedure_entities(text)
    assert entities, "the NLU's table reads 'nhập khẩu' as the alias of Đăng ký thường trú"
    turn = await run_action(ActionRequiredDocuments(), text, "ask_required_documents", entities)
    assert "«Đăng ký thường trú»" in turn.text


async def test_answers_show_the_level_and_the_agency(run_action):
    # a central (Cấp bộ) procedure, chosen with a button: no span, no text to search
    button = [{"entity": "procedure", "value": "1.003462"}]
    turn = await run_action(
        ActionProcessingTime(), "/ask_processing_time", "ask_processing_time", button
    )
    lines = turn.text.splitlines()
    assert lines[-2] == (
        "Cấp thực hiện: Cấp bộ · Cơ quan thực hiện: Cục Chăn nuôi và Thú y - Bộ NN và MT"
    )
    assert turn.text.endswith(footer_of("1.003462"))
    turn = await run_action(ActionFee(), "?", "ask_fee", ent(KHAI_SINH))
    assert "Cấp thực hiện: Cấp xã" in turn.text.splitlines()[-2]


def test_a_fee_note_repeated_in_parentheses_is_shown_once():
    from actions import render

    proc = load_catalog().get("1.000894")  # "Miễn lệ phí. …" and "(Miễn lệ phí. …)"
    notes = {m.fee.notes for m in proc.submission_methods if m.fee.notes}
    assert len(notes) > 1  # the data repeats it, differently bracketed
    answer = render.fee_answer(proc)
    assert answer.count("Ghi chú:") == 1 and "Thông tư số 281/2016/TT-BTC" in answer
