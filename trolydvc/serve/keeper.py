"""Keeper of one server process: runs it, and takes its whole process tree down with it.

    python trolydvc/serve/keeper.py --parent PID --watch-fd FD --grace SECONDS -- COMMAND...

`trolydvc serve` starts each server (Rasa, the action server) through a keeper, in the keeper's
own session. The servers spawn workers of their own (Sanic's worker processes, multiprocessing's
resource tracker) that no parent-death signal reaches: Linux clears PR_SET_PDEATHSIG on fork. The
keeper is what stays responsible for them:

- it stops when its parent is gone, however it went (SIGKILL included): the parent holds the only
  write end of a pipe whose read end is FD here, so the pipe reads end-of-file; PR_SET_PDEATHSIG
  (set by the parent before exec) wakes it at once; a changed parent pid is checked as well;
- SIGTERM, SIGINT or SIGHUP stop it; further signals while stopping are ignored; SIGUSR2 stops
  it without the grace period (a server that no longer answers gets no SIGTERM grace);
- to stop, it sends SIGTERM to the server (which stops its own workers) and waits up to SECONDS,
  then SIGKILLs every process left in its process group and every orphan that was re-parented to
  it (it is a child subreaper), and exits with the server's exit code;
- when the server exits on its own, the keeper cleans up the same way and exits too, so the
  supervisor sees one process to restart.

Run as a script (not `-m`), standard library only: it must start fast and stay small (~10 MB).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import os
import select
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# The signal the kernel sends when the parent thread exits (see trolydvc.serve.runner).
PARENT_DEATH_SIGNAL = signal.SIGUSR1
# Stop without the grace period: the supervisor replacing a server that stopped answering.
KILL_SIGNAL = signal.SIGUSR2


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[2])


def leftovers() -> list[int]:
    """Processes in this keeper's process group, or re-parented to it, other than itself."""
    me, group = os.getpid(), os.getpgid(0)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        stat = _stat(int(entry))
        if stat is not None and (stat[0] == me or stat[1] == group):
            found.append(int(entry))
    return found


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_leftovers(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        pids = leftovers()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


class Keeper:
    def __init__(self, parent: int, watch_fd: int, grace: float) -> None:
        self.parent = parent
        self.watch_fd = watch_fd
        self.grace = grace
        self.stop_reason: str | None = None

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == PARENT_DEATH_SIGNAL:
            # Sent when the *thread* that started us exits; only a new parent means the parent
            # process is gone.
            if os.getppid() != self.parent:
                self.stop_reason = "parent gone"
        elif signum == KILL_SIGNAL:
            self.grace = 0.0
            self.stop_reason = self.stop_reason or "kill"
        elif self.stop_reason is None:
            self.stop_reason = signal.Signals(signum).name

    def _parent_gone(self) -> bool:
        if os.getppid() != self.parent:
            return True
        try:
            return os.read(self.watch_fd, 1) == b""
        except BlockingIOError:
            return False
        except OSError as exc:
            return exc.errno == errno.EBADF

    def run(self, command: list[str]) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(self.watch_fd, False)
        signal.set_wakeup_fd(wake_w)
        for signum in (
            signal.SIGTERM, signal.SIGINT, signal.SIGHUP, PARENT_DEATH_SIGNAL, KILL_SIGNAL
        ):  # fmt: skip
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the select below
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        if self._parent_gone():  # the parent died before PR_SET_PDEATHSIG was in place
            return 1
        child = subprocess.Popen(command)
        while child.poll() is None and self.stop_reason is None:
            readable, _, _ = select.select([self.watch_fd, wake_r], [], [], 1.0)
            if wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 512)
            if self._parent_gone():
                self.stop_reason = "parent gone"
        if child.poll() is None and self.grace > 0:
            child.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(self.grace)
        if child.poll() is None:
            child.kill()
            child.wait()
        kill_leftovers()
        code = child.returncode
        return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--watch-fd", type=int, required=True)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    return Keeper(args.parent, args.watch_fd, args.grace).run(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
