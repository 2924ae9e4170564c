"""Papers as a checklist, the personal checklist, times with their unit, the online walkthrough."""

from __future__ import annotations

import json
from typing import Any

from actions import render
from actions.procedures import ActionOnlineSubmission, ActionRequiredDocuments
from actions.topics import TOPICS, Question
from trolydvc.catalog import Document, Procedure, load_catalog
from trolydvc.catalog.guidance import Situation, checklist, short_name, stated_time
from trolydvc.locality import load_locality

KHAI_SINH = "1.001193"
HO_KINH_DOANH = "1.001612"


def ent(code: str, case: str | None = None) -> list[dict[str, Any]]:
    entities = [{"entity": "procedure", "value": code}]
    if case is not None:
        entities.append({"entity": "case", "value": case})
    return entities


def documents_reply(proc: Procedure, case: str = "") -> render.Answer:
    """The documents topic's reply, as the action renders it (actions/topics.py)."""
    return TOPICS["documents"].render(proc, Question("", load_locality(), case))


def test_short_names_are_cut_from_the_official_text():
    assert short_name("Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp …") == (
        "Giấy chứng sinh"
    )
    assert (
        short_name(
            "Văn bản ủy quyền (được chứng thực) theo quy định của pháp luật trong trường hợp ủy quyền"
        )
        == "Văn bản ủy quyền (được chứng thực)"
    )
    assert (
        short_name(
            "Tờ khai thay đổi thông tin cư trú (mẫu CT01 ban hành kèm theo Thông tư số 53/2025/TT-BCA)."
        )
        == "Tờ khai thay đổi thông tin cư trú (mẫu CT01)"
    )
    assert (
        short_name(
            "Hộ chiếu/Thẻ căn cước … còn giá trị sử dụng (sau đây gọi tắt là giấy tờ tùy thân) để …"
        )
        == "Giấy tờ tùy thân"
    )


def test_khai_sinh_core_cases_and_papers_to_show():
    proc = load_catalog().get(KHAI_SINH)
    assert proc is not None
    cl = checklist(proc)
    assert [p.short for p in cl.core] == ["Giấy chứng sinh"]
    assert {p.short: p.case.key for p in cl.by_channel if p.case} == {
        "Tờ khai đăng ký khai sinh": "direct",
        "Mẫu hộ tịch điện tử tương tác đăng ký khai sinh": "online",
    }
    labels = [c.label for c in cl.cases if c.kind != "channel"]
    assert "trẻ em bị bỏ rơi" in labels and "trẻ em sinh ra do mang thai hộ" in labels
    assert "nếu nhờ người khác nộp thay (ủy quyền)" in labels
    assert "Giấy tờ tùy thân" in [p.short for p in cl.to_show]
    # nothing dropped: every official document is a paper of the checklist
    assert [p.doc for p in cl.papers] == proc.documents


def test_a_condition_in_the_documents_own_words_makes_it_case_specific():
    proc = Procedure(
        code="9.999999",
        name="Thủ tục thử",
        documents=[
            Document(name="Đơn đề nghị theo mẫu;"),
            Document(name="Bản sao hợp đồng thuê nhà đối với trường hợp thuê nhà để ở."),
            Document(name="Trường hợp người nước ngoài thì phải có bản dịch hộ chiếu."),
        ],
    )
    cl = checklist(proc)
    assert [p.short for p in cl.core] == ["Đơn đề nghị"]
    assert [(p.short, p.case.label) for p in cl.special if p.case] == [
        ("Bản sao hợp đồng thuê nhà", "thuê nhà để ở"),
        ("Bản dịch hộ chiếu", "người nước ngoài"),
    ]


async def test_first_documents_reply_is_a_short_checklist_with_case_buttons(run_action):
    turn = await run_action(
        ActionRequiredDocuments(), "làm giấy khai sinh cho con cần những gì",
        "ask_required_documents", ent(KHAI_SINH),
    )  # fmt: skip
    text = turn.text
    assert len(text) <= render.FIRST_REPLY_CHARS
    assert text.index("Giấy chứng sinh") < text.index("bỏ rơi") < text.index("mang thai hộ")
    assert "Mang theo để xuất trình:\n- Giấy tờ tùy thân" in text
    titles = [b["title"] for b in turn.buttons]
    assert "Nếu trẻ em bị bỏ rơi" in titles and render.FULL_TEXT_LABEL in titles
    assert render.MY_CASE_LABEL in titles
    # the official wording is one tap away
    full = next(b for b in turn.buttons if b["title"] == render.FULL_TEXT_LABEL)
    assert full["payload"].endswith('"case": "all"}')
    turn = await run_action(
        ActionRequiredDocuments(), "", "ask_required_documents", ent(KHAI_SINH, "all")
    )
    assert "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản" in turn.text


