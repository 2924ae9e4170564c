"""supervisord as `trolydvc cluster` runs it (trolydvc.cluster.supervision), over the fake servers
of tests/serve (a main process that binds the port and a forked worker that answers on it, like
Sanic and nginx): nothing outlives supervisord or its parent, a program whose main process is
SIGKILLed comes back on its port, one that stops answering is restarted by the health listener.

No Rasa, PostgreSQL or Redis: the generated supervisord.conf and the event listeners are what runs.
Ports: TROLYDVC_TEST_RASA_PORT + 90..98, clear of the cluster's and tests/serve's."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.conftest import descendants
from tests.cluster.conftest import wait_for as wait_until
from tests.processes import alive, port_open
from trolydvc.cluster.listener import Watch, probe, verdict
from trolydvc.cluster.supervision import Program, render_conf
from trolydvc.config import ROOT, settings

HERE = Path(__file__).parent
BASE = settings().test_rasa_port + 90


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    if not wait_until(condition, timeout):
        raise AssertionError(f"timed out waiting for {what}")


class Top:
    """tests/cluster/supervised.py: supervisord over fake servers, in its own session."""

    def __init__(self, base: Path, ports: list[int]) -> None:
        self.base = base
        self.ports = ports
        base.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "supervised.py"), str(base), *map(str, ports)],
            stdout=(base / "top.out").open("wb"),
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            start_new_session=True,
        )
        wait_for(lambda: (base / "top.json").exists(), 30, "supervisord")
        info = json.loads((base / "top.json").read_text())
        self.supervisord: int = info["supervisord"]
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{info['socket']}")
        self.rpc = xmlrpc.client.ServerProxy("http://127.0.0.1", transport)
        wait_for(self.all_running, 30, "every program RUNNING")
        wait_for(lambda: all(port_open(p) for p in ports), 10, "the ports")

    def infos(self) -> dict[str, dict]:
        return {i["name"]: i for i in self.rpc.supervisor.getAllProcessInfo()}

    def all_running(self) -> bool:
        return all(i["statename"] == "RUNNING" for i in self.infos().values())

    def pid(self, name: str) -> int:
        return self.infos()[name]["pid"]

    def tree(self) -> list[int]:
        return [self.supervisord, *descendants(self.supervisord)]

    def log(self, name: str) -> str:
        path = self.base / "log" / f"{name}.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture
def top(tmp_path: Path) -> Iterator[Callable[[int], Top]]:
    started: list[Top] = []
    ports = iter(range(BASE, BASE + 9))

    def start(count: int = 2) -> Top:
        instance = Top(tmp_path / f"top{len(started)}", [next(ports) for _ in range(count)])
        started.append(instance)
        return instance

    yield start
    for instance in started:  # a failed test must not leave processes behind
        leftovers = instance.tree()
        if instance.proc.poll() is None:
            instance.proc.kill()
            instance.proc.wait()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def assert_all_gone(instance: Top, pids: list[int]) -> None:
    wait_for(lambda: not any(alive(pid) for pid in pids), 20, "every process to exit")
    for port in instance.ports:
        assert not port_open(port), f"port {port} still open"


def test_the_configuration_runs_every_program_through_the_wrapper(tmp_path):
    program = Program("web", "Trang web", ["/bin/echo", "50%", "a b"], 400, "tcp://127.0.0.1:1",
                      {"RASA_URL": "http://127.0.0.1:8080"})  # fmt: skip
    text = render_conf([program], socket=tmp_path / "s.sock", log_dir=tmp_path,
                       pid_file=tmp_path / "p", health_state=tmp_path / "h", cwd=tmp_path)  # fmt: skip
    assert "command=/usr/bin/setpriv --pdeathsig TERM -- /bin/echo 50%% 'a b'" in text
    assert 'environment=RASA_URL="http://127.0.0.1:8080"' in text
    assert "chmod=0700" in text and "killasgroup=true" in text
    with pytest.raises(ValueError):
        render_conf([Program("x", "x", ["x"], 1, "", {"A": 'say "hi"'})], socket=tmp_path,
                    log_dir=tmp_path, pid_file=tmp_path, health_state=tmp_path, cwd=tmp_path)  # fmt: skip


def test_health_verdicts():
    starting = Watch(1)
    assert verdict(starting, False, 30.0) is None  # still loading: not counted
    assert verdict(starting, False, 300.0) == "chưa sẵn sàng sau 240 giây"
    watch = Watch(1)
    assert verdict(watch, True, 1.0) is None
    assert [verdict(watch, False, 9.0) for _ in range(3)][-1] == (
        "không phản hồi (3 lần kiểm tra liên tiếp)"
    )
    assert not probe(f"http://127.0.0.1:{BASE + 8}/", 0.5)
    assert not probe(f"tcp://127.0.0.1:{BASE + 8}", 0.5)


def test_sigkill_of_supervisord_leaves_nothing(top):
    # Measured without the exec wrapper: both fake servers and their workers kept running and
    # kept their ports (re-parented to init).
    instance = top()
    pids = instance.tree()
    assert len(pids) == 7  # supervisord, two listeners, two servers and their two workers
    os.kill(instance.supervisord, signal.SIGKILL)
    assert_all_gone(instance, pids)


def test_sigkill_of_supervisords_parent_leaves_nothing(top):
    instance = top()
    pids = instance.tree()
    instance.proc.send_signal(signal.SIGKILL)
    instance.proc.wait()
    assert_all_gone(instance, pids)


def test_a_sigkilled_main_process_comes_back_on_its_port(top):
    # Measured without the subreaper and the reaper: the orphaned worker kept the port, and each
    # restart failed with "Address already in use" until supervisord gave up (FATAL).
    instance = top()
    main = instance.pid("fake-1")
    workers = descendants(main)
    assert workers
    os.kill(main, signal.SIGKILL)
    wait_for(lambda: not any(alive(pid) for pid in workers), 10, "the orphaned worker killed")
    wait_for(lambda: "orphan" in instance.log("reaper"), 5, "the reaper's log line")
    wait_for(lambda: instance.pid("fake-1") not in (0, main), 10, "a new fake-1")
    wait_for(instance.all_running, 30, "fake-1 RUNNING again")
    assert probe(f"http://127.0.0.1:{instance.ports[0]}/health")


def test_a_silent_program_is_restarted_by_the_health_listener(top):
    instance = top(1)
    main = instance.pid("fake-1")
    wait_for(lambda: f"fake-1 (pid {main}) answers" in instance.log("health"), 15, "a probe")
    for pid in descendants(main):
        os.kill(pid, signal.SIGKILL)  # the worker: the port stays open, nobody answers
    assert port_open(instance.ports[0])
    wait_for(lambda: instance.pid("fake-1") not in (0, main), 45, "the health listener")
    state = json.loads((instance.base / "health.json").read_text())
    assert state["fake-1"] == {"pid": main, "reason": "không phản hồi (3 lần kiểm tra liên tiếp)"}
    wait_for(instance.all_running, 30, "fake-1 RUNNING again")
    wait_for(lambda: probe(f"http://127.0.0.1:{instance.ports[0]}/health"), 10, "an answer")


def test_sigterm_stops_everything_in_order(top):
    instance = top()
    pids = instance.tree()
    instance.proc.send_signal(signal.SIGTERM)
    assert instance.proc.wait(30) == 0
    assert_all_gone(instance, pids)
    log = instance.log("supervisord")
    assert log.index("stopped: fake-2") < log.index("stopped: fake-1")  # reverse priority
