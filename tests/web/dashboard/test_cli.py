"""`trolydvc officials web-add | web-disable | web-list`."""

from __future__ import annotations

from click.testing import CliRunner

from trolydvc.cli import main
from trolydvc.web.dashboard.accounts import LoginResult, authenticate


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["officials", *args], input=stdin)
    return result.exit_code, result.output


def test_web_accounts_from_the_command_line(database: str) -> None:
    code, out = _run(
        "web-add", "MotCua1", "--role", "admin", stdin="mat-khau-du-dai-1\nmat-khau-du-dai-1\n"
    )
    assert code == 0 and "Đã tạo tài khoản: motcua1 (admin)" in out
    assert "mat-khau-du-dai-1" not in out  # the prompt hides it
    assert authenticate("motcua1", "mat-khau-du-dai-1", "cli")[0] is LoginResult.OK

    code, out = _run("web-add", "motcua1", "--password-stdin", stdin="mat-khau-moi-du-dai\n")
    assert code == 0 and "Đã cập nhật tài khoản: motcua1 (official)" in out
    assert authenticate("motcua1", "mat-khau-du-dai-1", "cli")[0] is LoginResult.WRONG

    code, out = _run("web-list")
    assert code == 0 and "motcua1\tofficial\thoạt động" in out
    code, out = _run("web-disable", "motcua1")
    assert code == 0 and "Đã khóa tài khoản: motcua1" in out
    assert authenticate("motcua1", "mat-khau-moi-du-dai", "cli")[0] is LoginResult.WRONG
    code, out = _run("web-disable", "motcua1")
    assert code == 1 and "Không có tài khoản đang hoạt động" in out
    assert "đã khóa" in _run("web-list")[1]


def test_bad_input_is_refused_clearly(database: str) -> None:
    code, out = _run(
        "web-add",
        "motcua2",
        stdin="mat-khau-du-dai-1\nkhac-han-roi-nhe\nmat-khau-du-dai-1\nmat-khau-du-dai-1\n",
    )
    assert code == 0 and "Đã tạo" in out  # a mismatch asks again
    code, out = _run("web-add", "motcua3", "--password-stdin", stdin="ngan\n")
    assert code == 1 and "mật khẩu cần ít nhất 10 ký tự" in out
    code, out = _run("web-add", "Cán bộ", "--password-stdin", stdin="mat-khau-du-dai-1\n")
    assert code == 2 and "tên đăng nhập gồm" in out
    code, out = _run("web-add", "motcua4", "--role", "root", "--password-stdin", stdin="x\n")
    assert code == 2