async def test_a_special_case_opens_with_its_official_wording(run_action):
    turn = await run_action(
        ActionRequiredDocuments(), "", "ask_required_documents", ent(KHAI_SINH, "open:proxy")
    )
    assert "nếu nhờ người khác nộp thay (ủy quyền), cần thêm:" in turn.text
    assert "1. Văn bản ủy quyền (được chứng thực)" in turn.text
    assert "Nguyên văn: Văn bản ủy quyền (được chứng thực) theo quy định" in turn.text


async def test_personal_checklist_asks_what_decides_then_lists_that_case(run_action):
    async def tap(case: str) -> Any:
        return await run_action(
            ActionRequiredDocuments(), "", "ask_required_documents", ent(KHAI_SINH, case)
        )

    turn = await tap("ask")
    assert "hình thức nào" in turn.text
    online = next(b for b in turn.buttons if b["title"] == "Nộp trực tuyến")
    turn = await tap(_case(online))
    assert "nhờ người khác nộp thay" in turn.text
    myself = next(b for b in turn.buttons if b["title"] == "Tôi tự nộp")
    turn = await tap(_case(myself))
    assert "trường hợp nào dưới đây" in turn.text
    none = next(b for b in turn.buttons if b["title"] == "Không thuộc trường hợp nào")
    turn = await tap(_case(none))
    assert turn.text.startswith(
        "Giấy tờ của Bạn — thủ tục «Đăng ký khai sinh» (nộp trực tuyến; tự nộp; "
        "không thuộc trường hợp riêng):\nCần nộp:\n1. Giấy chứng sinh (1 bản chính)\n"
        "2. Mẫu hộ tịch điện tử tương tác đăng ký khai sinh (1 bản chính)\n"
    )
    assert "Tờ khai đăng ký khai sinh" not in turn.text and "ủy quyền" not in turn.text
    assert turn.slot("procedure") == KHAI_SINH and turn.slot("topic") == "documents"
    # another case: in person, someone else submits, a child born through surrogacy
    surrogacy = Situation("direct", True, next(
        c.key for c in checklist(load_catalog().get(KHAI_SINH)).cases  # type: ignore[arg-type]
        if c.label == "trẻ em sinh ra do mang thai hộ"
    ))  # fmt: skip
    turn = await tap(surrogacy.encode())
    for paper in (
        "Văn bản ủy quyền",
        "Văn bản xác nhận của cơ sở y tế",
        "Tờ khai đăng ký khai sinh",
    ):
        assert paper in turn.text
    assert "Mẫu hộ tịch điện tử" not in turn.text and "bỏ rơi" not in turn.text


def _case(button: dict[str, str]) -> str:
    return json.loads(button["payload"][button["payload"].index("{") :])["case"]


def test_situation_round_trips():
    for situation in (Situation(), Situation("online", False, ""), Situation("postal", True, "c2")):
        assert Situation.decode(situation.encode()) == situation
    assert Situation.decode("all") is None and Situation.decode("open:c1") is None


def test_time_units_come_from_the_text_only_when_it_agrees():
    catalog = load_catalog()
    proc = catalog.get("1.004873")
    assert proc is not None
    stated = stated_time(proc, proc.submission_methods[0].processing_time)
    assert stated is not None and stated.unit == "working_days" and stated.value == 3
    assert stated.quote.startswith("Trong thời hạn 03 ngày làm việc")
    assert stated.place == "Trình tự thực hiện"
    # two phrases with the table's number but different units: no unit is chosen
    from trolydvc.catalog import ProcessingTime

    odd = Procedure(
        code="9.999998", name="Thủ tục thử",
        steps=["Trong thời hạn 05 ngày làm việc, cơ quan trả lời.", "Niêm yết trong 05 ngày."],
    )  # fmt: skip
    assert stated_time(odd, ProcessingTime(value=5, text="5")) is None
    assert stated_time(odd, ProcessingTime(value=7, text="7")) is None


