"""The cluster's processes under supervisord (the `supervisor` package of the main environment).

Why supervisord. It is an existing, long-lived process supervisor that does what the cluster needs:
starts the programs in order (``priority``) and stops them in reverse, restarts a program that
exits (``autorestart``, with ``startsecs``/``startretries`` against a crash loop), SIGKILLs a
program's whole process group when it does not stop in time (``killasgroup``; the SIGTERM before
goes to the main process only, ``stopasgroup=false``: nginx's master and Sanic's main process stop
their workers themselves, and a SIGTERM to the whole group killed the action server's
multiprocessing manager first, so its main process crashed with BrokenPipeError and exit status 1
on every stop), writes and rotates one log per
program, and answers over XML-RPC on a unix socket (the pid and state of every process, for
var/cluster.json; ``supervisorctl -c var/cluster/supervisord.conf status`` for the operator).
honcho (a Procfile runner) was the other candidate: it stops *everything* when one process exits
and restarts nothing, the opposite of what a replica set is for. systemd supervises each process
directly on servers (deploy/systemd/), but `make cluster` runs in the foreground, without root,
also inside containers.

What supervisord alone does not do, measured on this machine, and what is added here:

1. **supervisord itself dies** (SIGKILL, or the kill of its process group): its programs are
   re-parented and keep running, every port stays taken. Each program is therefore started
   through ``setpriv --pdeathsig TERM`` (util-linux), an exec wrapper that asks the kernel for
   SIGTERM when supervisord goes, then execs the program (same pid: supervisord's pid and
   signals reach the program itself). SIGTERM, not SIGKILL: nginx's master and Sanic's main
   process then stop their own workers, which a SIGKILL would leave running (point 3).
2. **`trolydvc cluster` dies** (SIGKILL): supervisord gets SIGTERM (PR_SET_PDEATHSIG, set by
   :meth:`Supervisord.start` before exec) and stops every program in order.
3. **A program's main process dies by SIGKILL** (a crash, the OOM killer): its own children --
   nginx's workers, the action server's Sanic worker -- keep serving the port, so supervisord's
   restart failed with "address in use" until it gave up (FATAL). supervisord runs as a child
   subreaper (PR_SET_CHILD_SUBREAPER), so such orphans become its children, and the ``reaper``
   event listener (trolydvc/cluster/listener.py) kills them on the program's exit.
4. **A program that is up but no longer answers**: supervisord has no health checks; the
   ``health`` event listener probes each program's health URL every 5 seconds and restarts it
   through XML-RPC.

`trolydvc serve`/`run` keep trolydvc.serve.runner (a newcomer's laptop: two processes, logs in the
terminal, no nginx); the command lines of Rasa and the action server are trolydvc.serve.Servers'
in both.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trolydvc.cluster.listener as listener
from trolydvc.serve.keeper import PR_SET_PDEATHSIG
from trolydvc.serve.runner import ServerError

PR_SET_CHILD_SUBREAPER = 36
LISTENER = Path(listener.__file__)
STOP_GRACE = 10  # stopwaitsecs: SIGTERM to SIGKILL, per program
# A program is RUNNING once it has stayed up this long; one that exits sooner is retried
# STARTRETRIES times (1, 2, 3 s apart), then left FATAL, which stops the cluster.
STARTSECS = 5
STARTRETRIES = 3
SOCKET_MAX = 100  # sun_path holds 108 bytes


@dataclass(frozen=True)
class Program:
    """One supervised process."""

    name: str  # supervisord's program name; key in var/cluster.json; log file name
    label: str  # what messages call it (Vietnamese)
    command: list[str]
    priority: int  # started from the lowest, stopped from the highest
    health: str = ""  # liveness probed by the health listener: http://… (200) or tcp://…
    environment: Mapping[str, str] = field(default_factory=dict)  # added to supervisord's own
    autostart: bool = True  # False: started by the caller (Supervisord.start_program)


def _value(text: str) -> str:
    """A value in supervisord.conf: supervisord expands %(name)s in every value."""
    return text.replace("%", "%%")


def _command(argv: list[str]) -> str:
    return _value(shlex.join(argv))


def _environment(values: Mapping[str, str]) -> str:
    for key, value in values.items():
        if not key.isidentifier() or '"' in value or "\n" in value:
            raise ValueError(f"cannot pass {key} through supervisord.conf")
    return _value(",".join(f'{key}="{value}"' for key, value in values.items()))


def pdeathsig_wrapper() -> list[str]:
    found = shutil.which("setpriv")
    if found is None:
        raise ServerError("Cần lệnh setpriv (gói util-linux) để chạy cụm máy chủ.")
    return [found, "--pdeathsig", "TERM", "--"]


def socket_path(base_dir: Path) -> Path:
    """supervisord's unix socket: in ``base_dir``, or in /tmp when that path is too long for a
    socket address (a deep checkout)."""
    path = base_dir / "supervisor.sock"
    if len(str(path)) <= SOCKET_MAX:
        return path
    digest = hashlib.sha256(str(base_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"trolydvc-{os.getuid()}-{digest}.sock"


def render_conf(
    programs: list[Program],
    *,
    socket: Path,
    log_dir: Path,
    pid_file: Path,
    health_state: Path,
    cwd: Path,
) -> str:
    """supervisord.conf for ``programs``, with the two event listeners of listener.py."""
    wrapper = pdeathsig_wrapper()
    log = str(log_dir)
    lines = [
        "; Generated by `trolydvc cluster` (trolydvc/cluster/supervision.py): edit that, not this.",
        "[unix_http_server]",
        f"file={_value(str(socket))}",
        "chmod=0700",  # only this user talks to supervisord
        "",
        "[supervisord]",
        "nodaemon=true",  # in the foreground, a child of `trolydvc cluster`
        "silent=true",  # its log is the file below, not the terminal
        f"logfile={_value(log)}/supervisord.log",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        f"pidfile={_value(str(pid_file))}",
        f"childlogdir={_value(log)}",
        f"directory={_value(str(cwd))}",
        "identifier=trolydvc-cluster",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(str(socket))}",
        "",
    ]
    checks = [f"--check={p.name}={p.health}" for p in programs if p.health]
    listeners = [
        ("reaper", listener.REAPER_EVENTS, []),
        ("health", listener.HEALTH_EVENTS, [f"--state={health_state}", *checks]),
    ]
    for name, events, arguments in listeners:
        command = [*wrapper, sys.executable, "-I", str(LISTENER), name, *arguments]
        lines += [
            f"[eventlistener:{name}]",
            f"command={_command(command)}",
            f"events={events}",
            "priority=1",  # first up, last down
            "autorestart=true",
            "startsecs=1",
            "buffer_size=100",
            f"stderr_logfile={_value(log)}/{name}.log",
            "stderr_logfile_maxbytes=10MB",
            "stderr_logfile_backups=3",
            "stdout_logfile=NONE",
            "",
        ]
    for program in programs:
        lines += [
            f"[program:{program.name}]",
            f"command={_command([*wrapper, *program.command])}",
            f"directory={_value(str(cwd))}",
            f"priority={program.priority}",
            f"autostart={str(program.autostart).lower()}",
            "autorestart=true",
            f"startsecs={STARTSECS}",
            f"startretries={STARTRETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_GRACE}",
            "stopasgroup=false",  # see the module's docstring
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_value(log)}/{program.name}.log",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=5",
        ]
        if program.environment:
            lines.append(f"environment={_environment(program.environment)}")
        lines.append("")
    return "\n".join(lines)


def _supervisord_preexec() -> None:
    """In the forked supervisord, before exec: SIGTERM when `trolydvc cluster` goes (the kernel
    signals at the exit of the thread that forked it: the main thread), and orphans of its
    programs re-parented to it (listener.py's reaper kills them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class Supervisord:
    """supervisord run in the foreground as our child on ``conf``; its XML-RPC interface."""

    def __init__(self, conf: Path, socket: Path, env: dict[str, str], cwd: Path) -> None:
        self.conf = conf
        self.socket = socket
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 30.0) -> None:
        binary = Path(sys.executable).with_name("supervisord")
        command = (
            [str(binary)] if binary.exists() else [sys.executable, "-m", "supervisor.supervisord"]
        )
        self.proc = subprocess.Popen(
            [*command, "-c", str(self.conf)],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us; we stop supervisord in order
            preexec_fn=_supervisord_preexec,  # noqa: PLW1509 - only prctl calls
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(f"supervisord không chạy được (mã thoát {code}); xem {self.conf}")
            try:
                self.rpc().supervisor.getState()
                return
            except (OSError, xmlrpc.client.Error):
                time.sleep(0.1)
        raise ServerError(f"supervisord không trả lời trên {self.socket} sau {timeout:.0f} giây")

    def rpc(self) -> Any:
        from supervisor.xmlrpc import SupervisorTransport  # here: see listener.rpc

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport)

    def poll(self) -> int | None:
        """supervisord's exit code, None while it runs."""
        return self.proc.poll() if self.proc else None

    def processes(self) -> dict[str, dict[str, Any]]:
        """supervisord's getAllProcessInfo, by name (programs and event listeners)."""
        return {info["name"]: info for info in self.rpc().supervisor.getAllProcessInfo()}

    def start_program(self, name: str) -> None:
        """Start a program that is not started automatically; supervisord keeps it running."""
        self.rpc().supervisor.startProcess(name, False)

    def stop(self, timeout: float) -> None:
        """SIGTERM (supervisord stops every program, highest priority first, each within
        stopwaitsecs); SIGKILL after ``timeout``, which leaves the programs to their parent-death
        SIGTERM. Safe to call again."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
