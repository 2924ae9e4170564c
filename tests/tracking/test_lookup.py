from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from trolydvc.db.base import get_engine
from trolydvc.i18n import answering_in
from trolydvc.tracking.importer import import_file
from trolydvc.tracking.lookup import describe_dossier, lookup, normalize_code
from trolydvc.tracking.lookup_guard import RateLimiter
from trolydvc.tracking.privacy import normalize_phone

HEADER = (
    "code,procedure_code,procedure_name,applicant_name,applicant_phone,received_at,due_at,"
    "resolved_at,returned_at,status,channel,agency,sector,note\n"
)
ROWS = [
    # processing, due 09/11/2022
    "000.00.20.H50-221107-0001,1.001193,Đăng ký khai sinh,Nguyễn Văn An,0912345678,"
    "07/11/2022 08:30,09/11/2022 17:00,,,Đang xử lý,Trực tiếp,UBND xã A,Hộ tịch,",
    # resolved late, waiting to be collected
    "000.00.20.H50-221107-0002,1.000894,Đăng ký kết hôn,Trần Thị Bình,0987654321,"
    "07/11/2022 09:00,08/11/2022 17:00,10/11/2022 10:00,,Đã có kết quả,Trực tiếp,UBND xã A,"
    "Hộ tịch,",
    # supplement requested, online
    "000.00.20.H50-221107-0003,1.004222,Đăng ký thường trú,Lê Hoàng Châu,0911222333,"
    "07/11/2022 10:00,16/11/2022 17:00,,,Chờ bổ sung,Trực tuyến,UBND xã A,Cư trú,"
    "Bổ sung giấy tờ chứng minh chỗ ở hợp pháp.",
    # returned by post
    "000.00.20.H50-221107-0004,1.001193,Đăng ký khai sinh,Phạm Minh Dũng,,"
    "07/11/2022 11:00,09/11/2022 17:00,08/11/2022 15:00,09/11/2022 09:00,Đã trả kết quả,"
    "Bưu chính,UBND xã A,Hộ tịch,",
    # rejected, with the reason in the note
    "000.00.20.H50-221107-0005,1.001022,Đăng ký khai tử,Võ Thị Hạnh,0933444555,"
    "07/11/2022 14:00,10/11/2022 17:00,,,Từ chối,Trực tuyến,UBND xã A,Hộ tịch,"
    "Người yêu cầu không có quyền đăng ký.",
]
# What each dossier must not reveal before its phone digits matched: the procedure, the name
# (whole, in part, or masked), the note, the agency, the sector, the channel.
SECRETS = {
    "0001": ["Đăng ký khai sinh", "1.001193", "Nguyễn", "Văn An", "UBND", "Hộ tịch", "Trực tiếp"],
    "0002": ["Đăng ký kết hôn", "1.000894", "Trần", "Bình", "UBND", "Hộ tịch", "Trực tiếp"],
    "0003": ["Đăng ký thường trú", "Lê Hoàng", "Châu", "chỗ ở hợp pháp", "UBND", "Cư trú",
             "Trực tuyến"],
    "0004": ["Đăng ký khai sinh", "Phạm", "Dũng", "UBND", "Hộ tịch", "Bưu chính", "bưu chính ngày"],
    "0005": ["Đăng ký khai tử", "1.001022", "Võ Thị", "Hạnh", "không có quyền", "Lý do", "UBND",
             "Hộ tịch", "Trực tuyến"],
}  # fmt: skip
PHONES = {"0001": "5678", "0002": "4321", "0003": "2333", "0005": "4555"}
NOW_IN_TIME = datetime(2022, 11, 8, 12, 0)
NOW_LATE = datetime(2022, 11, 12, 12, 0)


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    path = tmp_path / "d.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    assert not import_file(path, url=db_url).errors
    with get_engine(db_url).begin() as conn:  # no wrong digits left over from another test
        conn.execute(text("DELETE FROM lookup_counters"))
    return db_url


def ask(code: str, url: str, **kwargs: object) -> str:
    kwargs.setdefault("now", NOW_IN_TIME)
    kwargs.setdefault("limiter", RateLimiter())
    return describe_dossier(code, sender_id="tester", url=url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("000.00.20.H50-221107-0001", "000.00.20.H50-221107-0001"),
        ("mã hồ sơ của tôi là 000.00.20.h50-221107-0001 ạ", "000.00.20.H50-221107-0001"),
        ("000.00.20.H50 – 221107 - 0001", "000.00.20.H50-221107-0001"),
        ("H50.99-221107-0001", "H50.99-221107-0001"),
        ("xin chào", None),
        ("0912345678", None),
        ("", None),
    ],
)
def test_normalize_code(text: str, code: str | None) -> None:
    assert normalize_code(text) == code


def test_normalize_phone() -> None:
    assert normalize_phone("+84 912 345 678") == "0912345678"
    assert normalize_phone("912345678") == "0912345678"
    assert normalize_phone("12ab") is None