async def test_online_answer_is_a_numbered_walkthrough(run_action):
    turn = await run_action(
        ActionOnlineSubmission(), "nộp online được không", "ask_online_submission", ent(KHAI_SINH)
    )
    text = turn.text
    for step in ("1. Đăng nhập", "VNeID (mức độ 2)", "2. Mở trang của thủ tục: https://",
                 "3. Chọn tỉnh/thành phố", "Điền tờ khai điện tử", "Đính kèm ảnh chụp",
                 "Giấy chứng sinh", "Mẹo: chụp thẳng", "Giữ bản chính", "Giấy tờ tùy thân",
                 "mã hồ sơ", "tra cứu hồ sơ", "Tiếp theo:"):  # fmt: skip
        assert step in text, step
    assert "Thời hạn giải quyết: 1 ngày làm việc" in text


async def test_not_online_says_so_and_where_to_go(run_action):
    turn = await run_action(
        ActionOnlineSubmission(), "nộp online được không", "ask_online_submission",
        ent("2.000815"),
    )  # fmt: skip
    assert "chưa nộp trực tuyến được" in turn.text and "Nơi nộp:" in turn.text
    assert "Tiếp theo:" in turn.text


def test_every_procedures_checklist_replies_render_within_limits():
    loc = load_locality()
    for proc in load_catalog():
        first = documents_reply(proc)
        assert len(first.text) < 4096 and first.text.endswith(render.footer(proc)), proc.code
        cl = checklist(proc)
        assert len(cl.papers) == len(proc.documents)
        for case in cl.cases:
            assert documents_reply(proc, f"open:{case.key}").text.endswith(render.footer(proc))
        reply = documents_reply(proc, "ask")
        assert reply.text and (reply.buttons or "Giấy tờ của Bạn" in reply.text), proc.code
        assert len(render.online_answer(proc, loc)) < 4096


def test_papers_for_everyone_counts_the_form_of_each_channel():
    from trolydvc.catalog.guidance import papers_for_everyone

    catalog = load_catalog()
    ket_hon = catalog.get("1.000894")  # Tờ khai (in person) or the e-form (online), no core
    thuong_tru = catalog.get("1.004222")  # every paper under one of several situations
    assert ket_hon is not None and thuong_tru is not None
    assert not checklist(ket_hon).core and papers_for_everyone(checklist(ket_hon), ket_hon)
    assert not papers_for_everyone(checklist(thuong_tru), thuong_tru)


def test_a_heading_over_every_paper_names_the_dossier_not_a_case():
    heading = "Hồ sơ gồm bản sao và xuất trình bản chính để đối chiếu các giấy tờ sau"
    proc = Procedure(
        code="9.999990", name="Thủ tục thử",
        documents=[
            Document(name="Đơn đề nghị;", condition=heading),
            Document(name="Bản sao giấy phép.", condition=heading),
            Document(name="Văn bản giải trình.", condition=f"{heading}; Trường hợp thay đổi tên"),
        ],
    )  # fmt: skip
    cl = checklist(proc)
    assert [p.short for p in cl.core] == ["Đơn đề nghị", "Bản sao giấy phép"]
    assert [(p.short, p.case.label) for p in cl.special if p.case] == [
        ("Văn bản giải trình", "thay đổi tên")
    ]
    # two headings are alternative dossiers: they stay cases
    alternatives = Procedure(
        code="9.999989", name="Cấp, cấp lại giấy phép thử",
        documents=[
            Document(name="Đơn đề nghị cấp;", condition="Hồ sơ đề nghị cấp giấy phép gồm"),
            Document(name="Đơn đề nghị cấp lại;", condition="Hồ sơ đề nghị cấp lại giấy phép gồm"),
        ],
    )  # fmt: skip
    alt = checklist(alternatives)
    assert len(alt.cases) == 2 and alt.alternatives == alt.cases
    # each asks for its own application: that an application is needed is common, no more
    assert [p.short for p in alt.core] == ["Đơn đề nghị (mẫu theo trường hợp)"]
    assert alt.core_rule == "form" and alt.core[0].doc.copies is None
    # one heading over only some papers beside a marked case is a case too
    some = Procedure(
        code="9.999988", name="Thủ tục thử",
        documents=[
            Document(name="Phiếu đề nghị;", condition="Công dân đã được cấp thẻ căn cước"),
            Document(name="Hồ sơ cấp thẻ.", condition="Trường hợp công dân chưa được cấp thẻ"),
        ],
    )  # fmt: skip
    assert not checklist(some).core and len(checklist(some).cases) == 2


