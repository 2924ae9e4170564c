"""Process and port checks shared by the tests that start real servers (tests/serve,
tests/cluster, tests/e2e)."""

from __future__ import annotations

import socket
from pathlib import Path


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (one waiting to be reaped has already exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