def test_unverified_answer_shows_only_status_dates_and_next_step(loaded: str) -> None:
    text = ask("000.00.20.h50-221107-0001", loaded)
    assert "Đang xử lý" in text and "07/11/2022" in text and "09/11/2022" in text
    assert "Trong hạn: còn 1 ngày" in text
    assert "chưa cần làm gì thêm" in text
    assert "4 số cuối" in text
    assert "0912345678" not in text and "5678" not in text
    assert "*" not in text and "Người nộp" not in text and "Thủ tục:" not in text


@pytest.mark.parametrize("last", sorted(SECRETS))
@pytest.mark.parametrize("digits", [None, "0000"], ids=["code only", "wrong digits"])
def test_nothing_but_the_status_before_verification(
    loaded: str, last: str, digits: str | None
) -> None:
    code = f"000.00.20.H50-221107-{last}"
    result = lookup(
        code, sender_id=f"s-{last}", phone_last4=digits, now=NOW_IN_TIME, limiter=RateLimiter(),
        url=loaded,
    )  # fmt: skip
    assert result.kind in ("found", "wrong_phone", "no_phone_on_file")
    assert "Trạng thái" in result.text and "Việc cần làm" in result.text
    shown = [secret for secret in SECRETS[last] if secret in result.text]
    assert shown == [], result.text
    assert "*" not in result.text  # no name mask either
    if last in PHONES:  # and the right digits show them all
        verified = ask(code, loaded, phone_last4=PHONES[last])
        assert [secret for secret in SECRETS[last] if secret not in verified] == []


def test_verified_answer_shows_more(loaded: str) -> None:
    text = ask("000.00.20.H50-221107-0001", loaded, phone_last4="5678")
    assert "Nguyễn Văn An" in text and "Quá trình xử lý" in text and "UBND xã A" in text
    assert "Trực tiếp" in text and "0912345678" not in text
    assert "Đăng ký khai sinh (mã 1.001193)" in text


def test_wrong_digits_show_only_the_basic_answer(loaded: str) -> None:
    result = lookup(
        "000.00.20.H50-221107-0001",
        sender_id="x",
        phone_last4="1111",
        now=NOW_IN_TIME,
        limiter=RateLimiter(),
        url=loaded,
    )
    assert result.kind == "wrong_phone"
    assert "không khớp" in result.text and "Nguyễn Văn An" not in result.text


def test_overdue_and_late_and_next_steps(loaded: str) -> None:
    overdue = ask("000.00.20.H50-221107-0001", loaded, now=NOW_LATE)
    assert "Đã quá hạn 3 ngày" in overdue and "ngày hẹn trả mới" in overdue
    assert "liên hệ Bộ phận Một cửa nơi Bạn đã nộp hồ sơ" in overdue
    late = ask("000.00.20.H50-221107-0002", loaded)
    assert "trễ hạn 2 ngày" in late and "Mời Bạn đến Bộ phận Một cửa nơi Bạn đã nộp hồ sơ" in late
    late = ask("000.00.20.H50-221107-0002", loaded, phone_last4="4321")
    assert "Mời Bạn đến Bộ phận Một cửa của UBND xã A" in late
    supplement = ask("000.00.20.H50-221107-0003", loaded)
    assert "cần bổ sung giấy tờ" in supplement and "phiếu yêu cầu bổ sung" in supplement
    supplement = ask("000.00.20.H50-221107-0003", loaded, phone_last4="2333")
    assert "chứng minh chỗ ở hợp pháp" in supplement and "Cổng Dịch vụ công" in supplement
    posted = ask("000.00.20.H50-221107-0004", loaded)
    assert "Kết quả đã được trả ngày 09/11/2022" in posted and "đúng hạn" in posted
    rejected = ask("000.00.20.H50-221107-0005", loaded)
    assert "Hồ sơ không được giải quyết. Bạn có thể liên hệ" in rejected
    rejected = ask("000.00.20.H50-221107-0005", loaded, phone_last4="4555")
    assert "Lý do: Người yêu cầu không có quyền đăng ký." in rejected


def test_unknown_and_malformed_codes_get_the_expected_format(loaded: str) -> None:
    unknown = ask("000.00.20.H50-221107-0999", loaded)
    assert "Không tìm thấy hồ sơ có mã 000.00.20.H50-221107-0999" in unknown
    assert "000.00.20.H50-221107-0001" in unknown  # the expected format
    malformed = ask("hồ sơ của tôi", loaded)
    assert "chưa đúng định dạng" in malformed