def test_an_exemption_note_is_not_a_case():
    note = (
        "(Trường hợp khai thác, sử dụng được thông tin về tài liệu tư cách pháp lý của nhà đầu "
        "tư … thì hồ sơ không bao gồm bản sao của các giấy tờ này)"
    )
    proc = Procedure(
        code="9.999987", name="Thủ tục thử",
        documents=[
            Document(name="Văn bản đề nghị điều chỉnh dự án đầu tư;", condition=note),
            Document(name="Tài liệu về tư cách pháp lý của nhà đầu tư.", condition=note),
        ],
    )  # fmt: skip
    cl = checklist(proc)
    assert [p.short for p in cl.core] == [
        "Văn bản đề nghị điều chỉnh dự án đầu tư",
        "Tài liệu về tư cách pháp lý của nhà đầu tư",
    ]
    assert not cl.cases


def test_channel_and_who_submits_conditions():
    proc = Procedure(
        code="9.999986", name="Thủ tục thử",
        documents=[
            Document(name="Giấy đề nghị (bản giấy).",
                     condition="Trường hợp hồ sơ không được gửi trên môi trường điện tử"),
            Document(name="Giấy đề nghị điện tử.",
                     condition="Trường hợp hồ sơ được gửi trên môi trường điện tử"),
            Document(name="Văn bản ủy quyền trong trường hợp người nộp thuế không trực tiếp "
                          "thực hiện thủ tục hoàn thuế."),
            Document(name="Hợp đồng thuê trong trường hợp tổ chức không trực tiếp thực hiện "
                          "thi công."),
        ],
    )  # fmt: skip
    cases = [(p.case.kind, p.case.key) if p.case else None for p in checklist(proc).papers]
    assert cases[:3] == [("channel", "direct"), ("channel", "online"), ("proxy", "proxy")]
    assert cases[3] is not None and cases[3][0] == "other"  # not about submitting


def test_papers_every_alternative_dossier_asks_for_are_core():
    def doc(name: str, condition: str | None = None) -> Document:
        return Document(name=name, condition=condition)

    one, two = (
        "Trường hợp chuyển đổi công ty một thành viên",
        "Trường hợp chuyển đổi công ty cổ phần",
    )
    proc = Procedure(
        code="9.999985", name="Chuyển đổi công ty thử",
        documents=[
            doc("Giấy đề nghị đăng ký doanh nghiệp;", one), doc("Điều lệ công ty;", one),
            doc("Danh sách thành viên;", one),
            doc("Giấy đề nghị đăng ký doanh nghiệp;", two), doc("Điều lệ công ty;", two),
            # added in its own words, in a case of its own: not a third alternative
            doc("Hợp đồng tặng cho đối với trường hợp tặng cho phần vốn góp."),
        ],
    )  # fmt: skip
    cl = checklist(proc)
    assert [p.short for p in cl.core] == ["Giấy đề nghị đăng ký doanh nghiệp", "Điều lệ công ty"]
    assert cl.papers[-1].added and cl.papers[-1].case is not None


