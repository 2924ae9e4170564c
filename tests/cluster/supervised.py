"""Fake servers (tests/serve/fake_server.py) under supervisord as `trolydvc cluster` runs it
(trolydvc.cluster.supervision: the exec wrapper, the subreaper, the event listeners).

    python supervised.py DIR PORT... [-- fake_server.py options...]

Writes DIR/top.json ({"supervisord": pid, "socket": path}) once supervisord answers, then waits for
SIGTERM or SIGINT and stops supervisord.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from trolydvc.cluster.supervision import Program, Supervisord, render_conf

FAKE = Path(__file__).resolve().parent.parent / "serve" / "fake_server.py"


def main(argv: list[str]) -> int:
    base = Path(argv[0])
    ports, options = argv[1:], []
    if "--" in ports:
        at = ports.index("--")
        ports, options = ports[:at], ports[at + 1 :]
    log_dir = base / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    programs = [
        Program(f"fake-{i}", f"Giả {i}", [sys.executable, str(FAKE), "--port", port, *options],
                100 + i, f"http://127.0.0.1:{port}/health")
        for i, port in enumerate(ports, 1)
    ]  # fmt: skip
    socket = base / "supervisor.sock"
    conf = base / "supervisord.conf"
    conf.write_text(
        render_conf(
            programs,
            socket=socket,
            log_dir=log_dir,
            pid_file=base / "supervisord.pid",
            health_state=base / "health.json",
            cwd=base,
        )
    )
    supervisord = Supervisord(conf, socket, dict(os.environ), base)
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.append(True))
    supervisord.start()
    (base / "top.json").write_text(
        json.dumps({"supervisord": supervisord.pid, "socket": str(socket)})
    )
    while not stop and supervisord.poll() is None:
        time.sleep(0.1)
    supervisord.stop(30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