def test_rate_limit_per_sender_and_slowdown_after_unknown_codes(loaded: str) -> None:
    clock = [1000.0]
    limiter = RateLimiter(clock=lambda: clock[0])
    for _ in range(10):
        assert (
            lookup("000.00.20.H50-221107-0001", sender_id="a", limiter=limiter, url=loaded).kind
            == "found"
        )
    blocked = lookup("000.00.20.H50-221107-0001", sender_id="a", limiter=limiter, url=loaded)
    assert blocked.kind == "rate_limited" and "quá nhiều lần" in blocked.text
    assert (
        lookup("000.00.20.H50-221107-0001", sender_id="b", limiter=limiter, url=loaded).kind
        == "found"
    )
    clock[0] += 61
    assert (
        lookup("000.00.20.H50-221107-0001", sender_id="a", limiter=limiter, url=loaded).kind
        == "found"
    )

    for i in range(3):
        code = f"000.00.20.H50-221107-09{i:02d}"
        assert lookup(code, sender_id="c", limiter=limiter, url=loaded).kind == "not_found"
    slowed = lookup("000.00.20.H50-221107-0001", sender_id="c", limiter=limiter, url=loaded)
    assert slowed.kind == "rate_limited" and "30 giây" in slowed.text
    clock[0] += 31
    assert (
        lookup("000.00.20.H50-221107-0998", sender_id="c", limiter=limiter, url=loaded).kind
        == "not_found"
    )
    again = lookup("000.00.20.H50-221107-0001", sender_id="c", limiter=limiter, url=loaded)
    assert again.kind == "rate_limited" and "phút" in again.text  # 60 s now: the delay doubles


def test_cli_show(loaded: str) -> None:
    from trolydvc.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["dossiers", "show", "000.00.20.H50-221107-0002"])
    assert ok.exit_code == 0 and "Đã có kết quả" in ok.output and "Trần" not in ok.output
    verified = runner.invoke(
        main, ["dossiers", "show", "000.00.20.H50-221107-0002", "--phone-last4", "4321"]
    )
    assert "Trần Thị Bình" in verified.output
    bad = runner.invoke(main, ["dossiers", "show", "???"])
    assert bad.exit_code == 1 and "chưa đúng định dạng" in bad.output


# --- the same answers in an English conversation (issue #17 item 5) ------------------------------
# Labels, statuses and next steps in English; the code, the dates, the official names and the
# one-stop shop's note as they are; the same privacy rule.
VIETNAMESE_FRAME = ("Hồ sơ ", "Trạng thái", "Việc cần làm", "Bạn ", "Ngày hẹn trả", "Mời ")


def test_an_english_conversation_gets_english_labels_and_the_same_privacy(loaded: str) -> None:
    with answering_in("en"):
        basic = ask("000.00.20.H50-221107-0002", loaded)
        verified = ask("000.00.20.H50-221107-0001", loaded, phone_last4="5678")
        wrong = lookup(
            "000.00.20.H50-221107-0005", sender_id="en", phone_last4="1111", now=NOW_IN_TIME,
            limiter=RateLimiter(), url=loaded,
        )  # fmt: skip
        unknown = ask("000.00.20.H50-221107-0999", loaded)
    assert basic.startswith("Dossier 000.00.20.H50-221107-0002\n• Received on: 07/11/2022\n")
    assert "• Due date: 08/11/2022\n• Status: Result ready\n" in basic
    assert "  Result ready on 10/11/2022, 2 days late." in basic
    assert "What to do: Please collect the result at the one-stop shop where you submitted" in basic
    assert "send me the last 4 digits of the phone number" in basic
    assert [secret for secret in SECRETS["0002"] if secret in basic] == []
    assert "Procedure: Đăng ký khai sinh (code 1.001193)" in verified  # the official name
    assert "Applicant: Nguyễn Văn An" in verified and "Submitted: In person" in verified
    assert "Receiving agency: UBND xã A" in verified and "Processing history:" in verified
    assert "On time: 1 day left until the due date." in verified
    assert wrong.kind == "wrong_phone" and wrong.text.startswith("The last 4 digits")
    assert "Võ Thị Hạnh" not in wrong.text and "Reason" not in wrong.text
    assert "No dossier has the code 000.00.20.H50-221107-0999" in unknown
    for answer in (basic, verified, wrong.text, unknown):
        assert [label for label in VIETNAMESE_FRAME if label in answer] == [], answer
    # outside an English conversation the answers stay Vietnamese
    assert ask("000.00.20.H50-221107-0002", loaded).startswith("Hồ sơ 000.00.20.H50-221107-0002")


def test_a_locked_code_is_explained_in_english(loaded: str) -> None:
    code = "000.00.20.H50-221107-0001"
    with answering_in("en"):
        for attempt in range(10):
            result = lookup(
                code, sender_id=f"guess-{attempt}", phone_last4="0000", now=NOW_IN_TIME,
                limiter=RateLimiter(), url=loaded,
            )  # fmt: skip
            if result.kind == "locked":
                break
    assert result.kind == "locked", result.text
    assert f"verifying dossier {code} is locked for about 24 hours" in result.text  # 86,400 s
    # whom to contact: the province's one-stop shop (named as locality.yml has it), or their own
    assert "\n• or the one-stop shop where you submitted the dossier\n" in result.text
    assert "Nguyễn Văn An" not in result.text and "Bạn" not in result.text
