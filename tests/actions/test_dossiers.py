"""Dossier lookup and statistics actions over a scratch SQLite DB filled with the demo data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from actions.conversation import ActionFallback, ActionInform, ActionOutOfScope
from actions.dossiers import ActionCheckDossierStatus, ActionStatistics, period_in


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from trolydvc.db.base import reset_engines
    from trolydvc.db.migrate import upgrade
    from trolydvc.tracking import privacy
    from trolydvc.tracking.demo import load_demo_data

    mp = pytest.MonkeyPatch()
    url = f"sqlite:///{tmp_path_factory.mktemp('actions-db') / 'demo.db'}"
    mp.setenv("DATABASE_URL", url)
    mp.setenv("TROLYDVC_PHONE_KEY", "actions-test-key")
    privacy._key.cache_clear()
    reset_engines()
    upgrade(url)
    load_demo_data(60, today=date(2025, 10, 31))
    yield url
    reset_engines()
    mp.undo()
    privacy._key.cache_clear()


def sender() -> str:
    return (
        f"test-{uuid.uuid4().hex[:8]}"  # a fresh user each time: the lookup rate limit is per user
    )


def code_entity(code: str) -> list[dict[str, Any]]:
    return [{"entity": "dossier_code", "value": code, "start": 0, "end": len(code)}]


def private_parts(code: str) -> list[str]:
    """What the demo dossier `code` may show only after verification."""
    from trolydvc.db.base import get_engine
    from trolydvc.tracking.lookup import get_dossier

    with get_engine().connect() as conn:
        row = get_dossier(conn, code)
    assert row is not None
    parts = [row.procedure_name, row.applicant_name, row.agency, row.note]
    return [p for p in parts if p] + row.applicant_name.split()[1:]  # the given names alone too


async def test_lookup_then_verify_with_phone_digits(run_action, demo_db):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    user = sender()
    code = SHOWCASE[0]
    turn = await run_action(
        ActionCheckDossierStatus(), f"tra cứu hồ sơ {code.lower()}", "check_dossier_status",
        code_entity(code), sender_id=user,
    )  # fmt: skip
    assert f"Hồ sơ {code}" in turn.text and "Trạng thái" in turn.text
    assert "4 số cuối" in turn.text
    assert [p for p in private_parts(code) if p in turn.text] == []  # only the status
    assert "*" not in turn.text  # not even a masked name
    assert turn.slot("pending") == "phone_last4" and turn.slot("dossier_code") == code
    # the next message is only the four digits (whatever intent the NLU gives it)
    turn = await run_action(
        ActionFallback(), SHOWCASE_PHONE_LAST4, "nlu_fallback",
        slots={"pending": "phone_last4", "dossier_code": code}, sender_id=user,
    )  # fmt: skip
    assert "Quá trình xử lý" in turn.text or "Hình thức nộp" in turn.text
    assert [p for p in private_parts(code) if p not in turn.text] == []
    assert turn.slot("pending") is None


async def test_rotating_senders_lock_the_code_and_the_bot_stops_asking_for_digits(
    run_action, demo_db
):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    code = SHOWCASE[2]
    wrong = "0000" if SHOWCASE_PHONE_LAST4 != "0000" else "1111"
    for _ in range(5):  # five attackers, five wrong tries
        turn = await run_action(
            ActionFallback(), wrong, "nlu_fallback",
            slots={"pending": "phone_last4", "dossier_code": code}, sender_id=sender(),
        )  # fmt: skip
        assert "không khớp" in turn.text
    assert "tạm khóa" in turn.text and turn.slot("pending") is None
    turn = await run_action(  # the owner, with the right digits
        ActionFallback(), SHOWCASE_PHONE_LAST4, "nlu_fallback",
        slots={"pending": "phone_last4", "dossier_code": code}, sender_id=sender(),
    )  # fmt: skip
    assert "tạm khóa" in turn.text and "Hình thức nộp" not in turn.text
    assert [p for p in private_parts(code) if p in turn.text] == []
    assert turn.slot("pending") is None  # no use asking for the digits again
    turn = await run_action(
        ActionCheckDossierStatus(), f"tra cứu hồ sơ {code}", "check_dossier_status",
        code_entity(code), sender_id=sender(),
    )  # fmt: skip
    assert "Trạng thái" in turn.text and "tạm khóa" in turn.text and "4 số cuối" in turn.text
    assert turn.slot("pending") is None


async def test_code_in_text_without_entity_and_unknown_code(run_action, demo_db):
    turn = await run_action(
        ActionCheckDossierStatus(), "hồ sơ 000.00.20.h99-250101-0000 của tôi", "check_dossier_status",
        sender_id=sender(),
    )  # fmt: skip
    assert "Không tìm thấy hồ sơ có mã 000.00.20.H99-250101-0000" in turn.text


@pytest.mark.parametrize("end", [".", "?", " ạ."])
async def test_a_code_at_the_end_of_a_sentence(run_action, demo_db, end):
    from trolydvc.tracking.demo import SHOWCASE

    turn = await run_action(
        ActionCheckDossierStatus(), f"Mã hồ sơ của tôi là {SHOWCASE[0]}{end}",
        "check_dossier_status", sender_id=sender(),
    )  # fmt: skip
    assert f"Hồ sơ {SHOWCASE[0]}" in turn.text and "4 số cuối" in turn.text


async def test_code_typed_with_spaces_and_the_phone_digits(run_action, demo_db):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    code = SHOWCASE[0]
    typed = code.replace("-", " ")
    turn = await run_action(
        ActionCheckDossierStatus(), f"mã hồ sơ của tôi là {typed}, số cuối {SHOWCASE_PHONE_LAST4}",
        "check_dossier_status", sender_id=sender(),
    )  # fmt: skip
    assert f"Hồ sơ {code}" in turn.text
    assert "Hình thức nộp" in turn.text  # verified: the code's own digits were not taken


@pytest.mark.parametrize("typed", ["sdt của tôi là {phone}", "{spaced}"])
@pytest.mark.parametrize(
    ("action", "intent"),
    [(ActionOutOfScope(), "out_of_scope"), (ActionCheckDossierStatus(), "check_dossier_status")],
)
async def test_the_whole_phone_number_instead_of_its_last_four(
    run_action, demo_db, typed, action, intent
):
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    phone = "091234" + SHOWCASE_PHONE_LAST4
    text = typed.format(phone=phone, spaced=f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    turn = await run_action(
        action, text, intent,
        slots={"pending": "phone_last4", "dossier_code": SHOWCASE[0]}, sender_id=sender(),
    )  # fmt: skip
    assert turn.text.startswith("Tôi chỉ dùng 4 số cuối")
    assert "Hình thức nộp" in turn.text  # verified with the number's last four digits
    assert phone not in turn.text


async def test_code_sent_after_the_bot_asked(run_action, demo_db):
    from trolydvc.tracking.demo import SHOWCASE

    turn = await run_action(
        ActionInform(), SHOWCASE[1], "inform", code_entity(SHOWCASE[1]),
        slots={"pending": "dossier_code"}, sender_id=sender(),
    )  # fmt: skip
    assert f"Hồ sơ {SHOWCASE[1]}" in turn.text


async def test_statistics_are_aggregates_with_vi_formatting(run_action, demo_db):
    turn = await run_action(ActionStatistics(), "số liệu năm 2025", "ask_statistics")
    assert "năm 2025" in turn.text and "tiếp nhận" in turn.text
    assert "%" in turn.text and "," in turn.text


async def test_statistics_for_a_commune_say_they_are_not_per_commune(run_action, demo_db):
    turn = await run_action(ActionStatistics(), "thống kê của xã Hòa An năm 2025", "ask_statistics")
    assert "năm 2025" in turn.text
    assert "chưa tách riêng xã Hòa An" in turn.text


def test_period_in_question():
    today = date(2026, 11, 28)
    assert period_in("thống kê tháng 10", today).label == "tháng 10/2026"
    assert period_in("quý III năm 2025", today).label == "quý 3/2025"
    assert period_in("so lieu nam 2025", today).label == "năm 2025"
    assert period_in("số liệu hồ sơ", today) is None
    assert period_in("tháng 13", today) is None


@pytest.mark.parametrize(
    ("text", "today", "label"),
    [
        ("tỷ lệ trễ hạn tháng trước", date(2026, 11, 28), "tháng 10/2026"),
        ("thang truoc", date(2026, 1, 5), "tháng 12/2025"),
        ("số liệu tháng này", date(2026, 11, 28), "tháng 11/2026"),
        ("trực tuyến quý này", date(2026, 11, 28), "quý 4/2026"),
        ("quý trước", date(2026, 2, 1), "quý 4/2025"),
        ("quy truoc", date(2026, 11, 28), "quý 3/2026"),
        ("năm ngoái tiếp nhận bao nhiêu", date(2026, 11, 28), "năm 2025"),
    ],
)
def test_relative_periods(text, today, label):
    assert period_in(text, today).label == label


async def test_a_code_in_any_message_is_looked_up(run_action, demo_db):
    from trolydvc.tracking.demo import SHOWCASE

    turn = await run_action(
        ActionFallback(), f"{SHOWCASE[3]} ???", "nlu_fallback", code_entity(SHOWCASE[3]),
        sender_id=sender(),
    )  # fmt: skip
    assert f"Hồ sơ {SHOWCASE[3]}" in turn.text


async def test_a_verified_lookup_in_telegram_offers_to_follow(run_action, demo_db):
    """Only a verified lookup, only in Telegram or the widget (their channel stores the consent),
    offers the button; the offer lets exactly that conversation follow the dossier."""
    from trolydvc.tracking import follow
    from trolydvc.tracking.demo import SHOWCASE, SHOWCASE_PHONE_LAST4

    code = SHOWCASE[0]
    chat = 700_000 + uuid.uuid4().int % 100_000
    basic = await run_action(
        ActionCheckDossierStatus(), code, "check_dossier_status", sender_id=f"tg:{chat}"
    )
    assert basic.buttons == []
    rest = await run_action(
        ActionCheckDossierStatus(), f"{code} {SHOWCASE_PHONE_LAST4}", "check_dossier_status",
        sender_id=sender(),
    )  # fmt: skip
    assert "Hình thức nộp" in rest.text and rest.buttons == []  # not Telegram: no button
    assert follow.follow(chat, f"tg:{chat}", code).kind == "not_verified"
    verified = await run_action(
        ActionCheckDossierStatus(), f"{code} {SHOWCASE_PHONE_LAST4}", "check_dossier_status",
        sender_id=f"tg:{chat}",
    )  # fmt: skip
    [button] = verified.buttons
    assert button["title"] == "Theo dõi hồ sơ này"
    assert button["payload"] == "/follow_dossier" + json.dumps({"dossier_code": code}).replace(
        " ", ""
    )
    assert follow.follow(chat, f"tg:{chat}", code).kind == "followed"
    assert follow.follow(chat + 1, f"tg:{chat + 1}", code).kind == "not_verified"
    web = f"web:{uuid.uuid4().hex[:16]}"  # the web app's sender id of a widget session
    basic = await run_action(
        ActionCheckDossierStatus(), code, "check_dossier_status", sender_id=web
    )
    assert basic.buttons == []
    verified = await run_action(
        ActionCheckDossierStatus(), f"{code} {SHOWCASE_PHONE_LAST4}", "check_dossier_status",
        sender_id=web,
    )  # fmt: skip
    assert [b["title"] for b in verified.buttons] == ["Theo dõi hồ sơ này"]
    assert follow.follow(web, web, code).kind == "followed"
    assert follow.follow("web:other", "web:other", code).kind == "not_verified"
