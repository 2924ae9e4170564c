"""supervisord event listeners of the cluster: what supervisord itself does not do.

    python listener.py health [--state FILE] --check NAME=URL...
    python listener.py reaper

trolydvc.cluster.supervision writes them into supervisord.conf as ``[eventlistener:…]`` sections:
an event listener is supervisor's own extension mechanism, a child that supervisord feeds events on
stdin and that acts through supervisord's XML-RPC interface (the unix socket in
SUPERVISOR_SERVER_URL, set by supervisord).

``health`` (on TICK_5): supervisord only sees a process exit, not a process that is up but no
longer answers (an action server whose Sanic worker died behind its open port, a Rasa stuck in a
loop). Every 5 seconds this probes each RUNNING program's health URL (HTTP 200, or ``tcp://`` for
the bot, whose webhook server only answers its secret path). A program that answered once and then
fails :data:`FAILURES` probes in a row, or that has not answered :data:`READY_TIMEOUT` seconds after
its start, is restarted: stopProcess (SIGTERM to its process group, SIGKILL after stopwaitsecs),
then startProcess. The reason goes to FILE (JSON, by program name), where `trolydvc cluster` reads
it to say why a process was restarted.

``reaper`` (on a program's exit or stop, and every minute): a program's own children -- nginx's
workers, the action server's Sanic worker and multiprocessing helpers -- outlive a main process
that dies by SIGKILL (measured: both keep serving the port, so supervisord's restart of the program
failed with "address in use" until it gave up). supervisord runs as a child subreaper
(PR_SET_CHILD_SUBREAPER, set by trolydvc.cluster.supervision), so such orphans become its children;
every child of supervisord that is none of its programs is an orphan, and gets SIGKILL here
(supervisord reaps it).

Run as a script (not ``-m``): standard library and supervisor only, so it starts fast and stays
small.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import sys
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PROBE_TIMEOUT = 5.0
# A program that answered once is restarted after FAILURES failed probes in a row (one per TICK_5:
# about 15 s, longer than Rasa takes on any message we accept); one that never answered, after
# READY_TIMEOUT seconds (Rasa's model load takes ~35 s, more when the machine is busy).
FAILURES = 3
READY_TIMEOUT = 240.0
HEALTH_EVENTS = "TICK_5"
REAPER_EVENTS = "PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF,PROCESS_STATE_STOPPED,TICK_60"


def probe(target: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``target`` answers: ``http://host:port/path`` with 200, ``tcp://host:port`` by
    accepting a connection. No proxy (the targets are on loopback)."""
    url = urlparse(target)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    try:
        if url.scheme == "tcp":
            with socket.create_connection((host, port), timeout):
                return True
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.request("GET", url.path or "/")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except (OSError, http.client.HTTPException):
        return False


def log(message: str) -> None:
    """One line on stderr (supervisord's log of this listener); stdout is the event protocol."""
    print(time.strftime("%Y-%m-%d %H:%M:%S"), message, file=sys.stderr, flush=True)


def rpc() -> Any:
    # supervisor's modules are imported where they are used: `trolydvc` imports this module for
    # probe() on every command, and they add 70 ms to its start (python -X importtime)
    from supervisor import childutils

    return childutils.getRPCInterface(os.environ)


def events(names: str) -> Any:
    """supervisord's events, one (headers, payload) at a time; each is acknowledged when the
    caller asks for the next."""
    from supervisor import childutils

    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            yield headers, payload
        finally:
            childutils.listener.ok(sys.stdout)


# --- health --------------------------------------------------------------------------------------
@dataclass
class Watch:
    pid: int
    answered: bool = False
    failures: int = 0


def verdict(watch: Watch, ok: bool, uptime: float) -> str | None:
    """Update ``watch`` with one probe's result; the reason to restart, or None."""
    if ok:
        watch.answered, watch.failures = True, 0
        return None
    if not watch.answered:
        if uptime > READY_TIMEOUT:
            return f"chưa sẵn sàng sau {READY_TIMEOUT:.0f} giây"
        return None
    watch.failures += 1
    if watch.failures < FAILURES:
        return None
    return f"không phản hồi ({watch.failures} lần kiểm tra liên tiếp)"


def write_state(path: Path, name: str, entry: dict[str, Any]) -> None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    state[name] = entry
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def health(checks: dict[str, str], state: Path | None) -> None:
    from supervisor.xmlrpc import Faults

    server = rpc()
    watches: dict[str, Watch] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        for _ in events(HEALTH_EVENTS):
            infos = {info["name"]: info for info in server.supervisor.getAllProcessInfo()}
            running = {
                name: infos[name]
                for name in checks
                if name in infos and infos[name]["statename"] == "RUNNING"
            }
            results = dict(zip(running, pool.map(probe, [checks[n] for n in running]), strict=True))
            for name, info in running.items():
                watch = watches.get(name)
                if watch is None or watch.pid != info["pid"]:
                    watch = watches[name] = Watch(info["pid"])
                answered = watch.answered
                reason = verdict(watch, results[name], info["now"] - info["start"])
                if watch.answered and not answered:
                    log(f"{name} (pid {info['pid']}) answers")
                if reason is None:
                    continue
                log(f"{name} (pid {info['pid']}) {reason}: restarting")
                if state is not None:
                    write_state(state, name, {"pid": info["pid"], "reason": reason})
                try:
                    server.supervisor.stopProcess(name, True)
                    server.supervisor.startProcess(name, False)
                except xmlrpc.client.Fault as exc:
                    if exc.faultCode == Faults.SHUTDOWN_STATE:
                        raise
                    log(f"{name}: {exc.faultString}")


# --- reaper --------------------------------------------------------------------------------------
def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != b"Z":
            found.append(int(entry))
    return found


def reaper() -> None:
    server = rpc()
    supervisord = os.getppid()
    for headers, payload in events(REAPER_EVENTS):
        # children first, then what supervisord knows: a program spawned in between is known
        candidates = children_of(supervisord)
        if not candidates:
            continue
        known = {info["pid"] for info in server.supervisor.getAllProcessInfo()}
        orphans = [pid for pid in candidates if pid not in known]
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if orphans:
            cause = payload.split(None, 1)[0] if headers["eventname"] != "TICK_60" else "tick"
            log(f"killed {len(orphans)} orphan process(es) {orphans} ({cause})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    checks = sub.add_parser("health")
    checks.add_argument("--check", action="append", default=[], metavar="NAME=URL")
    checks.add_argument("--state", type=Path)
    sub.add_parser("reaper")
    args = parser.parse_args(argv)
    from supervisor.xmlrpc import Faults

    try:
        if args.kind == "health":
            health(dict(item.split("=", 1) for item in args.check), args.state)
        else:
            reaper()
    except xmlrpc.client.Fault as exc:
        if exc.faultCode != Faults.SHUTDOWN_STATE:
            raise
    return 0  # supervisord is shutting down


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