def test_a_heading_over_part_of_the_dossier_or_a_note_on_a_paper_is_not_a_case():
    def doc(name: str, condition: str | None = None) -> Document:
        return Document(name=name, condition=condition)

    receipt_note = (
        "Phiếu được tạo lập khi trích xuất thông tin của công dân trong Cơ sở dữ liệu quốc gia "
        "về dân cư và in trong quá trình thu nhận hồ sơ căn cước để công dân kiểm tra và ký xác nhận."
    )
    proc = Procedure(
        code="9.999984", name="Cấp lại thẻ thử",
        documents=[
            doc("Phiếu thu nhận thông tin căn cước (Mẫu CC01 ban hành kèm theo Thông tư …)",
                receipt_note),
            # the same note on another paper (2.001194's DC02) does not make that paper core
            doc("Phiếu đề nghị giải quyết thủ tục về căn cước (Mẫu DC02 …)", receipt_note),
            doc("Kết luận nội dung tố cáo", "Nhóm 1 gồm các văn bản, tài liệu sau"),
            doc("Văn bản giải trình của người bị tố cáo", "Nhóm 2 gồm các văn bản, tài liệu sau"),
            doc("Xuất trình giấy tờ hợp lệ chứng minh thông tin người đến nộp hồ sơ.", "Bao gồm"),
            doc("Giấy tờ, tài liệu chứng minh là người đại diện hợp pháp",
                "Trường hợp người đề nghị là người đại diện hợp pháp của người dưới 14 tuổi"),
        ],
    )  # fmt: skip
    cl = checklist(proc)
    assert [p.short for p in cl.core] == [
        "Phiếu thu nhận thông tin căn cước (mẫu CC01)",
        "Kết luận nội dung tố cáo",
        "Văn bản giải trình của người bị tố cáo",
        "Xuất trình giấy tờ hợp lệ chứng minh thông tin người đến nộp hồ sơ",
    ]
    assert [p.short for p in cl.special] == [
        "Phiếu đề nghị giải quyết thủ tục về căn cước (mẫu DC02)",
        "Giấy tờ, tài liệu chứng minh là người đại diện hợp pháp",
    ]


def test_a_case_written_before_a_colon_leaves_the_paper_its_name():
    def doc(name: str, condition: str) -> Document:
        return Document(name=name, condition=condition)

    proc = Procedure(
        code="9.999983", name="Thủ tục chấp thuận thử",
        documents=[
            doc("Đối với trường hợp chấp thuận thay đổi, bổ sung trực tiếp nhận và chi, trả ngoại "
                "tệ: 1. Đơn đề nghị chấp thuận thay đổi, bổ sung, gia hạn (theo Phụ lục 5). "
                "2. Bản sao giấy phép.", "Đối với trường hợp chấp thuận thay đổi"),
            doc("Trường hợp đề nghị cấp lại do Giấy phép bị mất, bị rách, hồ sơ gồm: đơn đề nghị "
                "cấp lại Giấy phép theo Mẫu số 11.", "Trường hợp đề nghị cấp lại do Giấy phép bị mất"),
            # another case follows the colon: not the paper's name
            doc("Đối với trường hợp khen thưởng “Huân chương các loại, các hạng”: - Đối với cá "
                "nhân: + Tờ trình đề nghị khen thưởng", "Đối với trường hợp khen thưởng"),
        ],
    )  # fmt: skip
    shorts = [p.short for p in checklist(proc).papers]
    assert shorts[:2] == [
        "Đơn đề nghị chấp thuận thay đổi, bổ sung, gia hạn (theo Phụ lục 5)",
        "Đơn đề nghị cấp lại Giấy phép",
    ]
    assert not shorts[2].startswith("Đơn") and "Đối với cá nhân" not in shorts[2]


async def test_alternative_dossiers_first_reply_asks_which_case(run_action):
    proc = load_catalog().get("1.004222")  # Đăng ký thường trú: every paper under a situation
    assert proc is not None
    cl = checklist(proc)
    assert not cl.core and len(cl.alternatives) >= 2
    turn = await run_action(
        ActionRequiredDocuments(), "đăng ký thường trú cần giấy tờ gì", "ask_required_documents",
        ent(proc.code),
    )  # fmt: skip
    assert "giấy tờ cần nộp tùy trường hợp. Trường hợp của Bạn là:\n1. " in turn.text
    assert "Cần thêm giấy tờ" not in turn.text and len(turn.text) <= render.FIRST_REPLY_CHARS
    first = cl.alternatives[0]
    button = next(b for b in turn.buttons if b["title"] == f"1. {first.label}")
    assert _case(button) == f"open:{first.key}"
    turn = await run_action(
        ActionRequiredDocuments(), "", "ask_required_documents", ent(proc.code, _case(button))
    )
    assert f"trường hợp {first.label}, cần nộp:\n1. " in turn.text
    assert "Cùng với giấy tờ mọi người đều nộp" not in turn.text
    # the personal checklist offers the alternatives, "another case" rather than "none"
    turn = await run_action(
        ActionRequiredDocuments(), "", "ask_required_documents",
        ent(proc.code, Situation("online", False).encode()),
    )  # fmt: skip
    assert "Trường hợp của Bạn là:" in turn.text
    assert "Trường hợp khác" in [b["title"] for b in turn.buttons]
