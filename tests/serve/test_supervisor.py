"""The supervisor behind `trolydvc serve`, over fake servers (tests/serve/fake_server.py): nothing
outlives it, stop signals cannot cut its stop short, dead or silent children are restarted a
bounded number of times, and it removes only its own pid file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.processes import alive, port_open
from trolydvc.config import settings
from trolydvc.serve import commands

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BASE = settings().test_rasa_port + 10


def session_members(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry))
    return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Serve:
    """tests/serve/supervised.py in a subprocess; its stderr collected in a file."""

    def __init__(self, tmp: Path, ports: tuple[int, int], options: tuple[str, ...]) -> None:
        self.pid_file = tmp / "serve.json"
        self.err_path = tmp / "stderr.txt"
        self.ports = ports
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "supervised.py"), str(self.pid_file), *map(str, ports),
             *options],
            stderr=self.err_path.open("wb"),
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            start_new_session=True,
        )  # fmt: skip

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8")

    def wait_output(self, text: str, timeout: float = 30.0) -> None:
        wait_for(lambda: text in self.stderr or self.proc.poll() is not None, timeout, text)
        assert text in self.stderr, self.stderr

    def keepers(self) -> list[int]:
        """The keepers' pids: each leads its own session holding its server's tree."""
        return [
            int(entry)
            for entry in os.listdir("/proc")
            if entry.isdigit() and _ppid(int(entry)) == self.proc.pid
        ]

    def tree(self) -> list[int]:
        return [pid for keeper in self.keepers() for pid in session_members(keeper)]

    def servers(self) -> dict[str, int]:
        return json.loads(self.pid_file.read_text())["pids"]


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []
    next_ports = iter(range(BASE, BASE + 40, 2))

    def start(*options: str) -> Serve:
        port = next(next_ports)
        (tmp_path / str(port)).mkdir()
        instance = Serve(tmp_path / str(port), (port, port + 1), options)
        started.append(instance)
        instance.wait_output("Sẵn sàng.")
        assert len(instance.tree()) >= 4  # two keepers, two servers, two workers
        return instance

    yield start
    for instance in started:  # a failed test must not leave processes behind
        leftovers = instance.tree()
        if (tmp_path / "escaped").exists():
            leftovers += [int(pid) for pid in (tmp_path / "escaped").read_text().split()]
        if instance.proc.poll() is None:
            instance.proc.kill()
            instance.proc.wait()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def assert_all_gone(instance: Serve, pids: list[int]) -> None:
    wait_for(lambda: not any(alive(pid) for pid in pids), 10.0, "the servers to exit")
    for port in instance.ports:
        assert not port_open(port), f"port {port} still open"


def test_sigkill_of_serve_takes_every_child_down(serve):
    instance = serve()
    pids = instance.tree()
    assert len(pids) == 6
    instance.proc.send_signal(signal.SIGKILL)
    instance.proc.wait()
    assert_all_gone(instance, pids)


def escaped(path: Path, count: int) -> list[int]:
    wait_for(lambda: path.exists() and len(path.read_text().split()) == count, 10, "escapees")
    pids = [int(pid) for pid in path.read_text().split()]
    assert all(alive(pid) and os.getsid(pid) == pid for pid in pids)
    return pids


def test_sigkill_of_serve_takes_down_processes_that_left_the_session(serve, tmp_path: Path):
    instance = serve("--escape", str(tmp_path / "escaped"))
    pids = instance.tree() + escaped(tmp_path / "escaped", 2)
    instance.proc.send_signal(signal.SIGKILL)
    instance.proc.wait()
    assert_all_gone(instance, pids)


def test_sigkill_takes_down_a_child_that_ignores_sigterm(serve):
    instance = serve("--ignore-term")
    pids = instance.tree()
    instance.proc.send_signal(signal.SIGKILL)
    instance.proc.wait()
    assert_all_gone(instance, pids)


def test_two_sigterms_stop_cleanly(serve):
    # The servers ignore SIGTERM, so the stop lasts the keepers' 2 s grace: the second SIGTERM
    # (what make forwards) lands in the middle of it.
    instance = serve("--ignore-term")
    pids = instance.tree()
    instance.proc.send_signal(signal.SIGTERM)
    instance.wait_output("Đang dừng các máy chủ…")
    time.sleep(0.3)
    instance.proc.send_signal(signal.SIGTERM)
    instance.proc.send_signal(signal.SIGINT)
    assert instance.proc.wait(20) == 0, instance.stderr
    assert "Aborted" not in instance.stderr and "Traceback" not in instance.stderr
    assert "Đã dừng các máy chủ." in instance.stderr
    assert_all_gone(instance, pids)
    assert not instance.pid_file.exists()


def test_stopping_make_by_process_group_stops_cleanly(tmp_path: Path):
    # `make serve` stopped with `kill -TERM -<pgid>`: serve gets the group's SIGTERM, then the one
    # make forwards to its child.
    makefile = tmp_path / "Makefile"
    command = f"{sys.executable} {HERE / 'supervised.py'} {tmp_path / 'serve.json'}"
    makefile.write_text(f"serve:\n\t{command} {BASE + 34} {BASE + 35} --ignore-term\n")
    err_path = tmp_path / "stderr.txt"
    make = subprocess.Popen(
        ["make", "-s", "-f", str(makefile), "serve"],
        stderr=err_path.open("wb"),
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        start_new_session=True,
    )
    wait_for(lambda: "Sẵn sàng." in err_path.read_text(encoding="utf-8"), 30, "ready")
    serve_pid = next(p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
                     if _ppid(p) == make.pid)  # fmt: skip
    pids = [pid for k in os.listdir("/proc") if k.isdigit() and _ppid(int(k)) == serve_pid
            for pid in session_members(int(k))]  # fmt: skip
    assert len(pids) == 6
    os.killpg(make.pid, signal.SIGTERM)
    make.wait(20)
    wait_for(lambda: not alive(serve_pid), 20, "serve to exit")
    err = err_path.read_text(encoding="utf-8")
    assert "Aborted" not in err and "Traceback" not in err, err
    assert "Đã dừng các máy chủ." in err, err
    wait_for(lambda: not any(alive(pid) for pid in pids), 10.0, "the servers to exit")
    assert not port_open(BASE + 34) and not port_open(BASE + 35)


def test_signals_back_to_back_stop_cleanly(serve):
    instance = serve()
    pids = instance.tree()
    for _ in range(3):
        instance.proc.send_signal(signal.SIGTERM)
    assert instance.proc.wait(20) == 0, instance.stderr
    assert "Aborted" not in instance.stderr and "Traceback" not in instance.stderr
    assert_all_gone(instance, pids)


def test_a_dead_worker_is_noticed_and_the_server_restarted(serve):
    instance = serve()
    actions = instance.servers()["actions"]
    workers = [p for p in session_members(_session(actions)) if _ppid(p) == actions]
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert port_open(instance.ports[0])  # open but nobody answers: what the health check catches
    instance.wait_output("Máy chủ action không phản hồi")
    instance.wait_output("Máy chủ action đã hoạt động trở lại.")
    assert instance.servers()["actions"] != actions  # the pid file follows the restart
    assert not alive(actions)


def test_a_stopped_server_is_restarted(serve, tmp_path: Path):
    instance = serve("--escape", str(tmp_path / "escaped"))
    first = escaped(tmp_path / "escaped", 2)
    rasa = instance.servers()["rasa"]
    for pid in session_members(_session(rasa)):
        if pid != _ppid(rasa):  # all but the keeper
            os.kill(pid, signal.SIGSTOP)
    instance.wait_output("Rasa không phản hồi")
    instance.wait_output("Rasa đã hoạt động trở lại.")
    wait_for(lambda: not alive(rasa), 5.0, "the stopped server to be killed")
    # The stopped server's escaped helper went with it; the other server's is still there.
    assert sum(alive(pid) for pid in first) == 1


def test_a_server_that_exits_is_restarted(serve):
    instance = serve()
    os.kill(instance.servers()["actions"], signal.SIGKILL)
    instance.wait_output(
        "Máy chủ action đã dừng (bị dừng bởi tín hiệu SIGKILL); đang khởi động lại (lần 1/2)"
    )
    instance.wait_output("Máy chủ action đã hoạt động trở lại.")


def test_restarts_are_bounded_then_everything_stops(tmp_path: Path):
    instance = Serve(tmp_path, (BASE + 38, BASE + 39), ("--exit-after", "1"))
    assert instance.proc.wait(60) == 1
    err = instance.stderr
    assert (
        "Máy chủ action đã dừng (mã thoát 3); đã khởi động lại 2 lần trong 1 phút nên dừng tất cả các máy chủ"
        in err
    ), err
    assert not any(port_open(port) for port in instance.ports)
    assert not instance.keepers()


def test_a_pid_file_written_by_someone_else_is_kept(serve):
    instance = serve()
    other = {"serve": 1, "pids": {"rasa": 2}}
    instance.pid_file.write_text(json.dumps(other))
    instance.proc.send_signal(signal.SIGTERM)
    assert instance.proc.wait(20) == 0
    assert json.loads(instance.pid_file.read_text()) == other


def test_serve_that_cannot_start_keeps_the_running_ones_pid_file(tmp_path, monkeypatch):
    pid_file = tmp_path / "serve.json"
    pid_file.write_text('{"serve": 1}')
    monkeypatch.setattr(commands, "PIDS_FILE", pid_file)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with socket.create_server(("127.0.0.1", BASE + 36)):
        result = CliRunner().invoke(
            commands.serve, ["--rasa-port", str(BASE + 37), "--actions-port", str(BASE + 36)]
        )
    assert result.exit_code == 1
    assert f"Cổng {BASE + 36} đang được dùng" in result.output
    assert pid_file.read_text() == '{"serve": 1}'


def _session(pid: int) -> int:
    return os.getsid(pid)
