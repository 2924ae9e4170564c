from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from trolydvc.tracking.importer import import_file
from trolydvc.tracking.lookup import describe_dossier, lookup, normalize_code
from trolydvc.tracking.lookup_guard import RateLimiter
from trolydvc.tracking.privacy import mask_name, normalize_phone

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
]
NOW_IN_TIME = datetime(2022, 11, 8, 12, 0)
NOW_LATE = datetime(2022, 11, 12, 12, 0)


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    path = tmp_path / "d.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    assert not import_file(path, url=db_url).errors
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


def test_mask_name_and_phone() -> None:
    assert mask_name("Nguyễn Văn An") == "N*** V** A"
    assert mask_name("Lê Thị Hồng Nhung") == "L* T** H*** N"
    assert normalize_phone("+84 912 345 678") == "0912345678"
    assert normalize_phone("912345678") == "0912345678"
    assert normalize_phone("12ab") is None


def test_unverified_answer_masks_name_and_never_shows_phone(loaded: str) -> None:
    text = ask("000.00.20.h50-221107-0001", loaded)
    assert "N*** V** A" in text and "Nguyễn Văn An" not in text
    assert "0912345678" not in text and "5678" not in text
    assert "Đang xử lý" in text and "Đăng ký khai sinh" in text and "1.001193" in text
    assert "07/11/2022" in text and "09/11/2022" in text
    assert "Trong hạn: còn 1 ngày" in text
    assert "chưa cần làm gì thêm" in text
    assert "4 số cuối" in text


def test_verified_answer_shows_more(loaded: str) -> None:
    text = ask("000.00.20.H50-221107-0001", loaded, phone_last4="5678")
    assert "Nguyễn Văn An" in text and "Quá trình xử lý" in text and "UBND xã A" in text
    assert "Trực tiếp" in text and "0912345678" not in text


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
    late = ask("000.00.20.H50-221107-0002", loaded)
    assert "trễ hạn 2 ngày" in late and "Mời Bạn đến Bộ phận Một cửa của UBND xã A" in late
    supplement = ask("000.00.20.H50-221107-0003", loaded)
    assert "chứng minh chỗ ở hợp pháp" in supplement and "Cổng Dịch vụ công" in supplement
    posted = ask("000.00.20.H50-221107-0004", loaded)
    assert "đã được trả qua bưu chính ngày 09/11/2022" in posted and "đúng hạn" in posted


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
    assert ok.exit_code == 0 and "T*** T** B" in ok.output
    verified = runner.invoke(
        main, ["dossiers", "show", "000.00.20.H50-221107-0002", "--phone-last4", "4321"]
    )
    assert "Trần Thị Bình" in verified.output
    bad = runner.invoke(main, ["dossiers", "show", "???"])
    assert bad.exit_code == 1 and "chưa đúng định dạng" in bad.output
