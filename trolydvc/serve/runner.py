"""Supervised child processes: none outlives us, a dead or unresponsive one is restarted.

Each child runs under a keeper (keeper.py) in its own session: the keeper takes the child's whole
process tree down when we exit, even by SIGKILL. :meth:`Supervisor.check`, called periodically by
`trolydvc serve`, restarts a child whose process ended or whose health URL stopped answering (for
example the action server's port still open but its Sanic worker dead), at most
``restart_limit`` times within ``restart_window`` seconds; after that it raises
:class:`ServerError` and the caller stops everything.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx

from trolydvc.serve.keeper import KILL_SIGNAL, PARENT_DEATH_SIGNAL, PR_SET_PDEATHSIG

KEEPER = Path(__file__).with_name("keeper.py")
READY_TIMEOUT = 240.0  # Rasa's model load takes ~35 s, more when the machine is busy
# A child is unresponsive after HEALTH_FAILURES checks in a row without an answer within
# HEALTH_TIMEOUT: about 25 s of silence, longer than Rasa takes on any message we accept.
HEALTH_INTERVAL = 5.0
HEALTH_TIMEOUT = 5.0
HEALTH_FAILURES = 3
RESTART_LIMIT = 3
RESTART_WINDOW = 600.0
STOP_GRACE = 10.0  # SIGTERM to SIGKILL, per child

_LIBC = ctypes.CDLL(None, use_errno=True)


class ServerError(Exception):
    """A server did not start or could not be kept running; the message says which and why."""


class Supervised(Protocol):
    """What trolydvc.serve.commands.supervise drives: a :class:`Supervisor` (`trolydvc serve`),
    or trolydvc.cluster.Cluster (`trolydvc cluster`, under supervisord)."""

    def start(self) -> None: ...

    def wait_ready(self, timeout: float | None = None) -> None: ...

    def check(self) -> list[str]: ...

    def pids(self) -> dict[str, int]: ...

    def describe(self) -> dict[str, Any]: ...

    def stop(self, timeout: float | None = None) -> None: ...


def _die_with_parent() -> None:
    """In the forked keeper, before exec: a signal when the thread that started it exits."""
    _LIBC.prctl(PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0)


def get_ok(http: httpx.Client, url: str, timeout: float | None = None) -> bool:
    try:
        response = http.get(url) if timeout is None else http.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _exit_status(code: int) -> str:
    if code < 0:
        return f"bị dừng bởi tín hiệu {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.valid_signals():  # the keeper's report of a signal
        return f"bị dừng bởi tín hiệu {signal.Signals(code - 128).name}"
    return f"mã thoát {code}"


@dataclass
class Child:
    """One supervised server: its command line and how to tell it is ready and alive."""

    name: str  # key in pids(), name of its log file
    label: str  # what messages call it (Vietnamese)
    command: list[str]
    health_url: str  # answers 200 while the server is alive
    ready: Callable[[httpx.Client], bool] | None = None  # default: health_url answers
    env: dict[str, str] | None = None
    keeper: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    is_ready: bool = False
    failures: int = 0
    restarts: list[float] = field(default_factory=list)

    def ready_now(self, http: httpx.Client) -> bool:
        return self.ready(http) if self.ready else get_ok(http, self.health_url)


class Supervisor:
    """Children started, checked, restarted and stopped together."""

    def __init__(
        self,
        children: list[Child] | None = None,
        *,
        log_dir: Path | None = None,
        cwd: Path | None = None,
        health_interval: float = HEALTH_INTERVAL,
        health_timeout: float = HEALTH_TIMEOUT,
        health_failures: int = HEALTH_FAILURES,
        restart_limit: int = RESTART_LIMIT,
        restart_window: float = RESTART_WINDOW,
        ready_timeout: float = READY_TIMEOUT,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.children = children or []
        self.log_dir = log_dir
        self.cwd = cwd
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.health_failures = health_failures
        self.restart_limit = restart_limit
        self.restart_window = restart_window
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self._logs: list[IO[bytes]] = []
        self._watch: tuple[int, int] | None = None
        self._next_check = 0.0
        self._http: httpx.Client | None = None

    # --- starting ---------------------------------------------------------------------------
    def start(self) -> None:
        # The keepers hold the read end; only this process holds the write end, so the pipe
        # reads end-of-file in the keepers as soon as this process is gone.
        if self._watch is None:
            self._watch = os.pipe()
        for child in self.children:
            self._spawn(child)

    def _output(self, name: str) -> IO[bytes] | None:
        if self.log_dir is None:
            return None  # inherit the terminal
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def _spawn(self, child: Child) -> None:
        assert self._watch is not None
        watch_fd = self._watch[0]
        out = self._output(child.name)
        command = [
            sys.executable, "-I", str(KEEPER),
            "--parent", str(os.getpid()),
            "--watch-fd", str(watch_fd),
            "--grace", str(self.stop_grace),
            "--", *child.command,
        ]  # fmt: skip
        child.keeper = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=child.env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, we stop the children
            pass_fds=(watch_fd,),
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call
        )
        child.started_at = time.monotonic()
        child.is_ready = False
        child.failures = 0

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every child answers its readiness check."""
        timeout = self.ready_timeout if timeout is None else timeout
        logging.getLogger("httpx").setLevel(logging.WARNING)  # no log line per poll
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                for child in self.children:
                    code = child.keeper.poll() if child.keeper else None
                    if code is not None:
                        raise ServerError(
                            f"{child.label} đã dừng ({_exit_status(code)}){self.hint()}"
                        )
                    if not child.is_ready:
                        child.is_ready = child.ready_now(http)
                if all(child.is_ready for child in self.children):
                    return
                time.sleep(0.5)
        raise ServerError(f"Các máy chủ chưa sẵn sàng sau {timeout:.0f} giây{self.hint()}")

    def hint(self) -> str:
        return f" (xem {self.log_dir}/*.log)" if self.log_dir else ""

    # --- keeping them running ---------------------------------------------------------------
    def check(self) -> list[str]:
        """Restart what died or stopped answering; return what happened, one line per event.

        Does nothing until ``health_interval`` has passed since the last check. Raises
        :class:`ServerError` when a child needs more restarts than allowed."""
        now = time.monotonic()
        if now < self._next_check:
            return []
        if self._http is None:
            self._http = httpx.Client(timeout=self.health_timeout)
        events = []
        for child in self.children:
            problem = self._problem(child, self._http)
            if problem == "ready":
                events.append(f"{child.label} đã hoạt động trở lại.")
            elif problem:
                events.append(self._restart(child, problem))
        self._next_check = time.monotonic() + self.health_interval
        return events

    def _problem(self, child: Child, http: httpx.Client) -> str | None:
        code = child.keeper.poll() if child.keeper else None
        if code is not None:
            return f"{child.label} đã dừng ({_exit_status(code)})"
        if not child.is_ready:
            if child.ready_now(http):
                child.is_ready = True
                return "ready"
            if time.monotonic() - child.started_at > self.ready_timeout:
                return f"{child.label} chưa sẵn sàng sau {self.ready_timeout:.0f} giây"
            return None
        if get_ok(http, child.health_url):
            child.failures = 0
            return None
        child.failures += 1
        if child.failures < self.health_failures:
            return None
        return f"{child.label} không phản hồi ({child.failures} lần kiểm tra liên tiếp)"

    def _restart(self, child: Child, problem: str) -> str:
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < self.restart_window]
        if len(child.restarts) >= self.restart_limit:
            raise ServerError(
                f"{problem}; đã khởi động lại {self.restart_limit} lần trong "
                f"{self.restart_window / 60:.0f} phút nên dừng tất cả các máy chủ{self.hint()}"
            )
        self._kill(child)
        child.restarts.append(now)
        self._spawn(child)
        return f"{problem}; đang khởi động lại (lần {len(child.restarts)}/{self.restart_limit})…"

    @staticmethod
    def _kill(child: Child) -> None:
        """Have the keeper SIGKILL its server's tree at once (escaped orphans included); SIGKILL
        the keeper's process group if the keeper does not exit within a few seconds."""
        if child.keeper is None:
            return
        with suppress(ProcessLookupError):
            child.keeper.send_signal(KILL_SIGNAL)
        try:
            child.keeper.wait(5.0)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(child.keeper.pid, signal.SIGKILL)
            child.keeper.wait()

    # --- stopping ---------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        """The pid of each server process (the keeper's child; the keeper's own until then)."""
        pids = {}
        for child in self.children:
            if child.keeper is None:
                continue
            pid = child.keeper.pid
            with suppress(OSError, ValueError, IndexError):
                pid = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
            pids[child.name] = pid
        return pids

    def describe(self) -> dict[str, Any]:
        """What var/serve.json says about the servers."""
        return {"pids": self.pids()}

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM every keeper (each stops its server, then SIGKILLs what is left of its tree);
        SIGKILL the process group of a keeper still there after ``timeout`` seconds. Safe to call
        again, also after an interrupted call."""
        timeout = self.stop_grace + 5.0 if timeout is None else timeout
        running = [c.keeper for c in self.children if c.keeper and c.keeper.poll() is None]
        for proc in running:
            with suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for handle in self._logs:
            handle.close()
        self._logs.clear()
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._watch is not None:
            for fd in self._watch:
                os.close(fd)
            self._watch = None

    def __enter__(self) -> Supervisor:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
